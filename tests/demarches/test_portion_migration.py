"""Migration 0005c marks every existing portion at its demarche's level, and loses no row
on the way up or down (SQLite must not rebuild `demarches`: its cascade would empty
the child tables)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Boolean, Date, DateTime, Integer, MetaData, Table, func, inspect, select

from app.db import make_engine
from tests.databases import BACKENDS, drop_database, fresh_database, migration_config

BEFORE, AFTER = "0005a", "0005c"


def _row(table: Table, **given: Any) -> dict[str, Any]:
    """A row of this table: the values given, and a plain one for each other required column."""
    row = dict(given)
    for col in table.columns:
        if col.name in row or col.nullable or col.server_default is not None or col.primary_key:
            continue
        if isinstance(col.type, Boolean):
            row[col.name] = True
        elif isinstance(col.type, DateTime):
            row[col.name] = datetime.now(UTC)
        elif isinstance(col.type, Date):
            row[col.name] = date(2027, 1, 15)
        elif isinstance(col.type, Integer):
            row[col.name] = 1
        else:
            row[col.name] = f"{table.name}-{col.name}"[:12]
    return row


def _counts(conn, meta: MetaData) -> dict[str, int]:
    names = (
        "demarches",
        "objectives",
        "talking_points",
        "key_dates",
        "demarche_targets",
        "taskings",
    )
    return {n: conn.scalar(select(func.count()).select_from(meta.tables[n])) for n in names}


@pytest.mark.parametrize("backend", BACKENDS)
def test_existing_portions_take_their_demarches_mark_and_no_row_is_lost(backend, tmp_path):
    url = fresh_database(backend, tmp_path)
    cfg = migration_config(url)
    engine = make_engine(url)
    try:
        command.upgrade(cfg, BEFORE)
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            conn.execute(
                t["posts"].insert(),
                _row(t["posts"], id=1, code="HANOI", kind="embassy", region="EAP"),
            )
            conn.execute(
                t["users"].insert(),
                _row(t["users"], id=1, username="desk", role="desk_officer", clearance="SECRET"),
            )
            for d_id, level in ((1, "CONFIDENTIAL"), (2, "SECRET")):
                conn.execute(
                    t["demarches"].insert(),
                    _row(
                        t["demarches"],
                        id=d_id,
                        classification=level,
                        status="issued",
                        author_id=1,
                        summary=f"summary {d_id}",
                    ),
                )
                conn.execute(
                    t["objectives"].insert(),
                    _row(t["objectives"], demarche_id=d_id, position=1, text="Win the vote."),
                )
                conn.execute(
                    t["talking_points"].insert(),
                    _row(
                        t["talking_points"],
                        demarche_id=d_id,
                        position=1,
                        text="Vote yes.",
                        classification="UNCLASSIFIED",
                        use="private",
                    ),
                )
                conn.execute(
                    t["key_dates"].insert(),
                    _row(t["key_dates"], demarche_id=d_id, what="Council vote"),
                )
                conn.execute(
                    t["demarche_targets"].insert(),
                    _row(
                        t["demarche_targets"],
                        demarche_id=d_id,
                        post_id=1,
                        country="Vietnam",
                        role="action",
                    ),
                )
                conn.execute(
                    t["taskings"].insert(),
                    _row(
                        t["taskings"],
                        demarche_id=d_id,
                        post_id=1,
                        country="Vietnam",
                        role="action",
                        status="pending",
                    ),
                )
            before = _counts(conn, meta)

        command.upgrade(cfg, AFTER)
        after = MetaData()
        after.reflect(engine)
        with engine.connect() as conn:
            assert _counts(conn, after) == before
            marks = {
                d_id: (summary, objective, key_date)
                for d_id, summary, objective, key_date in conn.execute(
                    select(
                        after.tables["demarches"].c.id,
                        after.tables["demarches"].c.summary_classification,
                        after.tables["objectives"].c.classification,
                        after.tables["key_dates"].c.classification,
                    )
                    .join(
                        after.tables["objectives"],
                        after.tables["objectives"].c.demarche_id == after.tables["demarches"].c.id,
                    )
                    .join(
                        after.tables["key_dates"],
                        after.tables["key_dates"].c.demarche_id == after.tables["demarches"].c.id,
                    )
                )
            }
            assert marks == {
                1: ("CONFIDENTIAL",) * 3,
                2: ("SECRET",) * 3,
            }
            # The points kept their own marks.
            assert set(conn.scalars(select(after.tables["talking_points"].c.classification))) == {
                "UNCLASSIFIED"
            }

        command.downgrade(cfg, BEFORE)
        with engine.connect() as conn:
            assert _counts(conn, meta) == before
            columns = {c["name"] for c in inspect(conn).get_columns("objectives")}
            assert "classification" not in columns
    finally:
        engine.dispose()
        drop_database(url)
