"""A hand-made demarche linked to its source cable (replies citing the cable then match
it), and a cable drafted twice only when the desk says so."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import Role
from app.cables import ingest
from app.cables.models import ReplyStatus
from app.classification import Classification
from app.demarches.models import Demarche
from tests.cables.samples import REPORT, instruction
from tests.factories import demarche_payload, login, make_post, make_user, write

API = "/api/v1"


def _world(db):
    hanoi = make_post(db, "HANOI", name="AMEMBASSY HANOI", routing_indicator="RUEHHI")
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    _, low = make_user(db, Role.DESK_OFFICER, Classification.CONFIDENTIAL)
    _, officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
    return hanoi, desk, low, officer


def test_a_hand_made_demarche_names_its_cable_and_a_reply_citing_it_matches(client, db):
    hanoi, desk, _, officer = _world(db)
    cable = client.post(f"{API}/cables", json={"text": instruction()}, headers=desk).json()
    r = client.post(
        f"{API}/demarches",
        json=demarche_payload([hanoi], source_cable_id=cable["id"]),
        headers=desk,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["source_cable_id"] == cable["id"]
    issued = write(client, "POST", f"{API}/demarches/{made['id']}/issue", desk).json()
    (tasking,) = issued["taskings"]
    # Hanoi's report cites STATE 166909: it is filed against Hanoi's tasking.
    got = client.post(f"{API}/cables", json={"text": REPORT.format(ref="166909")}, headers=officer)
    assert got.status_code == 201, got.text
    reply = got.json()["reply"]
    assert reply["status"] == ReplyStatus.MATCHED
    assert (reply["demarche_id"], reply["tasking_id"]) == (made["id"], tasking["id"])


def test_a_cable_out_of_sight_is_refused_as_a_missing_one(client, db):
    hanoi, desk, low, _ = _world(db)
    secret = client.post(
        f"{API}/cables", json={"text": instruction("166910", "S E C R E T")}, headers=desk
    ).json()
    assert secret["classification"].startswith("SECRET")
    answers = {}
    for cable_id in (secret["id"], 999_999):
        body = demarche_payload([hanoi], source_cable_id=cable_id)
        r = client.post(f"{API}/demarches", json=body, headers=low)
        assert r.status_code == 422, r.text
        answers[cable_id] = r.json()["detail"].replace(str(cable_id), "N")
    assert answers[secret["id"]] == answers[999_999]
    assert db.scalar(select(func.count()).select_from(Demarche)) == 0
    # An out-of-range id is the schema's 422, not a database error.
    body = demarche_payload([hanoi], source_cable_id=2**40)
    assert client.post(f"{API}/demarches", json=body, headers=desk).status_code == 422


def test_a_draft_is_linked_by_patch_and_every_refusal_comes_at_once(client, db):
    hanoi, desk, _, _ = _world(db)
    cable = client.post(f"{API}/cables", json={"text": instruction()}, headers=desk).json()
    made = client.post(f"{API}/demarches", json=demarche_payload([hanoi]), headers=desk).json()
    path = f"{API}/demarches/{made['id']}"
    r = write(client, "PATCH", path, desk, json={"source_cable_id": cable["id"]})
    assert r.status_code == 200 and r.json()["source_cable_id"] == cable["id"]
    bad = {
        "source_cable_id": 999_999,
        "targets": [{"post": "NOWHERE"}],
        "classification": "UNCLASSIFIED",
    }
    r = write(client, "PATCH", path, desk, json=bad)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"source_cable_id", "targets", "classification"} <= fields, r.json()


def test_a_cable_drafted_before_answers_409_unless_again(client, db):
    _, desk, _, _ = _world(db)
    cable = client.post(f"{API}/cables", json={"text": instruction()}, headers=desk).json()
    first = client.post(f"{API}/cables/{cable['id']}/draft-demarche", headers=desk)
    assert first.status_code == 201
    r = client.post(f"{API}/cables/{cable['id']}/draft-demarche", headers=desk)
    assert r.status_code == 409
    assert r.json()["existing_demarche_ids"] == [first.json()["id"]]
    assert "already drafted" in r.json()["detail"]
    again = client.post(f"{API}/cables/{cable['id']}/draft-demarche?again=true", headers=desk)
    assert again.status_code == 201
    assert (
        f"already drafted from this cable as demarche {first.json()['id']}"
        in (again.json()["warnings"])
    )
    assert db.scalar(select(func.count()).select_from(Demarche)) == 2


def test_the_import_page_asks_before_drafting_a_cable_again(client, db, page_world):
    csrf = login(client, "desk")
    text = instruction()
    sent = {"csrf_token": csrf, "text": text}
    first = client.post("/cables/import/instruction", data=sent, follow_redirects=False)
    assert first.status_code == 303
    # A reload of the answer reads the draft again; a bookmark of the POST's address
    # lands on the import page. Neither drafts.
    assert client.get(first.headers["location"]).status_code == 200
    bookmark = client.get("/cables/import/instruction", follow_redirects=False)
    assert (bookmark.status_code, bookmark.headers["location"]) == (303, "/cables/import")
    assert (
        db.scalar(
            select(func.count()).select_from(Demarche).where(Demarche.source_cable_id.is_not(None))
        )
        == 1
    )
    # The same cable sent again: a choice, not a second draft.
    r = client.post("/cables/import/instruction", data=sent, follow_redirects=False)
    assert r.status_code == 409
    assert "Open the existing draft" in r.text and "Draft again" in r.text
    existing = first.headers["location"].removesuffix("?done=drafted")
    assert f'href="{existing}"' in r.text
    action = r.text.split('action="/cables/', 1)[1].split('"', 1)[0]
    again = client.post(
        f"/cables/{action}", data={"csrf_token": csrf, "again": "1"}, follow_redirects=False
    )
    assert again.status_code == 303 and again.headers["location"] != first.headers["location"]
    assert (
        db.scalar(
            select(func.count()).select_from(Demarche).where(Demarche.source_cable_id.is_not(None))
        )
        == 2
    )


def test_the_new_demarche_form_links_a_cable_by_its_reference(client, db, page_world):
    held = ingest.ingest(db, instruction(), actor=page_world["desk"]).cable
    db.commit()
    csrf = login(client, "desk")
    form = {
        "csrf_token": csrf,
        "subject": "HAND-MADE FROM A CABLE",
        "talking_points": "(U) We urge you to vote yes.",
        "posts": ["HANOI"],
        "source_cable": "07state999999",
    }
    r = client.post("/demarches/new", data=form)
    assert r.status_code == 422 and 'id="source_cable-error"' in r.text
    assert "There is no cable 07STATE999999 that you may read" in r.text
    r = client.post(
        "/demarches/new", data={**form, "source_cable": held.ref_id.lower()}, follow_redirects=False
    )
    assert r.status_code == 303, r.text[:2000]
    made = db.scalar(select(Demarche).where(Demarche.subject == "HAND-MADE FROM A CABLE"))
    assert made.source_cable_id == held.id
