from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import ApiToken, Role
from app.auth.passwords import token_digest
from app.classification import Classification
from tests.factories import make_post, make_user


def test_token_is_shown_once_stored_hashed_and_revocable(client, db):
    _, headers = make_user(db, Role.VIEWER, Classification.SBU)
    r = client.post("/api/v1/tokens", json={"name": "laptop", "days": 30}, headers=headers)
    assert r.status_code == 201
    secret = r.json()["token"]
    stored = db.scalar(select(ApiToken).where(ApiToken.id == r.json()["id"]))
    assert stored.token_hash == token_digest(secret) and secret not in str(vars(stored))
    assert stored.expires_at is not None

    listed = client.get("/api/v1/tokens", headers=headers).json()["items"]
    assert {t["name"] for t in listed} == {"test", "laptop"}
    assert all("token" not in t and "token_hash" not in t for t in listed)

    mine = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    assert client.delete(f"/api/v1/tokens/{r.json()['id']}", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=mine).status_code == 401


def test_nobody_revokes_someone_elses_token(client, db):
    _, alice = make_user(db, Role.ADMINISTRATOR, Classification.SECRET)
    bob, bob_headers = make_user(db, Role.VIEWER, Classification.SBU)
    bobs = db.scalar(select(ApiToken).where(ApiToken.user_id == bob.id))
    assert client.delete(f"/api/v1/tokens/{bobs.id}", headers=alice).status_code == 404
    assert client.get("/api/v1/me", headers=bob_headers).status_code == 200


def test_expired_token_is_refused(client, db):
    from app.auth.service import issue_token

    user, _ = make_user(db)
    expired = issue_token(db, user=user, name="old", ttl=timedelta(seconds=-5))
    db.commit()
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired.secret}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_administrators_manage_users_and_passwords_never_come_back(client, db):
    make_post(db, "HANOI")
    # Cleared SECRET: an administrator grants at most their own clearance (see
    # tests/security/test_administrators.py for the refusals).
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.SECRET)
    r = client.post(
        "/api/v1/users",
        json={
            "username": "minh",
            "full_name": "Minh Tran",
            "role": "post_officer",
            "clearance": "CONFIDENTIAL",
            "post": "HANOI",
            "password": "a long enough password",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["post"] == "HANOI"
    assert "password" not in r.text and "hash" not in r.text and "argon2" not in r.text
    r = client.post(
        "/api/v1/users",
        json={"username": "nopost", "full_name": "X", "role": "post_officer", "clearance": "SBU"},
        headers=admin,
    )
    assert r.status_code == 422 and "post" in r.json()["detail"]
    r = client.patch(
        "/api/v1/users/minh", json={"active": False, "clearance": "SECRET"}, headers=admin
    )
    assert r.json()["active"] is False and r.json()["clearance"] == "SECRET"
    listed = client.get("/api/v1/users", headers=admin).json()["items"]
    assert "minh" in {u["username"] for u in listed}
    assert all(
        set(u) == {"id", "username", "full_name", "role", "clearance", "post", "active"}
        for u in listed
    )


def test_denied_requests_are_logged_with_user_route_and_reason(client, db, caplog):
    _, viewer = make_user(db, Role.VIEWER, Classification.SBU, username="vera")
    with caplog.at_level("INFO", logger="app.access"):
        client.post(
            "/api/v1/posts",
            json={
                "code": "X1",
                "name": "AMEMBASSY X",
                "kind": "embassy",
                "city": "X",
                "country": "X",
                "region": "EUR",
            },
            headers=viewer,
        )
        client.get("/api/v1/demarches")
    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert any(
        "user=vera" in m and "route=/api/v1/posts" in m and "manage_posts" in m for m in lines
    )
    assert any(
        "user=-" in m and "route=/api/v1/demarches" in m and "no bearer token" in m for m in lines
    )
