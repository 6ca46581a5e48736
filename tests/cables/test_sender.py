"""One sender resolution for every way a cable comes in.

The API (one cable), the import page and the bulk import (`demarche cable import`)
must file the same report against the same tasking: they once read the sender
two ways, and a post whose name has spaces where the registry has hyphens was
matched by the bulk import and left unmatched by the API.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.auth.service import open_session
from app.cables.cli import run_import
from app.cables.models import Cable, CableReply
from app.cables.parser import parse_cable
from app.classification import Classification
from tests.cables.samples import COMPLETING
from tests.factories import future, make_post, make_user, write

API = "/api/v1/cables"

INSTRUCTION = """O 140153Z DEC 07
FM SECSTATE WASHDC
TO RUEHPU/AMEMBASSY PORT AU PRINCE IMMEDIATE 5685

C O N F I D E N T I A L STATE 177001

TAGS: PREL UN HA
SUBJECT: DEMARCHE ON A COUNCIL VOTE

1. (SBU) This is an action request. Embassy Port au Prince should deliver the points below
to host government officials at the highest appropriate level before December 17.

2. (U) Points:

-- We urge your government to vote yes.

RICE
"""

# {de} is the transmission header's DE line (the routing indicator) or nothing.
REPORT = """{de}P 160900Z DEC 07
FM {sender}
TO RUEHC/SECSTATE WASHDC PRIORITY 1234

C O N F I D E N T I A L PORT AU PRINCE 00{serial}

TAGS: PREL UN HA
SUBJECT: HAITI ON THE COUNCIL VOTE: DEMARCHE DELIVERED

REF: STATE 177001

1. (C) On December 15 Poloff delivered reftel points to Jean Pierre, Director of the
International Organizations Department at the Ministry of Foreign Affairs.

2. (C) Jean Pierre said that Haiti supports the resolution.

SANDERSON
"""

SENDERS = {
    # The registry spells it with hyphens, the cable with spaces.
    "name_with_spaces": ("", "AMEMBASSY PORT AU PRINCE"),
    # An FM line the registry does not know: the DE line's routing indicator names the post.
    "routing_indicator": ("VZCZCXRO1\nPP RUEHC\nDE RUEHPU #{serial} 3500900\n", "AMEMB PAP"),
}


@pytest.fixture
def world(client, db):
    post = make_post(
        db,
        "PORTAUPRINCE",
        name="AMEMBASSY PORT-AU-PRINCE",
        city="Port-au-Prince",
        routing_indicator="RUEHPU",
    )
    desk_user, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    source = client.post(API, json={"text": INSTRUCTION}, headers=desk).json()
    draft = client.post(f"{API}/{source['id']}/draft-demarche", headers=desk).json()
    assert [t["post"] for t in draft["targets"]] == ["PORTAUPRINCE"], draft
    path = f"/api/v1/demarches/{draft['id']}"
    assert write(
        client, "PATCH", path, desk, json={"deadline": future().isoformat(), **COMPLETING}
    ).is_success
    issued = write(client, "POST", f"{path}/issue", desk).json()
    (tasking,) = issued["taskings"]
    return {"post": post, "desk_user": desk_user, "desk": desk, "tasking": tasking["id"]}


def _by_api(client, db, world, text: str) -> CableReply:
    r = client.post(API, json={"text": text}, headers=world["desk"])
    assert r.status_code == 201, r.text
    return db.get(CableReply, r.json()["reply"]["id"])


def _by_page(client, db, world, text: str) -> CableReply:
    opened = open_session(db, user=world["desk_user"])
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    r = client.post(
        "/cables/import/reply",
        data={"csrf_token": opened.web_session.csrf_token, "text": text},
        follow_redirects=False,
    )
    client.cookies.clear()
    assert r.status_code == 303, r.text[:2000]
    return db.get(CableReply, int(r.headers["location"].rsplit("/", 1)[1]))


def _by_bulk_import(client, db, world, text: str) -> CableReply:
    result = run_import(db, [("report.txt", text, None, parse_cable(text))])
    assert (result.imported, result.failures) == (1, [])
    ref_id = parse_cable(text).ref_id
    return db.scalars(
        select(CableReply)
        .join(Cable, Cable.id == CableReply.cable_id)
        .where(Cable.ref_id == ref_id)
    ).one()


@pytest.mark.parametrize("sender", SENDERS, ids=list(SENDERS))
def test_api_page_and_bulk_import_file_a_report_against_the_same_tasking(client, db, world, sender):
    de, fm = SENDERS[sender]
    got = {}
    for serial, (way, ingest) in enumerate(
        {"api": _by_api, "page": _by_page, "bulk": _by_bulk_import}.items(), start=1001
    ):
        # The DE line carries the message's own serial, as a real one does.
        text = REPORT.format(de=de.format(serial=serial), sender=fm, serial=serial)
        reply = ingest(client, db, world, text)
        got[way] = (reply.status.value, reply.tasking_id)
    assert got == {way: ("matched", world["tasking"]) for way in ("api", "page", "bulk")}
