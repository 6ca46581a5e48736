"""Amendments keep earlier text; the timeline reads back in order with every actor."""

from __future__ import annotations

import pytest

from app import demo
from app.auth.models import Role
from app.classification import Classification
from tests.factories import demarche_payload, future, make_post, make_user, write


@pytest.fixture
def issued(client, db):
    posts = [make_post(db, c) for c in ("HANOI", "SANJOSE", "TRIPOLI")]
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    hanoi_user, hanoi = make_user(db, Role.POST_OFFICER, Classification.CONFIDENTIAL, posts[0])
    body = demarche_payload(posts[:2])
    d = client.post("/api/v1/demarches", json=body, headers=desk).json()
    r = write(client, "POST", f"/api/v1/demarches/{d['id']}/issue", desk)
    assert r.status_code == 200, r.text
    return r.json(), desk, hanoi


def _tasking(client, demarche, post, headers):
    return next(
        t
        for t in client.get(f"/api/v1/demarches/{demarche['id']}", headers=headers).json()[
            "taskings"
        ]
        if t["post"] == post
    )


def test_amendment_is_a_numbered_revision_and_earlier_text_stays_readable(client, issued):
    d, desk, hanoi = issued
    path = f"/api/v1/demarches/{d['id']}"
    hanoi_tasking = _tasking(client, d, "HANOI", desk)
    r = write(
        client,
        "POST",
        f"{path}/amend",
        desk,
        etag_path=path,
        json={
            "reason": "Council vote moved; new point on the review.",
            "deadline": future(15).isoformat(),
            "talking_points": [{"text": "New first point."}],
            "targets": [{"post": "HANOI"}, {"post": "TRIPOLI"}],
        },
    )
    assert r.status_code == 200, r.text
    amended = r.json()
    assert amended["revision"] == 1
    assert [p["text"] for p in amended["talking_points"]] == ["New first point."]
    states = {t["post"]: t["status"] for t in amended["taskings"]}
    assert states == {"HANOI": "pending", "SANJOSE": "cancelled", "TRIPOLI": "pending"}
    assert all(
        t["due_date"] == future(15).isoformat()
        for t in amended["taskings"]
        if t["status"] == "pending"
    )

    revisions = client.get(f"{path}/revisions", headers=desk).json()
    assert [r["number"] for r in revisions] == [0]
    assert [p["text"] for p in revisions[0]["content"]["talking_points"]] == [
        p["text"] for p in d["talking_points"]
    ]
    assert revisions[0]["reason"].startswith("Council vote moved")

    # The post sees that the demarche changed since it last acted, and what changed.
    seen = client.get(f"/api/v1/taskings/{hanoi_tasking['id']}", headers=hanoi).json()
    assert seen["changed_since_seen"] is True
    assert {"deadline", "talking_points", "targets"} <= set(seen["changes"])
    etag = client.get(f"/api/v1/taskings/{hanoi_tasking['id']}", headers=hanoi).headers["etag"]
    r = client.post(
        f"/api/v1/taskings/{hanoi_tasking['id']}/acknowledge", headers={**hanoi, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    assert r.json()["changed_since_seen"] is False and r.json()["changes"] == []


def test_amending_a_draft_is_refused(client, db):
    post = make_post(db, "HANOI")
    _, desk = make_user(db)
    d = client.post("/api/v1/demarches", json=demarche_payload([post]), headers=desk).json()
    path = f"/api/v1/demarches/{d['id']}"
    r = write(client, "POST", f"{path}/amend", desk, etag_path=path, json={"reason": "x"})
    assert r.status_code == 409 and r.json()["current_state"] == "draft"


def test_timeline_reads_back_in_order_with_every_actor(client, db):
    creds = demo.load(db)
    db.commit()
    token = {c.username: {"Authorization": f"Bearer {c.token}"} for c in creds}
    demarches = client.get("/api/v1/demarches", params={"q": "UNOMAR"}, headers=token["desk"])
    (marovia,) = demarches.json()["items"]
    events = client.get(f"/api/v1/demarches/{marovia['id']}/timeline", headers=token["desk"]).json()
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert all(e["actor"] for e in events), "every event names who did it"
    assert events[0]["action"] == "create" and events[1]["action"] == "issue"
    actors = {e["actor"] for e in events}
    assert {"desk", "hanoi", "sanjose"} <= actors
    actions = {(e["entity"], e["action"]) for e in events}
    assert {
        ("tasking", "deliver"),
        ("tasking", "report_response"),
        ("tasking", "accept"),
        ("response", "create"),
        ("tasking", "advise_against"),
    } <= actions

    # A post sees its own records and the desk's, never another post's reporting.
    mine = client.get(f"/api/v1/demarches/{marovia['id']}/timeline", headers=token["hanoi"]).json()
    assert {e["post"] for e in mine} <= {None, "HANOI"}
    # Every tasking event names its post, so none slips through as "no post".
    assert all(e["post"] for e in events if e["entity"] in ("tasking", "response"))
    assert "sanjose" not in {e["actor"] for e in mine}
    # Nothing in the demo's demarche is marked above it: the CONFIDENTIAL post reads every
    # portion of the snapshot, each with its mark. (Withholding: tests/auth/test_withholding.)
    created = mine[0]["after"]
    assert "do not share this assessment" in str(created)
    ranks = {c.value: c.rank for c in Classification}
    marks = [created["summary_classification"]] + [
        p["classification"]
        for key in ("objectives", "talking_points", "key_dates")
        for p in created[key]
    ]
    assert max(ranks[m] for m in marks) <= ranks[created["classification"]]
    assert not any(p.get("withheld") for p in created["talking_points"])
