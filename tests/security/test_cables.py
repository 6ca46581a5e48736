"""Attacks on cables, reports and their matching, as a post, a lower-cleared desk officer
and a viewer would make them (issue 13, items 1, 3, 4, 5 and 10).

The world: Hanoi and San Jose are both tasked on a CONFIDENTIAL demarche and on a SECRET
one; London is tasked on neither. The posts' officers are cleared CONFIDENTIAL, so the
SECRET demarche, its instruction cable and everything that names them are theirs to
never learn of. Every text field of the SECRET instruction carries a canary.
"""

from __future__ import annotations

import inspect
import json
import re

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import Role
from app.auth.service import open_session, user_for_token
from app.cables import ingest
from app.cables.cli import _read_and_parse, run_import
from app.cables.models import Cable, CableReply
from app.cables.parser import MAX_CHARS
from app.classification import Classification
from app.errors import PayloadTooLarge
from tests.cables.samples import COMPLETING
from tests.factories import future, make_post, make_user, write

API = "/api/v1/cables"
CANARY = "CANARYSECRET"

INSTRUCTION = """O 011200Z DEC 26
FM SECSTATE WASHDC
TO RUEHHI/AMEMBASSY HANOI IMMEDIATE 5685
RUEHSJ/AMEMBASSY SAN JOSE IMMEDIATE 5686

{marking} STATE {serial}

TAGS: PREL UN
SUBJECT: {subject}

1. ({mark}) This is an action request. Embassies should deliver the points below
to host government officials at the highest appropriate level before December 17.

2. ({mark}) Points:

-- {point}

RICE
"""

# A post's report on an instruction; {de} is a transmission header's DE line, or nothing.
REPORT = """{de}P 020900Z DEC 26
FM {fm}
TO RUEHC/SECSTATE WASHDC PRIORITY 1234

C O N F I D E N T I A L {place} {serial}

TAGS: PREL UN
SUBJECT: ON THE COUNCIL VOTE: DEMARCHE DELIVERED

REF: STATE {ref}

1. (C) On December 1 Poloff delivered reftel points to Ana Mora, Director of the
International Organizations Department at the Ministry of Foreign Affairs.

2. (C) Mora said that her government supports the resolution.

SIGNED
"""

# The issue's attack: four lines whose reference number is a stored SECRET cable's.
FOUR_LINES = "O 011200Z DEC 26\nFM AMEMBASSY HANOI\nUNCLAS STATE {serial}\nSUBJECT: HELLO\n"


def report(*, fm: str, place: str, serial: int, ref: str, de: str = "") -> str:
    return REPORT.format(de=de, fm=fm, place=place, serial=serial, ref=ref)


def _issue(client, desk, text: str) -> dict:
    cable = client.post(API, json={"text": text}, headers=desk)
    assert cable.status_code == 201, cable.text
    draft = client.post(f"{API}/{cable.json()['id']}/draft-demarche", headers=desk)
    assert draft.status_code == 201, draft.text
    path = f"/api/v1/demarches/{draft.json()['id']}"
    assert write(
        client, "PATCH", path, desk, json={"deadline": future().isoformat(), **COMPLETING}
    ).is_success
    issued = write(client, "POST", f"{path}/issue", desk)
    assert issued.status_code == 200, issued.text
    return {"cable": cable.json()["id"], **issued.json()}


@pytest.fixture
def world(client, db):
    hanoi = make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    sanjose = make_post(
        db, "SANJOSE", name="AMEMBASSY SAN JOSE", city="San Jose", routing_indicator="RUEHSJ"
    )
    london = make_post(db, "LONDON", name="AMEMBASSY LONDON", routing_indicator="RUEHLO")
    conf = Classification.CONFIDENTIAL
    w: dict = {
        "desk": make_user(db, Role.DESK_OFFICER, Classification.SECRET)[1],
        "low_desk": make_user(db, Role.DESK_OFFICER, conf)[1],
        "viewer": make_user(db, Role.VIEWER, conf)[1],
        "hanoi": make_user(db, Role.POST_OFFICER, conf, post=hanoi)[1],
        "sanjose": make_user(db, Role.POST_OFFICER, conf, post=sanjose)[1],
        "london": make_user(db, Role.POST_OFFICER, conf, post=london)[1],
    }
    w["shared"] = _issue(
        client,
        w["desk"],
        INSTRUCTION.format(
            marking="C O N F I D E N T I A L",
            mark="C",
            serial="500001",
            subject="DEMARCHE ON A COUNCIL VOTE",
            point="We urge your government to vote yes.",
        ),
    )
    w["secret"] = _issue(
        client,
        w["desk"],
        INSTRUCTION.format(
            marking="S E C R E T",
            mark="S",
            serial="777001",
            subject=f"{CANARY} SUBJECT",
            point=f"{CANARY} point.",
        ),
    )
    for key in ("shared", "secret"):
        w[key]["tasking"] = {t["post"]: t["id"] for t in w[key]["taskings"]}
    return w


