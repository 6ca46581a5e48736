"""What a reader may not see leaves no trace: not a title, a count, nor another post's report."""

from __future__ import annotations

import pytest

from app import demo
from app.auth.service import open_session, user_for_token

SECRET_SUBJECT = "BOSPORUS"  # the demo's SECRET demarche
SAN_JOSE_REPORT = "Costa Rica will vote for the renewal"  # San Jose's reported response

PAGES = [
    "/",
    "/?status=closed",
    "/?status=cancelled",
    "/?overdue=1",
    "/overdue",
    "/overdue?sort=region",
    "/inbox",
]
API = [
    "/api/v1/demarches",
    "/api/v1/demarches?q=BOSPORUS",
    "/api/v1/demarches?tag=MNUC",
    "/api/v1/demarches?post=ANKARA",
    "/api/v1/taskings",
    "/api/v1/taskings?overdue=true",
    "/api/v1/taskings?post=SANJOSE",
    "/api/v1/commitments",
    "/api/v1/cables",
    "/api/v1/cables/replies",
]


@pytest.fixture
def people(client, db):
    creds = demo.load(db)
    db.commit()
    return {c.username: c.token for c in creds}


def _pages_as(client, db, token: str, extra: tuple[str, ...] = ()) -> str:
    user = user_for_token(db, token)
    opened = open_session(db, user=user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    text = ""
    for path in (*PAGES, *extra):
        r = client.get(path)
        assert r.status_code in (200, 403), (path, r.status_code)
        text += r.text
    client.cookies.clear()
    return text


def _api_as(client, token: str, extra: tuple[str, ...] = ()) -> str:
    text = ""
    for path in (*API, *extra):
        r = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, (path, r.text)
        text += r.text
    return text


def test_a_confidential_reader_sees_no_trace_of_a_secret_demarche(client, db, people):
    for who in ("viewer", "hanoi"):
        seen = _pages_as(client, db, people[who]) + _api_as(client, people[who])
        assert SECRET_SUBJECT not in seen, who
    assert SECRET_SUBJECT in _api_as(client, people["desk"])  # it is there for the cleared


def test_a_post_never_sees_another_posts_report(client, db, people):
    hanoi = {"Authorization": f"Bearer {people['hanoi']}"}
    (unomar,) = client.get("/api/v1/demarches?q=UNOMAR", headers=hanoi).json()["items"]
    page = (f"/demarches/{unomar['id']}",)
    api = tuple(f"/api/v1/demarches/{unomar['id']}{t}" for t in ("", "/timeline", "/revisions"))
    seen = _pages_as(client, db, people["hanoi"], page) + _api_as(client, people["hanoi"], api)
    assert SAN_JOSE_REPORT not in seen
    assert SAN_JOSE_REPORT in _api_as(client, people["sanjose"])
