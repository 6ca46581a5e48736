from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import Role, User
from app.classification import Classification
from app.demarches.models import Demarche
from app.taskings.models import Tasking
from tests.factories import demarche_payload, future, make_demarche, make_post, make_user, write


def counts(db) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(Demarche)),
        db.scalar(select(func.count()).select_from(Tasking)),
        db.scalar(select(func.count()).select_from(AuditEvent)),
    )


@pytest.fixture
def world(db):
    posts = [
        make_post(db, c, country=n)
        for c, n in (
            ("HANOI", "Vietnam"),
            ("SANJOSE", "Costa Rica"),
            ("TRIPOLI", "Libya"),
            ("SUVA", "Fiji"),
        )
    ]
    desk, headers = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    return posts, headers


def test_create_issue_and_read_back_matches_what_was_sent(client, world):
    posts, desk = world
    body = demarche_payload(posts[:2])
    body["targets"] = [
        {"post": "HANOI"},
        {"post": "SANJOSE", "due_date": future(5).isoformat()},
        {"post": "TRIPOLI", "role": "info"},
        {"post": "SUVA", "countries": ["Fiji", "Tonga", "Nauru"]},
    ]
    r = client.post("/api/v1/demarches", json=body, headers=desk)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "draft" and created["taskings"] == []
    for field in (
        "subject",
        "summary",
        "classification",
        "deadline",
        "delivery_level",
        "tags",
    ):
        assert created[field] == body[field], field
    assert [o["text"] for o in created["objectives"]] == body["objectives"]
    assert [p["text"] for p in created["talking_points"]] == [
        p["text"] for p in body["talking_points"]
    ]
    assert created["talking_points"][0]["use"] == "public"
    assert [{"date": k["date"], "what": k["what"]} for k in created["key_dates"]] == body[
        "key_dates"
    ]
    # Portions sent without a mark take the demarche's level; points keep the one given.
    assert created["summary_classification"] == "CONFIDENTIAL"
    assert {o["classification"] for o in created["objectives"]} == {"CONFIDENTIAL"}
    assert {k["classification"] for k in created["key_dates"]} == {"CONFIDENTIAL"}
    assert [p["classification"] for p in created["talking_points"]] == [
        "UNCLASSIFIED",
        "CONFIDENTIAL",
    ]
    assert created["withheld_portions"] == 0
    assert len(created["targets"]) == 6

    r = write(client, "POST", f"/api/v1/demarches/{created['id']}/issue", desk)
    assert r.status_code == 200, r.text
    issued = r.json()
    assert issued["status"] == "issued" and issued["issued_at"]
    due = {
        (t["post"], t["country"]): (t["role"], t["due_date"], t["status"])
        for t in issued["taskings"]
    }
    assert due == {
        ("HANOI", "Vietnam"): ("action", body["deadline"], "pending"),
        ("SANJOSE", "Costa Rica"): ("action", future(5).isoformat(), "pending"),
        ("TRIPOLI", "Libya"): ("info", body["deadline"], "pending"),
        ("SUVA", "Fiji"): ("action", body["deadline"], "pending"),
        ("SUVA", "Tonga"): ("action", body["deadline"], "pending"),
        ("SUVA", "Nauru"): ("action", body["deadline"], "pending"),
    }
    again = client.get(f"/api/v1/demarches/{created['id']}", headers=desk).json()
    assert again == issued
    assert client.get(f"/api/v1/demarches/{created['id']}", headers=desk).headers["etag"]


def test_writes_need_the_current_etag(client, world, db):
    posts, desk = world
    r = client.post("/api/v1/demarches", json=demarche_payload(posts[:1]), headers=desk)
    path = f"/api/v1/demarches/{r.json()['id']}"
    stale = r.headers["etag"]
    assert write(client, "PATCH", path, desk, json={"summary": "new"}).status_code == 200
    _problem(client.post(f"{path}/issue", headers=desk), 428, "If-Match")
    _problem(client.post(f"{path}/issue", headers={**desk, "If-Match": stale}), 412, "changed")
    _problem(client.post(f"{path}/issue", headers={**desk, "If-Match": "*"}), 412, "changed")
    assert client.get(path, headers=desk).json()["status"] == "draft"


