"""A post's time zone: an IANA name, checked, in the API, and added by migration 0006a to
posts already registered (UTC), without losing what points at them, up and down."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

import app.models  # noqa: F401
from app.auth.models import Role
from app.classification import Classification
from app.clock import local_date, local_time, local_today
from app.db import make_engine
from tests.databases import BACKENDS, drop_database, fresh_database, migration_config
from tests.factories import make_demarche, make_post, make_user

HANOI = {
    "code": "HANOI",
    "name": "AMEMBASSY HANOI",
    "kind": "embassy",
    "city": "Hanoi",
    "country": "Vietnam",
    "region": "EAP",
}


def test_a_post_registers_with_its_zone_and_defaults_to_utc(client, db):
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.UNCLASSIFIED)
    r = client.post("/api/v1/posts", json={**HANOI, "time_zone": "Asia/Ho_Chi_Minh"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["time_zone"] == "Asia/Ho_Chi_Minh"
    r = client.post(
        "/api/v1/posts", json={**HANOI, "code": "SUVA", "name": "AMEMBASSY SUVA"}, headers=admin
    )
    assert r.status_code == 201 and r.json()["time_zone"] == "UTC"
    r = client.patch("/api/v1/posts/SUVA", json={"time_zone": "Pacific/Fiji"}, headers=admin)
    assert r.status_code == 200 and r.json()["time_zone"] == "Pacific/Fiji"
    listed = client.get("/api/v1/posts", headers=admin).json()["items"]
    assert {p["code"]: p["time_zone"] for p in listed} == {
        "HANOI": "Asia/Ho_Chi_Minh",
        "SUVA": "Pacific/Fiji",
    }


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "asia/ho_chi_minh", "../../etc/passwd", "", "A" * 65, "+07:00"]
)
def test_a_zone_the_database_does_not_know_is_refused(client, db, zone):
    _, admin = make_user(db, Role.ADMINISTRATOR, Classification.UNCLASSIFIED)
    r = client.post("/api/v1/posts", json={**HANOI, "time_zone": zone}, headers=admin)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "time_zone"
    make_post(db, "OSLO")
    r = client.patch("/api/v1/posts/OSLO", json={"time_zone": zone}, headers=admin)
    assert r.status_code == 422


def test_local_days_and_times_name_their_zone():
    late_evening = datetime(2026, 12, 2, 20, 30, tzinfo=UTC)  # 03:30 next day in Hanoi
    assert local_today("Asia/Ho_Chi_Minh", late_evening) == date(2026, 12, 3)
    assert local_today("UTC", late_evening) == date(2026, 12, 2)
    assert local_date(late_evening, "America/Costa_Rica") == date(2026, 12, 2)
    assert local_time(late_evening, "Asia/Ho_Chi_Minh") == "2026-12-03 03:30 +07 (Asia/Ho_Chi_Minh)"
    assert local_time(late_evening, "Europe/Paris") == "2026-12-02 21:30 CET (Europe/Paris)"
    assert local_time(late_evening, "UTC") == "2026-12-02 20:30 UTC"
    assert local_time(None, "UTC") == ""


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_gives_every_post_utc_and_goes_back_down_with_data(backend, tmp_path):
    url = fresh_database(backend, tmp_path)
    cfg = migration_config(url)
    engine = make_engine(url)
    try:
        command.upgrade(cfg, "0005b")  # the step before 0006a
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO posts (code, name, kind, city, country, region, active, "
                    "created_at, updated_at) VALUES ('HANOI', 'AMEMBASSY HANOI', 'embassy', "
                    "'Hanoi', 'Vietnam', 'EAP', true, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                )
            )
        # Up to the head (the ORM below writes today's schema), then down past 0006a.
        command.upgrade(cfg, "head")
        assert _rows(engine, "SELECT code, time_zone FROM posts") == [("HANOI", "UTC")]
        with Session(engine, expire_on_commit=False) as db:
            # What points at posts survives the way down: a user, a demarche's taskings.
            paris = make_post(db, "PARIS", time_zone="Europe/Paris")
            desk, _ = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
            make_user(db, Role.POST_OFFICER, Classification.SECRET, post=paris)
            make_demarche(db, desk, [paris], secret_point=False)
        taskings = _rows(engine, "SELECT id, post_id, status FROM taskings ORDER BY id")
        users = _rows(engine, "SELECT id, post_id FROM users ORDER BY id")
        assert len(taskings) == 1 and any(p for _, p in users)

        command.downgrade(cfg, "0005b")
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("posts")}
        assert "time_zone" not in columns
        assert _rows(engine, "SELECT id, post_id, status FROM taskings ORDER BY id") == taskings
        assert _rows(engine, "SELECT id, post_id FROM users ORDER BY id") == users
        assert [c for (c,) in _rows(engine, "SELECT code FROM posts ORDER BY code")] == [
            "HANOI",
            "PARIS",
        ]

        command.upgrade(cfg, "head")
        assert _rows(engine, "SELECT code, time_zone FROM posts ORDER BY code") == [
            ("HANOI", "UTC"),
            ("PARIS", "UTC"),  # a zone set before the way down is not remembered
        ]
        assert _rows(engine, "SELECT id, post_id, status FROM taskings ORDER BY id") == taskings
    finally:
        engine.dispose()
        drop_database(url)
