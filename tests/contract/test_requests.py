"""What the OpenAPI document refuses, the app refuses: schemathesis found requests the
document calls invalid that the app took (a number for a date, `true` for a number),
and one it answered with a 500 (a malformed multipart body)."""

from __future__ import annotations

from datetime import date

import pytest

from app.auth.models import Role
from app.classification import Classification
from app.errors import PROBLEM_JSON
from tests.factories import demarche_payload, make_post, make_user

API = "/api/v1"


@pytest.fixture
def desk(db):
    return make_user(db, Role.DESK_OFFICER, Classification.SECRET)[1]


@pytest.mark.parametrize("value", [0, 1700000000, "0", "1700000000", "2026-1-1", " 2026-01-01"])
def test_a_date_is_written_yyyy_mm_dd(client, db, desk, value):
    """pydantic alone reads a number, or a numeric string, as a Unix time."""
    body = demarche_payload([make_post(db)], key_dates=[{"date": value, "what": "Vote"}])
    r = client.post(f"{API}/demarches", json=body, headers=desk)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "key_dates.0.date"
    r = client.get(f"{API}/demarches", params={"deadline_before": value}, headers=desk)
    assert r.status_code == 422, r.text


def test_a_date_as_written_is_taken(client, db, desk):
    day = date(2031, 1, 2).isoformat()
    body = demarche_payload([make_post(db)], deadline=day, key_dates=[{"date": day, "what": "V"}])
    r = client.post(f"{API}/demarches", json=body, headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["key_dates"][0]["date"] == day
    listed = client.get(f"{API}/demarches", params={"deadline_before": "2031-01-03"}, headers=desk)
    assert [d["id"] for d in listed.json()["items"]] == [r.json()["id"]]


@pytest.mark.parametrize("days", [True, "7"])
def test_a_number_is_a_json_number(client, desk, days):
    r = client.post(f"{API}/tokens", json={"name": "t", "days": days}, headers=desk)
    assert r.status_code == 422, r.text


def test_a_boolean_is_a_json_boolean(client, db, desk):
    admin = make_user(db, Role.ADMINISTRATOR, Classification.SECRET)[1]
    post = make_post(db)
    r = client.patch(f"{API}/posts/{post.code}", json={"active": "yes"}, headers=admin)
    assert r.status_code == 422, r.text
    r = client.patch(f"{API}/posts/{post.code}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False


def test_a_malformed_multipart_body_is_a_400_not_a_500(client, desk):
    """The NUL guard read the form first; its failed parse used up the body, and the
    cable upload, reading it again, raised (a 500)."""
    r = client.post(
        f"{API}/cables",
        content=b"--b\r\n[]--b--\r\n",
        headers={**desk, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