def test_list_filters_and_cursor_pagination(client, world):
    posts, desk = world
    ids = []
    for i in range(5):
        body = demarche_payload(
            [posts[i % 2]],
            subject=f"Subject number {i} {'fisheries' if i % 2 else 'security'}",
            tags=["PREL"] if i < 3 else ["EFIS"],
            deadline=future(10 + i).isoformat(),
        )
        ids.append(client.post("/api/v1/demarches", json=body, headers=desk).json()["id"])
    write(client, "POST", f"/api/v1/demarches/{ids[0]}/issue", desk)

    def listed(**params) -> list[int]:
        r = client.get("/api/v1/demarches", params=params, headers=desk)
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["items"]]

    assert listed() == ids[::-1]
    assert listed(status="issued") == [ids[0]]
    assert listed(post="SANJOSE") == [ids[3], ids[1]]
    assert listed(tag="efis") == [ids[4], ids[3]]
    assert listed(q="FISHERIES") == [ids[3], ids[1]]
    assert listed(deadline_before=future(12).isoformat()) == [ids[1], ids[0]]
    assert listed(deadline_after=future(12).isoformat()) == [ids[4], ids[3]]
    assert listed(q="100%") == []

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/demarches", params=params, headers=desk).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[::-1]
    r = client.get("/api/v1/demarches", params={"cursor": "garbage!"}, headers=desk)
    assert r.status_code == 422 and "cursor" in r.json()["detail"]