def _leaks(text: str, world) -> list[str]:
    """What of the SECRET demarche an answer names: its canary, cable, demarche, taskings."""
    s = world["secret"]
    found = [CANARY] if CANARY in text else []
    body = json.loads(text) if text.lstrip().startswith(("{", "[")) else None
    ids = {"cable_id": s["cable"], "demarche_id": s["id"], "tasking_id": set(s["tasking"].values())}

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif key in ids and node is not None:
            wanted = ids[key]
            if node == wanted or (isinstance(wanted, set) and node in wanted):
                found.append(f"{key}={node}")

    if body is not None:
        walk(body)
    return found


def _comparable(body: dict) -> str:
    """An answer with what differs between two uploads anyway (ids, times, serials) blanked."""
    out = {
        k: v for k, v in body.items() if k not in ("id", "cable_id", "received_at", "created_at")
    }
    if isinstance(out.get("reply"), dict):
        out["reply"] = {k: v for k, v in out["reply"].items() if k != "id"}
    text = json.dumps(out, sort_keys=True)
    return re.sub(r"7770\d\d|88\d{4}", "SERIAL", text)


# -- 1. a duplicate reference number is no way in --------------------------------------


@pytest.mark.parametrize("who", ["hanoi", "low_desk"])
def test_an_invisible_duplicate_answers_exactly_like_a_fresh_upload(client, db, world, who):
    headers = world[who]
    dup = client.post(API, json={"text": FOUR_LINES.format(serial="777001")}, headers=headers)
    fresh = client.post(API, json={"text": FOUR_LINES.format(serial="777002")}, headers=headers)
    assert (dup.status_code, fresh.status_code) == (201, 201), dup.text
    assert _leaks(dup.text, world) == []
    assert dup.json()["created"] is True and dup.json()["raw_text"] == FOUR_LINES.format(
        serial="777001"
    )
    assert _comparable(dup.json()) == _comparable(fresh.json())
    # The uploader's own copy: theirs to read back, the SECRET one still missing to them.
    assert client.get(f"{API}/{dup.json()['id']}", headers=headers).status_code == 200
    assert client.get(f"{API}/{world['secret']['cable']}", headers=headers).status_code == 404
    again = client.post(API, json={"text": FOUR_LINES.format(serial="777001")}, headers=headers)
    assert (again.status_code, again.json()["id"]) == (200, dup.json()["id"])
    # The desk holds both copies; neither was merged into the other.
    refs = db.scalars(select(Cable.id).where(Cable.ref_id == "26STATE777001")).all()
    assert sorted(refs) == sorted([world["secret"]["cable"], dup.json()["id"]])


def test_another_posts_report_number_is_no_way_into_it(client, world):
    text = report(fm="AMEMBASSY SAN JOSE", place="SAN JOSE", serial=880001, ref="500001")
    theirs = client.post(API, json={"text": text}, headers=world["sanjose"])
    assert theirs.status_code == 201
    mine = client.post(API, json={"text": text}, headers=world["hanoi"])
    assert mine.status_code == 201 and mine.json()["id"] != theirs.json()["id"]
    assert mine.json()["reply"]["tasking_id"] == world["shared"]["tasking"]["HANOI"]
    assert "San Jose" not in json.dumps(mine.json()["reply"])


