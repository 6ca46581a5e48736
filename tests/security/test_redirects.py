"""Sign-in's ?next= never sends a signed-in officer to another site, however it is spelled."""

from __future__ import annotations

import pytest

from tests.factories import CSRF, PASSWORD, make_signin_user

ESCAPES = [
    "https://evil.example/",
    "//evil.example/x",
    "/\\evil.example/x",  # browsers read "\" as "/": "//evil.example/x"
    "\\\\evil.example/x",
    "/\t/evil.example/x",  # browsers drop tabs and newlines inside a URL
    "/\n/evil.example/x",
    "/\r/evil.example/x",
    "javascript:alert(1)",
    " https://evil.example/",
]


@pytest.mark.parametrize("target", ESCAPES)
def test_next_never_leaves_the_site(client, db, target):
    make_signin_user(db, "dana")
    token = CSRF.search(client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"username": "dana", "password": PASSWORD, "csrf_token": token, "next": target},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_a_path_on_this_site_is_kept(client, db):
    make_signin_user(db, "dana")
    token = CSRF.search(client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"username": "dana", "password": PASSWORD, "csrf_token": token, "next": "/inbox"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/inbox"