def test_update_while_draft_replaces_lists(client, world):
    posts, desk = world
    d = client.post("/api/v1/demarches", json=demarche_payload(posts[:1]), headers=desk).json()
    r = write(
        client,
        "PATCH",
        f"/api/v1/demarches/{d['id']}",
        desk,
        json={
            "objectives": ["Only this one."],
            "talking_points": [{"text": "New point"}],
            "targets": [{"post": "TRIPOLI"}],
            "deadline": future(20).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert [o["text"] for o in got["objectives"]] == ["Only this one."]
    assert [p["text"] for p in got["talking_points"]] == ["New point"]
    assert [t["post"] for t in got["targets"]] == ["TRIPOLI"]
    assert got["subject"] == d["subject"] and got["version"] > d["version"]


def _problem(r, status: int, *fragments: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    for f in fragments:
        assert f in body["detail"], body["detail"]


def test_unknown_post_is_refused_and_nothing_is_stored(client, world, db):
    posts, desk = world
    before = counts(db)
    body = demarche_payload(posts[:1])
    body["targets"].append({"post": "ATLANTIS"})
    _problem(client.post("/api/v1/demarches", json=body, headers=desk), 422, "ATLANTIS")
    assert counts(db) == before


def test_deadline_in_the_past_at_issue_time(client, world, db):
    posts, desk = world
    d = client.post(
        "/api/v1/demarches",
        json=demarche_payload(posts[:1], deadline=(date.today() - timedelta(days=1)).isoformat()),
        headers=desk,
    ).json()
    before = counts(db)
    _problem(write(client, "POST", f"/api/v1/demarches/{d['id']}/issue", desk), 422, "in the past")
    assert counts(db) == before
    assert client.get(f"/api/v1/demarches/{d['id']}", headers=desk).json()["status"] == "draft"


def test_issuing_twice_is_a_conflict(client, world, db):
    posts, desk = world
    d = client.post("/api/v1/demarches", json=demarche_payload(posts[:2]), headers=desk).json()
    assert write(client, "POST", f"/api/v1/demarches/{d['id']}/issue", desk).status_code == 200
    before = counts(db)
    _problem(
        write(client, "POST", f"/api/v1/demarches/{d['id']}/issue", desk), 409, "already issued"
    )
    assert counts(db) == before


def test_editing_an_issued_demarches_points_is_a_conflict(client, world, db):
    posts, desk = world
    d = client.post("/api/v1/demarches", json=demarche_payload(posts[:1]), headers=desk).json()
    write(client, "POST", f"/api/v1/demarches/{d['id']}/issue", desk)
    before = counts(db)
    r = write(
        client,
        "PATCH",
        f"/api/v1/demarches/{d['id']}",
        desk,
        json={"talking_points": [{"text": "x"}]},
    )
    _problem(r, 409, "amendment")
    assert counts(db) == before
    got = client.get(f"/api/v1/demarches/{d['id']}", headers=desk).json()
    assert [p["text"] for p in got["talking_points"]] == [p["text"] for p in d["talking_points"]]


def test_malformed_json_is_400(client, world, db):
    _, desk = world
    before = counts(db)
    r = client.post(
        "/api/v1/demarches",
        content=b'{"subject": "x",',
        headers={**desk, "content-type": "application/json"},
    )
    _problem(r, 400, "not valid JSON")
    assert counts(db) == before


def test_oversized_body_is_413(client, world, db, app):
    _, desk = world
    before = counts(db)
    huge = "x" * (app.state.settings.max_body_bytes + 1)
    r = client.post("/api/v1/demarches", json={"subject": huge}, headers=desk)
    _problem(r, 413, "limit")

    def chunks():  # no Content-Length: the limit still holds
        for _ in range(app.state.settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536

    r = client.post(
        "/api/v1/demarches", content=chunks(), headers={**desk, "content-type": "application/json"}
    )
    _problem(r, 413, "limit")
    assert counts(db) == before


def test_cancel_cancels_open_taskings(client, world):
    posts, desk = world
    d = client.post("/api/v1/demarches", json=demarche_payload(posts[:2]), headers=desk).json()
    write(client, "POST", f"/api/v1/demarches/{d['id']}/issue", desk)
    r = write(
        client, "POST", f"/api/v1/demarches/{d['id']}/cancel", desk, json={"reason": "overtaken"}
    )
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert {t["status"] for t in r.json()["taskings"]} == {"cancelled"}
    _problem(write(client, "POST", f"/api/v1/demarches/{d['id']}/cancel", desk), 409, "cancelled")


def test_a_point_above_its_demarche_is_refused_and_names_the_point(client, world, db):
    posts, desk = world
    r = client.post(
        "/api/v1/demarches",
        json=demarche_payload(
            posts[:1],
            classification="SBU",
            talking_points=[{"text": "open"}, {"text": "secret bit", "classification": "SECRET"}],
        ),
        headers=desk,
    )
    _problem(r, 422, "Point 2 is marked SECRET", "classify the demarche SECRET")
    assert r.json()["field"] == "talking_points"


def test_withheld_points_above_clearance(client, world, db):
    """A row marked before the rule (a point above its demarche) is still withheld."""
    posts, desk_headers = world
    desk = db.scalar(select(User).where(User.role == Role.DESK_OFFICER))
    d = make_demarche(db, desk, posts[:1], classification=Classification.SBU, issue=False)
    _, viewer = make_user(db, Role.VIEWER, Classification.CONFIDENTIAL)
    got = client.get(f"/api/v1/demarches/{d.id}", headers=viewer).json()
    assert got["withheld_points"] == 1 and got["withheld_portions"] == 1
    assert [p["text"] for p in got["talking_points"]] == ["We ask you to vote yes.", None]
    assert "Our red line" not in str(got)


def test_demarche_above_clearance_is_404_like_a_missing_one(client, world, db):
    posts, desk = world
    d = client.post(
        "/api/v1/demarches", json=demarche_payload(posts[:1], classification="SECRET"), headers=desk
    ).json()
    _, viewer = make_user(db, Role.VIEWER, Classification.CONFIDENTIAL)
    hidden = client.get(f"/api/v1/demarches/{d['id']}", headers=viewer)
    missing = client.get("/api/v1/demarches/999999", headers=viewer)
    assert hidden.status_code == missing.status_code == 404
    assert client.get("/api/v1/demarches", headers=viewer).json()["items"] == []


def test_requests_without_a_valid_token_are_401(client, world):
    assert client.get("/api/v1/demarches").status_code == 401
    r = client.get("/api/v1/demarches/1", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/health").status_code == 200