def _sign_in(client, db, headers) -> str:
    user = user_for_token(db, headers["Authorization"].removeprefix("Bearer "))
    opened = open_session(db, user=user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    return opened.web_session.csrf_token


def test_the_import_pages_answer_an_invisible_duplicate_like_a_fresh_cable(client, db, world):
    # A CONFIDENTIAL desk officer imports an instruction numbered like the SECRET one.
    csrf = _sign_in(client, db, world["low_desk"])
    text = INSTRUCTION.format(
        marking="C O N F I D E N T I A L",
        mark="C",
        serial="777001",
        subject="ANOTHER VOTE",
        point="Vote no.",
    )
    page = client.post("/cables/import/instruction", data={"csrf_token": csrf, "text": text})
    assert page.status_code == 200, page.text[:500]
    assert CANARY not in page.text and "ANOTHER VOTE" in page.text
    client.cookies.clear()
    # Hanoi imports, as a reply, a report numbered like San Jose's.
    sj = report(fm="AMEMBASSY SAN JOSE", place="SAN JOSE", serial=880002, ref="500001")
    assert client.post(API, json={"text": sj}, headers=world["sanjose"]).status_code == 201
    csrf = _sign_in(client, db, world["hanoi"])
    r = client.post(
        "/cables/import/reply", data={"csrf_token": csrf, "text": sj}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:500]
    shown = client.get(r.headers["location"])
    assert shown.status_code == 200 and "HANOI" in shown.text
    client.cookies.clear()


# -- 3. a post's upload is its own, whatever its FM line says ----------------------------


def test_a_forged_fm_line_files_the_report_as_the_uploaders_and_flags_it(client, db, world):
    forged = report(
        fm="AMEMBASSY SAN JOSE",
        place="SAN JOSE",
        serial=880003,
        ref="500001",
        de="VZCZCXRO1\nPP RUEHC\nDE RUEHSJ #0003 3360900\n",
    )
    r = client.post(API, json={"text": forged}, headers=world["hanoi"])
    assert r.status_code == 201, r.text
    body = r.json()
    # Matched to Hanoi's own tasking, never San Jose's.
    assert body["reply"]["tasking_id"] == world["shared"]["tasking"]["HANOI"]
    sj_tasking = world["shared"]["tasking"]["SANJOSE"]
    assert db.scalars(select(CableReply).where(CableReply.tasking_id == sj_tasking)).all() == []
    # San Jose never sees it: neither the cable, nor the reply, nor a list entry.
    sj = world["sanjose"]
    assert client.get(f"{API}/{body['id']}", headers=sj).status_code == 404
    assert client.get(f"{API}/replies/{body['reply']['id']}", headers=sj).status_code == 404
    assert body["id"] not in [c["id"] for c in client.get(API, headers=sj).json()["items"]]
    assert client.get(f"{API}/replies", headers=sj).json()["items"] == []
    # The text is kept as written; the sender is recorded, and the mismatch flagged.
    assert body["originator"] == "AMEMBASSY SAN JOSE"
    assert (body["sender_post"], body["sender_mismatch"], body["transcribed"]) == (
        "HANOI",
        True,
        False,
    )
    assert any("desk should check" in w for w in body["warnings"])
    # The desk's review queue shows it flagged, on the API and on the import page.
    flagged = client.get(f"{API}/replies", params={"flagged": "true"}, headers=world["desk"])
    (item,) = flagged.json()["items"]
    assert (item["id"], item["sender_post"], item["sender_mismatch"]) == (
        body["reply"]["id"],
        "HANOI",
        True,
    )
    _sign_in(client, db, world["desk"])
    page = client.get("/cables/import")
    assert "names another post" in page.text and "26SANJOSE880003" in page.text
    shown = client.get(f"/cables/replies/{body['reply']['id']}")
    assert "sender to check" in shown.text and "desk should check" in shown.text
    client.cookies.clear()


def test_a_forged_fm_line_makes_nothing_visible_to_the_post_it_names(client, world):
    text = FOUR_LINES.replace("FM AMEMBASSY HANOI", "FM AMEMBASSY LONDON").format(serial="1")
    own = client.post(API, json={"text": text}, headers=world["hanoi"]).json()
    assert client.get(f"{API}/{own['id']}", headers=world["london"]).status_code == 404
    assert client.get(API, headers=world["london"]).json()["items"] == []  # tasked on nothing
    assert own["sender_post"] == "HANOI" and own["sender_mismatch"] is True


def test_only_the_desk_files_for_another_post_and_that_is_a_transcription(client, db, world):
    text = report(fm="AMEMBASSY SAN JOSE", place="SAN JOSE", serial=880004, ref="500001")
    r = client.post(API, json={"text": text}, headers=world["desk"])
    assert r.status_code == 201
    body = r.json()
    assert (body["sender_post"], body["transcribed"], body["sender_mismatch"]) == (
        "SANJOSE",
        True,
        False,
    )
    assert any("transcribed" in w for w in body["warnings"])
    assert body["reply"]["tasking_id"] == world["shared"]["tasking"]["SANJOSE"]
    reply = client.get(f"{API}/replies/{body['reply']['id']}", headers=world["sanjose"])
    assert reply.status_code == 200 and reply.json()["transcribed"] is True
    _sign_in(client, db, world["desk"])
    assert "transcribed" in client.get(f"/cables/replies/{body['reply']['id']}").text
    client.cookies.clear()


def test_a_report_answers_only_its_senders_taskings_even_by_hand(client, db, world):
    hanoi = report(fm="AMEMBASSY HANOI", place="HANOI", serial=880005, ref="999999")
    reply = client.post(API, json={"text": hanoi}, headers=world["hanoi"]).json()["reply"]
    assert reply["status"] == "unmatched"
    url = f"{API}/replies/{reply['id']}/match"
    sj_tasking = world["shared"]["tasking"]["SANJOSE"]
    r = client.post(url, json={"tasking_id": sj_tasking}, headers=world["desk"])
    assert r.status_code == 409, r.text
    assert db.get(CableReply, reply["id"]).tasking_id is None
    # A report of no known sender becomes the post's, transcribed, once the desk says so.
    nowhere = report(fm="AMEMBASSY NOWHERE", place="NOWHERE", serial=880006, ref="999999")
    body = client.post(API, json={"text": nowhere}, headers=world["desk"]).json()
    assert body["sender_post"] is None
    assert client.get(f"{API}/{body['id']}", headers=world["sanjose"]).status_code == 404
    r = client.post(
        f"{API}/replies/{body['reply']['id']}/match",
        json={"tasking_id": sj_tasking},
        headers=world["desk"],
    )
    assert r.status_code == 200, r.text
    assert (r.json()["sender_post"], r.json()["transcribed"]) == ("SANJOSE", True)
    assert client.get(f"{API}/{body['id']}", headers=world["sanjose"]).status_code == 200


# -- 4. matching is no oracle -----------------------------------------------------------


@pytest.mark.parametrize("who", ["hanoi", "london", "low_desk"])
def test_citing_an_instruction_the_uploader_may_not_see_reads_as_citing_none(client, world, who):
    # Hanoi is tasked on the SECRET demarche but not cleared for it; London is tasked on
    # nothing; the CONFIDENTIAL desk officer may not see SECRET. Each gets what citing a
    # cable nobody holds gets.
    fm, place = {"hanoi": ("HANOI", "HANOI"), "london": ("LONDON", "LONDON")}.get(
        who, ("HANOI", "HANOI")
    )
    answers = {}
    for serial, ref in ((880010, "777001"), (880011, "777099")):
        text = report(fm=f"AMEMBASSY {fm}", place=place, serial=serial, ref=ref)
        r = client.post(API, json={"text": text}, headers=world[who])
        assert r.status_code == 201, r.text
        assert _leaks(r.text, world) == []
        reply = client.get(f"{API}/replies/{r.json()['reply']['id']}", headers=world[who])
        assert _leaks(reply.text, world) == []
        answers[ref] = (r.json(), reply.json())
    (cited, cited_reply), (none, none_reply) = answers["777001"], answers["777099"]
    assert cited["reply"]["status"] == "unmatched" and cited["reply"]["demarche_id"] is None
    assert _comparable(cited) == _comparable(none)
    assert _comparable(cited_reply) == _comparable(none_reply)


def test_matching_ignores_a_demarche_the_uploading_post_is_not_tasked_on(client, world):
    text = report(fm="AMEMBASSY LONDON", place="LONDON", serial=880012, ref="500001")
    r = client.post(API, json={"text": text}, headers=world["london"])
    reply = r.json()["reply"]
    assert (reply["status"], reply["demarche_id"], reply["tasking_id"]) == ("unmatched", None, None)
    full = client.get(f"{API}/replies/{reply['id']}", headers=world["london"]).json()
    assert full["note"] == "cites no instruction we hold as a demarche (REF: 26STATE500001)"


def test_no_note_names_a_record_to_a_reader_who_may_not_read_it(client, world):
    # The desk files London's report on the shared demarche: London has no tasking on it.
    text = report(fm="AMEMBASSY LONDON", place="LONDON", serial=880013, ref="500001")
    body = client.post(API, json={"text": text}, headers=world["desk"]).json()
    reply_id = body["reply"]["id"]
    desk_view = client.get(f"{API}/replies/{reply_id}", headers=world["desk"]).json()
    assert desk_view["note"] == (
        f"answers demarche {world['shared']['id']}, but LONDON has no tasking on it"
    )
    # London sees its own cable, never the reply that names a demarche it may not see.
    cable = client.get(f"{API}/{body['id']}", headers=world["london"])
    assert cable.status_code == 200 and cable.json()["reply"] is None
    assert client.get(f"{API}/replies/{reply_id}", headers=world["london"]).status_code == 404
    assert client.get(f"{API}/replies", headers=world["london"]).json()["items"] == []
    # Hanoi and San Jose, tasked on that demarche, see neither the reply nor its event.
    for post in ("hanoi", "sanjose"):
        assert client.get(f"{API}/replies/{reply_id}", headers=world[post]).status_code == 404
        timeline = client.get(
            f"/api/v1/demarches/{world['shared']['id']}/timeline", headers=world[post]
        )
        assert "LONDON" not in timeline.text and "cable_reply" not in timeline.text


def test_a_reply_matched_to_a_secret_demarche_is_hidden_from_readers_below_it(client, world):
    # A CONFIDENTIAL report, transcribed by the SECRET desk, matched to the SECRET demarche.
    text = report(fm="AMEMBASSY HANOI", place="HANOI", serial=880014, ref="777001")
    body = client.post(API, json={"text": text}, headers=world["desk"]).json()
    assert body["reply"]["tasking_id"] == world["secret"]["tasking"]["HANOI"]
    for who in ("viewer", "low_desk", "hanoi"):
        cable = client.get(f"{API}/{body['id']}", headers=world[who])
        assert cable.status_code == 200 and cable.json()["reply"] is None, who
        assert _leaks(cable.text, world) == []
        assert (
            client.get(f"{API}/replies/{body['reply']['id']}", headers=world[who]).status_code
            == 404
        )
        listed = client.get(f"{API}/replies", headers=world[who])
        assert _leaks(listed.text, world) == [] and listed.json()["items"] == []


# -- 5. a post sees its own reports, never another post's ---------------------------------


def test_a_post_never_sees_another_posts_report_on_a_demarche_both_are_tasked_on(client, world):
    text = report(fm="AMEMBASSY HANOI", place="HANOI", serial=880020, ref="500001")
    body = client.post(API, json={"text": text}, headers=world["hanoi"]).json()
    assert body["reply"]["status"] == "matched"
    sj = world["sanjose"]
    assert client.get(f"{API}/{body['id']}", headers=sj).status_code == 404
    assert client.get(f"{API}/replies/{body['reply']['id']}", headers=sj).status_code == 404
    assert client.get(f"{API}/replies", headers=sj).json()["items"] == []
    assert body["id"] not in [c["id"] for c in client.get(API, headers=sj).json()["items"]]
    timeline = client.get(f"/api/v1/demarches/{world['shared']['id']}/timeline", headers=sj)
    assert [e for e in timeline.json() if e["entity"] == "cable_reply"] == []
    own = client.get(
        f"/api/v1/demarches/{world['shared']['id']}/timeline", headers=world["hanoi"]
    ).json()
    assert [(e["action"], e["post"]) for e in own if e["entity"] == "cable_reply"] == [
        ("match", "HANOI")
    ]


def test_a_report_filed_for_no_post_stays_on_the_desks_timeline(client, db, world):
    text = report(fm="AMEMBASSY NOWHERE", place="NOWHERE", serial=880021, ref="500001")
    body = client.post(API, json={"text": text}, headers=world["desk"]).json()
    assert body["reply"]["status"] == "unmatched"
    event = db.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "cable_reply", AuditEvent.entity_id == body["reply"]["id"]
        )
    ).one()
    assert (event.action, event.demarche_id, event.post_id) == (
        "file_unmatched",
        world["shared"]["id"],
        None,
    )
    path = f"/api/v1/demarches/{world['shared']['id']}/timeline"
    desk = client.get(path, headers=world["desk"]).json()
    assert "file_unmatched" in [e["action"] for e in desk]
    for post in ("hanoi", "sanjose"):
        assert "file_unmatched" not in [
            e["action"] for e in client.get(path, headers=world[post]).json()
        ]
    # Its rejection by the desk is the desk's record too.
    r = client.post(
        f"{API}/replies/{body['reply']['id']}/reject",
        json={"note": "no such post"},
        headers=world["desk"],
    )
    assert r.status_code == 200
    for post in ("hanoi", "sanjose"):
        assert "reject" not in [e["action"] for e in client.get(path, headers=world[post]).json()]


