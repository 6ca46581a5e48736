"""Retries and races: Idempotency-Key, If-Match, and real concurrent writers on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.classification import Classification
from app.main import create_app
from app.settings import Settings
from app.taskings.models import Delivery, IdempotencyKey, Tasking
from tests.databases import (
    BACKENDS,
    drop_database,
    fresh_database,
    migrated_engine,
)
from tests.factories import make_post, make_user
from tests.taskings.api import (
    API,
    delivery_body,
    etag_of,
    issue_demarche,
    problem,
    response_body,
    state_of,
    tasking_id,
)


def test_a_retried_delivery_is_answered_once_and_logged_once(client, db, world):
    officer = world["officer"]
    tid = tasking_id(issue_demarche(client, world["desk"], [{"post": "HANOI"}]), "HANOI")
    path = f"{API}/taskings/{tid}/deliveries"
    tag = etag_of(client, tid, officer)
    headers = {**officer, "If-Match": tag, "Idempotency-Key": "deliver-once-1"}

    first = client.post(path, json=delivery_body(), headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = state_of(db, tid)
    # The same retry, with the If-Match it read before the first attempt (now stale).
    second = client.post(path, json=delivery_body(), headers=headers)
    assert second.status_code == 201, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert state_of(db, tid) == after_first
    assert after_first["deliveries"] == 1
    assert db.scalar(select(func.count()).where(Delivery.tasking_id == tid)) == 1
    assert db.scalar(select(func.count()).select_from(IdempotencyKey)) == 1

    # The same key on another route is refused, and writes nothing.
    other = client.post(
        f"{API}/taskings/{tid}/responses",
        json=response_body(),
        headers={
            **officer,
            "If-Match": etag_of(client, tid, officer),
            "Idempotency-Key": "deliver-once-1",
        },
    )
    assert "Idempotency-Key" in problem(other, 409)["detail"]
    assert state_of(db, tid) == after_first

    # A new key is a new delivery.
    third = client.post(
        path,
        json=delivery_body(),
        headers={
            **officer,
            "If-Match": etag_of(client, tid, officer),
            "Idempotency-Key": "deliver-once-2",
        },
    )
    assert third.status_code == 201, third.text
    assert third.json()["id"] != first.json()["id"]
    assert db.scalar(select(func.count()).where(Delivery.tasking_id == tid)) == 2


@pytest.mark.parametrize(
    ("suffix", "body"),
    [
        ("deliveries", delivery_body()),
        ("acknowledge", {}),
        ("mark-unable", {"reason": "No access to the MFA this month."}),
    ],
    ids=["deliver", "acknowledge", "mark_unable"],
)
def test_a_stale_or_missing_if_match_writes_nothing(client, db, world, suffix, body):
    officer = world["officer"]
    tid = tasking_id(issue_demarche(client, world["desk"], [{"post": "HANOI"}]), "HANOI")
    path = f"{API}/taskings/{tid}/{suffix}"
    stale = etag_of(client, tid, officer)
    # Someone else moves the tasking first.
    assert (
        client.post(
            f"{API}/taskings/{tid}/acknowledge", json={}, headers={**officer, "If-Match": stale}
        ).status_code
        == 200
    )
    current = etag_of(client, tid, officer)
    assert current != stale
    before = state_of(db, tid)

    missing = problem(client.post(path, json=body, headers=officer), 428)
    assert missing["current_etag"] == current
    failed = problem(client.post(path, json=body, headers={**officer, "If-Match": stale}), 412)
    assert failed["current_etag"] == current
    star = problem(client.post(path, json=body, headers={**officer, "If-Match": "*"}), 412)
    assert star["current_etag"] == current
    assert state_of(db, tid) == before


# -- real concurrency -----------------------------------------------------------

N = 16


def _race(app, token: dict[str, str], path: str, if_match: str | None, round_: str) -> list:
    """N clients post a delivery at the same instant; returns (status, attempts) per thread."""
    barrier = threading.Barrier(N)
    results: list = [None] * N

    def worker(i: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as c:
            statuses = []
            tag = if_match
            for attempt in range(4 * N):
                if tag is None or attempt:
                    read = c.get(path.rsplit("/", 1)[0], headers=token)
                    assert read.status_code == 200, read.text
                    tag = read.headers["etag"]
                if attempt == 0:
                    barrier.wait(timeout=30)
                r = c.post(
                    path,
                    json=delivery_body(notes=f"{round_} thread {i}"),
                    headers={**token, "If-Match": tag, "Idempotency-Key": f"{round_}-{i}"},
                )
                statuses.append(r.status_code)
                if r.status_code == 201 or if_match is not None:
                    break
            results[i] = statuses

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_deliveries(backend: str, tmp_path: Path):
    """Real commits on separate connections: on SQLite the writers queue for the lock
    (no "database is locked"), on PostgreSQL they race on the version column."""
    url = fresh_database(backend, tmp_path)
    engine = migrated_engine(url)
    app = create_app(Settings(database_url=url))
    try:
        with Session(engine, expire_on_commit=False) as s:  # each factory commits for real
            hanoi = make_post(s, "HANOI", country="Vietnam")
            _, desk = make_user(s, Role.DESK_OFFICER, Classification.SECRET)
            _, officer = make_user(s, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
        with TestClient(app, raise_server_exceptions=False) as c:
            tid = tasking_id(issue_demarche(c, desk, [{"post": "HANOI"}]), "HANOI")
            tag = etag_of(c, tid, officer)

        def db_state() -> tuple[int, int]:
            with engine.connect() as conn:
                version = conn.scalar(select(Tasking.version).where(Tasking.id == tid))
                deliveries = conn.scalar(select(func.count()).where(Delivery.tasking_id == tid))
            return version, deliveries

        v0, d0 = db_state()
        assert d0 == 0
        path = f"{API}/taskings/{tid}/deliveries"

        # Round 1: everyone read the same version; exactly one write may win.
        first = [s[0] for s in _race(app, officer, path, tag, "same-etag")]
        counted = Counter(first)
        assert counted[201] == 1, counted
        assert set(counted) <= {201, 409, 412}, counted
        assert db_state() == (v0 + 1, 1)

        # Round 2: everyone re-reads and retries until it lands.
        second = _race(app, officer, path, None, "retry")
        assert all(s[-1] == 201 for s in second), second
        assert all(set(s[:-1]) <= {409, 412} for s in second), second
        assert db_state() == (v0 + 1 + N, 1 + N)
        with engine.connect() as conn:
            notes = sorted(
                conn.scalars(select(Delivery.notes).where(Delivery.tasking_id == tid)).all()
            )
        assert notes[:-1] == sorted(f"retry thread {i}" for i in range(N))
        assert notes[-1].startswith("same-etag thread ")
    finally:
        app.state.engine.dispose()
        engine.dispose()
        drop_database(url)
