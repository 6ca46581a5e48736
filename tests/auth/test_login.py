"""Signing in and out in the browser, CSRF on every form, and the failed-login limit."""

from __future__ import annotations

import re

from app.auth.models import Role
from app.auth.service import add_user
from app.auth.throttle import PER_PAIR
from app.classification import Classification


def _user(db, name="dana", password="correct horse battery", **kw):
    u = add_user(
        db,
        username=name,
        full_name="Dana W",
        role=kw.get("role", Role.DESK_OFFICER),
        clearance=Classification.SECRET,
        password=password,
    )
    db.commit()
    return u


def _login_form(client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client, username="dana", password="correct horse battery", next_url="/"):
    token = _login_form(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )


def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(client, db):
    _user(db)
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("dmt_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test below
    home = client.get("/")
    assert home.status_code == 200 and "Dana W" in home.text

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    assert client.get("/", follow_redirects=False).status_code == 303


def test_cookie_is_secure_over_https(client, db):
    _user(db)
    token = _login_form(client)
    r = client.post(
        "/login",
        data={"username": "dana", "password": "correct horse battery", "csrf_token": token},
        headers={"x-forwarded-proto": "https"},
        follow_redirects=False,
    )
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("dmt_session="))
    assert "Secure" in cookie


def test_wrong_password_and_unknown_user_read_the_same(client, db):
    _user(db)
    wrong = sign_in(client, password="nope")
    unknown = sign_in(client, username="ghost", password="nope")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        "Wrong user name or password." in wrong.text
        and "Wrong user name or password." in unknown.text
    )
    assert 'value="dana"' in wrong.text  # what was typed is kept (but never the password)
    assert "nope" not in wrong.text


def test_login_form_without_or_with_forged_csrf_is_refused(client, db):
    _user(db)
    _login_form(client)
    for token in ("", "forged-token"):
        r = client.post(
            "/login",
            data={"username": "dana", "password": "correct horse battery", "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 403 and "dmt_session" not in r.headers.get("set-cookie", "")


def test_forms_after_sign_in_need_the_sessions_csrf_token(client, db):
    _user(db)
    sign_in(client)
    for data in ({}, {"csrf_token": "forged"}):
        r = client.post("/logout", data=data, follow_redirects=False)
        assert r.status_code == 403
    assert client.get("/").status_code == 200  # still signed in: nothing happened


def test_failed_sign_ins_are_rate_limited_per_address_and_user(client, db):
    _user(db)
    for _ in range(PER_PAIR.failures):
        assert sign_in(client, password="wrong").status_code == 401
    r = sign_in(client)  # even the right password waits now, from this address
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert "Try again in 15 minutes" in r.text
    assert 0 < int(r.headers["retry-after"]) <= PER_PAIR.window.total_seconds()


def test_next_only_goes_to_this_site(client, db):
    _user(db)
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        assert sign_in(client, next_url=target).headers["location"] == "/"
        client.cookies.clear()
    assert (
        sign_in(client, next_url="/overdue?sort=worst").headers["location"] == "/overdue?sort=worst"
    )


def test_disabling_a_user_ends_their_session_at_once(client, db):
    u = _user(db)
    sign_in(client)
    assert client.get("/").status_code == 200
    u.active = False
    db.commit()
    assert client.get("/", follow_redirects=False).status_code == 303
