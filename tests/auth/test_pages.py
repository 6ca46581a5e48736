"""The server-rendered pages through TestClient: signing in first, and CSRF on every form."""

from __future__ import annotations

from datetime import date

from tests.factories import login

TODAY = date.today()


def test_pages_redirect_to_login_when_signed_out(client, page_world):
    for path in (
        "/",
        "/inbox",
        "/overdue",
        f"/demarches/{page_world['demarche'].id}",
        "/demarches/new",
    ):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_a_form_without_csrf_is_refused(client, page_world):
    login(client, "desk")
    r = client.post(f"/demarches/{page_world['demarche'].id}/cancel", data={"version": 1})
    assert r.status_code == 403
