"""Attacks on credentials: a session cookie is not a bearer token, an API token is not a
session cookie, and no token creates one that outlives it (issue 13, items 6 and 7).

Each attack runs with the app's own credential cache on (the default), because that is
where a cookie and a token met: the cache kept both under their digest alone.
"""

from __future__ import annotations

from datetime import timedelta

from app.auth.models import Role
from app.auth.service import issue_token
from app.classification import Classification
from app.db import utcnow
from tests.factories import PASSWORD, login, make_signin_user, make_user

API = "/api/v1"


def _signed_in_cookie(client, db, username="dana") -> str:
    make_signin_user(db, username)
    login(client, username)  # the home page it opens puts the session in the cache
    return client.cookies["dmt_session"]


def test_a_session_cookie_is_not_a_bearer_token(client, db):
    cookie = _signed_in_cookie(client, db)
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {cookie}"}
    r = client.get(f"{API}/me", headers=bearer)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert cookie not in r.text


def test_a_session_cookie_mints_no_token(client, db):
    cookie = _signed_in_cookie(client, db)
    client.cookies.clear()
    r = client.post(
        f"{API}/tokens", json={"name": "forever"}, headers={"Authorization": f"Bearer {cookie}"}
    )
    assert r.status_code == 401, r.text
    assert "token" not in r.json()


def test_a_session_cookie_sent_with_a_bearer_header_still_is_no_bearer(client, db):
    """The browser's own cookie rides along: the API reads the header, never the cookie."""
    _signed_in_cookie(client, db)  # the client keeps the cookie
    r = client.post(f"{API}/tokens", json={"name": "forever"})
    assert r.status_code == 401, r.text


def test_an_api_token_is_not_a_session_cookie(client, db):
    _, headers = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    assert client.get(f"{API}/me", headers=headers).status_code == 200  # now remembered
    secret = headers["Authorization"].removeprefix("Bearer ")
    client.cookies.set("dmt_session", secret)
    for path in ("/", "/overdue", "/demarches/new", "/cables/import"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, (path, r.status_code, r.text[:200])
        assert r.headers["location"].startswith("/login")
    r = client.post("/logout", data={"csrf_token": "x"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get(f"{API}/me", headers=headers).status_code == 200  # the token still works


def test_an_api_token_cookie_unknown_to_the_cache_is_no_session_either(client, db):
    _, headers = make_user(db, Role.VIEWER, Classification.SBU)
    client.cookies.set("dmt_session", headers["Authorization"].removeprefix("Bearer "))
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


# -- tokens minting tokens -------------------------------------------------------------


def _token(db, *, ttl: timedelta | None, username: str | None = None) -> dict[str, str]:
    user, _ = make_user(db, Role.DESK_OFFICER, Classification.SECRET, username=username)
    issued = issue_token(db, user=user, name="caller", ttl=ttl)
    db.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def test_a_token_expiring_tomorrow_cannot_mint_one_that_never_expires(client, db):
    caller = _token(db, ttl=timedelta(days=1))
    r = client.post(f"{API}/tokens", json={"name": "forever"}, headers=caller)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["type"] == "/problems/invalid"
    assert "outlive" in body["detail"] and "token" not in body


def test_a_token_cannot_mint_one_that_expires_later_than_itself(client, db):
    caller = _token(db, ttl=timedelta(days=10))
    r = client.post(f"{API}/tokens", json={"name": "longer", "days": 11}, headers=caller)
    assert r.status_code == 422, r.text
    assert "at most 9 days" in r.json()["detail"]
    # The caller's 10 days have begun to run: 10 more days is already later.
    assert (
        client.post(f"{API}/tokens", json={"name": "same", "days": 10}, headers=caller).status_code
        == 422
    )


def test_a_token_may_mint_a_shorter_lived_one(client, db):
    caller = _token(db, ttl=timedelta(days=10))
    r = client.post(f"{API}/tokens", json={"name": "shorter", "days": 9}, headers=caller)
    assert r.status_code == 201, r.text
    assert r.json()["expires_at"] is not None
    minted = {"Authorization": f"Bearer {r.json()['token']}"}
    # ...and the minted one is bound the same way, by its own expiry.
    assert (
        client.post(f"{API}/tokens", json={"name": "grandchild"}, headers=minted).status_code == 422
    )


def test_a_token_that_expires_within_a_day_can_mint_nothing(client, db):
    caller = _token(db, ttl=timedelta(hours=5))
    r = client.post(f"{API}/tokens", json={"name": "one day", "days": 1}, headers=caller)
    assert r.status_code == 422, r.text
    assert "less than a day" in r.json()["detail"]


def test_a_never_expiring_token_may_mint_any(client, db):
    caller = _token(db, ttl=None)
    forever = client.post(f"{API}/tokens", json={"name": "forever"}, headers=caller)
    assert forever.status_code == 201 and forever.json()["expires_at"] is None
    year = client.post(f"{API}/tokens", json={"name": "year", "days": 366}, headers=caller)
    assert year.status_code == 201, year.text
    assert year.json()["expires_at"] > utcnow().isoformat()


def test_the_password_signs_in_but_opens_no_api(client, db):
    """A browser session (the form's password) never becomes an API credential."""
    make_signin_user(db, "dana")
    login(client, "dana")
    assert client.get(f"{API}/me").status_code == 401
    r = client.get(f"{API}/me", headers={"Authorization": f"Bearer {PASSWORD}"})
    assert r.status_code == 401