# -- NUL and other control characters; size; the event loop -------------------------------


@pytest.mark.parametrize("how", ["json", "text", "file"])
def test_control_characters_in_a_cable_are_stored_as_spaces(client, world, how):
    # A cable file (or its text) may carry form feeds and other controls: read as spaces.
    # A NUL in a JSON string is refused before any route reads it (the next test).
    nul = "" if how == "json" else "\x00"
    text = FOUR_LINES.format(serial="123456").replace("HELLO", f"HEL{nul}LO\x07 \x1b[31mRED")
    text += f"1. (U) Body{nul}text\x0bwith\x7fcontrols.\tTab stays.\r\n"
    sent = {
        "json": {"json": {"text": text}},
        "text": {"content": text.encode(), "headers": {"Content-Type": "text/plain"}},
        "file": {"files": {"file": ("c.txt", text.encode(), "text/plain")}},
    }[how]
    headers = {**world["desk"], **sent.pop("headers", {})}
    r = client.post(API, headers=headers, **sent)
    assert r.status_code == 201, r.text
    stored = client.get(f"{API}/{r.json()['id']}", headers=world["desk"]).json()["raw_text"]
    assert stored == re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)
    assert "\tTab stays.\r\n" in stored
    assert "control characters removed" in r.json()["warnings"]


