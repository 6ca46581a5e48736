from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import Role
from app.classification import Classification
from app.posts.models import Post
from tests.factories import make_post, make_user

HANOI = {
    "code": "hanoi",
    "name": "AMEMBASSY HANOI",
    "kind": "embassy",
    "city": "Hanoi",
    "country": "Vietnam",
    "routing_indicator": "RUEHHI",
    "region": "EAP",
}


def test_admin_registers_lists_updates_and_deactivates_a_post(client, db):
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.UNCLASSIFIED)
    r = client.post("/api/v1/posts", json=HANOI, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "HANOI" and r.json()["active"] is True

    r = client.get("/api/v1/posts", params={"region": "EAP"}, headers=admin)
    assert [p["code"] for p in r.json()["items"]] == ["HANOI"]
    assert r.json()["next_cursor"] is None

    r = client.patch("/api/v1/posts/HANOI", json={"city": "Ha Noi"}, headers=admin)
    assert r.status_code == 200 and r.json()["city"] == "Ha Noi"
    assert r.json()["routing_indicator"] == "RUEHHI"

    r = client.post("/api/v1/posts/hanoi/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    r = client.get("/api/v1/posts", params={"active": "true"}, headers=admin)
    assert r.json()["items"] == []


def test_duplicate_code_or_routing_indicator_is_a_conflict(client, db):
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.UNCLASSIFIED)
    assert client.post("/api/v1/posts", json=HANOI, headers=admin).status_code == 201
    r = client.post("/api/v1/posts", json=HANOI, headers=admin)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert "HANOI" in r.json()["detail"]
    r = client.post("/api/v1/posts", json={**HANOI, "code": "HANOI2"}, headers=admin)
    assert r.status_code == 409 and "RUEHHI" in r.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Post)) == 1


def test_bad_post_fields_answer_422_naming_the_field(client, db):
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.UNCLASSIFIED)
    r = client.post("/api/v1/posts", json={**HANOI, "kind": "palace"}, headers=admin)
    assert r.status_code == 422
    body = r.json()
    assert body["status"] == 422 and "kind" in body["detail"]
    assert body["errors"][0]["field"] == "kind"


def test_only_administrators_change_the_registry(client, db):
    post = make_post(db, "PARIS")
    _, desk = make_user(db, Role.DESK_OFFICER)
    r = client.post("/api/v1/posts", json=HANOI, headers=desk)
    assert r.status_code == 403 and r.json()["title"] == "Forbidden"
    assert client.post(f"/api/v1/posts/{post.code}/deactivate", headers=desk).status_code == 403
    assert client.get("/api/v1/posts/PARIS", headers=desk).status_code == 200


def test_unknown_post_is_404_problem(client, db):
    _, desk = make_user(db)
    r = client.get("/api/v1/posts/NOWHERE", headers=desk)
    assert r.status_code == 404
    assert r.json()["detail"] == "No post with code 'NOWHERE'."


def test_posts_page_by_cursor_like_every_list(client, db):
    """One pagination contract: an opaque cursor, next_cursor, a bounded limit."""
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.UNCLASSIFIED)
    for code in ("CCC", "AAA", "BBB"):
        make_post(db, code)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/posts", params=params, headers=admin).json()
        assert page["limit"] == 2 and len(page["items"]) <= 2
        seen += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["AAA", "BBB", "CCC"]
    r = client.get("/api/v1/posts", params={"cursor": "not-ours"}, headers=admin)
    assert (
        r.status_code == 422 and r.json()["detail"] == "The cursor is not one this API handed out."
    )
    r = client.get("/api/v1/posts", params={"limit": 10_000}, headers=admin)
    assert r.json()["limit"] <= 200
