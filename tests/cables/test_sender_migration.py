"""Migration 0005b with data: cables get the sender who filed them, copies of one reference
number survive the way down (renamed), and nothing that points at a cable is lost in
SQLite's table rebuild (the replies, the demarche drafted from it)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

import app.models  # noqa: F401
from app.auth.models import Role
from app.cables import ingest
from app.cables.models import Cable
from app.classification import Classification
from app.db import make_engine
from app.demarches.models import Demarche
from tests.databases import BACKENDS, drop_database, fresh_database, migration_config
from tests.factories import make_demarche, make_post, make_user

INSTRUCTION = """O 011200Z DEC 26
FM SECSTATE WASHDC
TO RUEHHI/AMEMBASSY HANOI IMMEDIATE 5685

C O N F I D E N T I A L STATE 600001

TAGS: PREL
SUBJECT: A VOTE

1. (C) This is an action request. Embassy Hanoi should deliver the points below.

2. (U) Points:

-- Vote yes.

RICE
"""
REPORT = """P 020900Z DEC 26
FM {fm}
TO RUEHC/SECSTATE WASHDC PRIORITY 1234

C O N F I D E N T I A L HANOI {serial}

TAGS: PREL
SUBJECT: A VOTE: DEMARCHE DELIVERED

REF: STATE 600001

1. (C) Poloff delivered reftel points. The Minister said Vietnam supports it.

SIGNED
"""


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_senders_are_filled_in_and_copies_survive_the_way_down(backend, tmp_path):
    url = fresh_database(backend, tmp_path)
    cfg = migration_config(url)
    engine = make_engine(url)
    try:
        command.upgrade(cfg, "head")
        with Session(engine, expire_on_commit=False) as db:
            hanoi = make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
            desk_user, _ = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
            officer, _ = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
            source = ingest.ingest(db, INSTRUCTION, actor=desk_user).cable
            d = make_demarche(db, desk_user, [hanoi], secret_point=False)
            db.get(Demarche, d.id).source_cable_id = source.id
            db.commit()
            # Hanoi's own report, and one the desk transcribed for Hanoi.
            own = ingest.ingest(
                db, REPORT.format(fm="AMEMBASSY SAN JOSE", serial="0001"), actor=officer
            )
            # Its FM line names no post by name: the DE line's routing indicator does.
            desk = ingest.ingest(
                db,
                "DE RUEHHI #0002 3360900\n" + REPORT.format(fm="AMEMB HNI", serial="0002"),
                actor=desk_user,
            )
            # A second copy of the instruction's reference number (another sender's).
            copy = Cable(
                ref_id=source.ref_id, kind="other", raw_text="x", post_id=hanoi.id, parsed={}
            )
            db.add(copy)
            db.commit()
            ids = {"own": own.cable.id, "desk": desk.cable.id, "copy": copy.id}
            assert own.reply.tasking_id is not None and desk.reply.tasking_id is not None
        replies = _rows(engine, "SELECT id, cable_id, tasking_id FROM cable_replies ORDER BY id")
        sources = _rows(engine, "SELECT id, source_cable_id FROM demarches ORDER BY id")

        command.downgrade(cfg, "0005c")  # the step before 0005b
        refs = dict(_rows(engine, "SELECT id, ref_id FROM cables"))
        assert refs[source.id] == "26STATE600001"
        assert refs[ids["copy"]] == f"26STATE600001#{ids['copy']}"
        assert len(set(refs.values())) == len(refs)
        assert (
            _rows(engine, "SELECT id, cable_id, tasking_id FROM cable_replies ORDER BY id")
            == replies
        )
        assert _rows(engine, "SELECT id, source_cable_id FROM demarches ORDER BY id") == sources

        command.upgrade(cfg, "head")
        got = {
            cable_id: (post_id, bool(transcribed), bool(mismatch))
            for cable_id, post_id, transcribed, mismatch in _rows(
                engine, "SELECT id, post_id, transcribed, sender_mismatch FROM cables"
            )
        }
        # Uploaded by Hanoi's officer: Hanoi's, its FM line naming San Jose flagged.
        assert got[ids["own"]] == (hanoi.id, False, True)
        # Filed by the desk and matched to Hanoi's tasking: transcribed for Hanoi.
        assert got[ids["desk"]] == (hanoi.id, True, False)
        # Headquarters' instruction: no post sent it.
        assert got[source.id] == (None, False, False)
        keys = dict(_rows(engine, "SELECT id, copy_key FROM cables"))
        assert keys[ids["own"]] == f"26HANOI1|{hanoi.id}|CONFIDENTIAL"
        assert (
            _rows(engine, "SELECT id, cable_id, tasking_id FROM cable_replies ORDER BY id")
            == replies
        )
        assert _rows(engine, "SELECT id, source_cable_id FROM demarches ORDER BY id") == sources
    finally:
        engine.dispose()
        drop_database(url)