def test_a_nul_in_a_json_cable_is_refused_and_nothing_is_stored(client, world, db):
    text = FOUR_LINES.format(serial="123457").replace("HELLO", "HEL\x00LO")
    before = db.scalar(select(func.count()).select_from(Cable))
    r = client.post(API, json={"text": text}, headers=world["desk"])
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Cable)) == before


def test_a_review_note_with_a_nul_is_refused(client, world):
    text = report(fm="AMEMBASSY HANOI", place="HANOI", serial=880030, ref="999999")
    reply = client.post(API, json={"text": text}, headers=world["hanoi"]).json()["reply"]
    r = client.post(
        f"{API}/replies/{reply['id']}/reject", json={"note": "wrong\x00"}, headers=world["hanoi"]
    )
    assert r.status_code == 422
    r = client.post(
        f"{API}/replies/{reply['id']}/match", json={"tasking_id": 2**40}, headers=world["desk"]
    )
    assert r.status_code == 422


def test_the_bulk_import_stores_control_characters_as_spaces_and_refuses_huge_files(db, tmp_path):
    text = FOUR_LINES.format(serial="654321").replace("HELLO", "HEL\x00LO")
    path = tmp_path / "c.txt"
    path.write_bytes(text.encode())
    result = run_import(db, [(str(path), *_read_and_parse(path))])
    assert (result.imported, result.failures) == (1, [])
    stored = db.scalars(select(Cable.raw_text).where(Cable.ref_id == "26STATE654321")).one()
    assert stored == text.replace("\x00", " ")
    big = tmp_path / "big.txt"
    big.write_bytes(b"FM AMEMBASSY HANOI\n" + b"A" * MAX_CHARS)
    assert "larger than any cable" in (_read_and_parse(big)[1] or "")


def test_text_longer_than_any_cable_is_refused_before_it_is_parsed(db):
    with pytest.raises(PayloadTooLarge):
        ingest.parse_or_refuse("FM AMEMBASSY HANOI\n" + "A" * MAX_CHARS)


def test_cable_uploads_are_parsed_off_the_event_loop(app):
    """FastAPI runs a plain `def` endpoint in its thread pool: parsing a cable, however
    long, never holds the event loop (the body is read asynchronously before)."""
    uploads = {
        ("POST", "/api/v1/cables"),
        ("POST", "/cables/import/instruction"),
        ("POST", "/cables/import/reply"),
    }
    found = {}
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.update({(m, route.path): route.endpoint for m in route.methods})
        for ctx in getattr(route, "effective_route_contexts", list)():  # included routers
            found.update({(m, ctx.path_format): ctx.endpoint for m in ctx.methods})
    for key in uploads:
        endpoint = found[key]
        assert not inspect.iscoroutinefunction(endpoint), key
