"""Hostile text is stored and shown as text: no SQL, no template, no markup runs."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.auth.models import Role
from app.auth.service import add_user
from app.classification import Classification
from app.demarches.models import Demarche
from tests.factories import demarche_payload, make_post, make_user, write

HOSTILE = [
    "'; DROP TABLE demarches; --",
    '" OR 1=1 --',
    "{{ 7*7 }} {% raw %}{{ config }}{% endraw %} ${7*7}",
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "100% _done_ \\ back\\slash",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_round_trips_in_every_field(client, db, text):
    post = make_post(db, "HANOI")
    _, desk = make_user(db)
    body = demarche_payload(
        [post],
        subject=f"S {text}",
        summary=text,
        delivery_level=text[:200],
        objectives=[text],
        talking_points=[{"text": text}],
        key_dates=[{"date": "2030-01-01", "what": text[:300]}],
    )
    r = client.post("/api/v1/demarches", json=body, headers=desk)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["subject"] == f"S {text}" and got["summary"] == text
    assert [o["text"] for o in got["objectives"]] == [text]
    assert got["talking_points"][0]["text"] == text
    # Searching for it finds exactly it; the table is still there.
    found = client.get("/api/v1/demarches", params={"q": text}, headers=desk).json()["items"]
    assert [d["id"] for d in found] == [got["id"]]
    assert (
        client.get("/api/v1/demarches", params={"q": "%"}, headers=desk).json()["items"] == []
        or "%" in text
    )
    assert db.scalar(select(func.count()).select_from(Demarche)) == 1
    for param in ("tag", "post"):
        r = client.get("/api/v1/demarches", params={param: text[:16]}, headers=desk)
        assert r.status_code in (200, 422)
        assert r.status_code == 422 or r.json()["items"] == []


def test_pages_escape_what_users_typed(client, db):
    post = make_post(db, "HANOI")
    _, desk = make_user(db)
    body = demarche_payload([post], subject="<script>alert('x')</script> {{ 7*7 }}")
    d = client.post("/api/v1/demarches", json=body, headers=desk).json()
    write(client, "POST", f"/api/v1/demarches/{d['id']}/issue", desk)
    add_user(
        db,
        username="pagey",
        full_name="<b>Page</b> {{7*7}}",
        role=Role.DESK_OFFICER,
        clearance=Classification.SECRET,
        password="a long enough password",
    )
    db.commit()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post(
        "/login",
        data={"username": "pagey", "password": "a long enough password", "csrf_token": token},
    )
    home = client.get("/")
    assert home.status_code == 200
    assert "<script>alert" not in home.text and "&lt;script&gt;" in home.text
    assert "{{ 7*7 }}" in home.text and ">49<" not in home.text
    assert "<b>Page</b>" not in home.text
