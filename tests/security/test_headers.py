"""Security headers on every answer: API, pages, static files, errors (issue 13, item 12).

A SECRET page must not sit in a browser's or a proxy's cache, no page may be framed,
and the pages run under a Content-Security-Policy strict enough that an injected
script or style would not run: so they carry none inline (the browser tests in
tests/pages/ load every page in Chromium under this policy and fail on a violation).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.headers import CSP
from app.main import create_app
from tests.factories import login, make_user

API = "/api/v1"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STRICT = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def _assert_secured(r, *, cacheable: bool = False) -> None:
    for name, value in STRICT.items():
        assert r.headers.get(name) == value, (r.request.url, name, r.headers.get(name))
    if cacheable:
        assert "no-store" not in r.headers.get("cache-control", "")
    else:
        assert r.headers.get("cache-control") == "no-store", (r.request.url, r.status_code)


def test_the_policy_is_the_strict_one():
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def test_api_answers_carry_the_headers_signed_in_or_not(client, db):
    _, desk = make_user(db)
    for r in (
        client.get(f"{API}/me", headers=desk),
        client.get(f"{API}/demarches", headers=desk),
        client.get(f"{API}/demarches/999999", headers=desk),  # 404
        client.get(f"{API}/demarches/{2**40}", headers=desk),  # 404 from the bounds
        client.post(f"{API}/tokens", json={}, headers=desk),  # 422
        client.post(
            f"{API}/tokens", content=b"{", headers={**desk, "Content-Type": "application/json"}
        ),
        client.get(f"{API}/me"),  # 401
        client.get(f"{API}/no/such/route", headers=desk),
        client.get("/health"),
        client.get("/openapi.json"),
    ):
        _assert_secured(r)


def test_an_oversized_body_is_refused_with_the_headers(client, db, app_settings):
    _, desk = make_user(db)
    big = b"x" * (app_settings.max_body_bytes + 1)
    r = client.post(
        f"{API}/tokens", content=big, headers={**desk, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    _assert_secured(r)


def test_pages_and_their_errors_carry_the_headers(client, page_world):
    _assert_secured(client.get("/login"))
    _assert_secured(client.get("/", follow_redirects=False))  # 303 to the sign-in page
    login(client, "hanoi")
    d = page_world["demarche"]
    for path in ("/", "/inbox", f"/demarches/{d.id}", "/demarches/999999", "/overdue", "/nowhere"):
        _assert_secured(client.get(path))
    _assert_secured(client.get("/?page=0"))  # a 422 page


def test_static_files_carry_the_headers_and_may_be_cached(client):
    r = client.get("/static/app.css")
    assert r.status_code == 200
    _assert_secured(r, cacheable=True)


def test_the_docs_answer_under_the_same_self_only_policy(client):
    """Swagger UI is served from here and started by a file: no CDN, no inline script."""
    r = client.get("/docs")
    assert r.status_code == 200
    _assert_secured(r)
    assert r.headers["content-security-policy"] == CSP
    assert "<script>" not in r.text and "cdn." not in r.text
    for asset in ("/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css"):
        assert client.get(asset).status_code == 200, asset


def test_an_unexpected_error_carries_the_headers_too(app_settings):
    """Starlette answers a 500 outside every middleware; the handler adds them itself."""
    app = create_app(app_settings)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/boom")
    assert r.status_code == 500
    _assert_secured(r)


def test_a_route_cannot_opt_an_answer_back_into_a_cache(app_settings):
    app = create_app(app_settings)

    @app.get("/api/v1/cached")
    def cached():
        from fastapi.responses import JSONResponse

        return JSONResponse({}, headers={"Cache-Control": "public, max-age=3600"})

    with TestClient(app) as c:
        assert c.get("/api/v1/cached").headers["cache-control"] == "no-store"


# -- nothing in the pages that the policy would refuse ---------------------------------

INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_template_carries_inline_script_or_style(template):
    assert INLINE.findall(template.read_text()) == []


def test_rendered_pages_carry_no_inline_style_or_script(client, page_world):
    login(client, "desk")
    d = page_world["demarche"]
    for path in ("/", f"/demarches/{d.id}", "/overdue", "/demarches/new", "/cables/import"):
        r = client.get(path)
        assert r.status_code == 200
        assert INLINE.findall(r.text) == [], path


def test_the_progress_bar_widths_are_classes_the_stylesheet_defines(client, page_world):
    login(client, "desk")
    page = client.get("/").text
    widths = set(re.findall(r'class="seg seg-[a-z_]+ (w\d+)"', page))
    assert widths, "no progress bar on the home page"
    css = client.get("/static/app.css").text
    for w in range(1, 101):
        assert f".w{w} {{ width: {w}%; }}" in css
    assert all(1 <= int(w[1:]) <= 100 for w in widths)
