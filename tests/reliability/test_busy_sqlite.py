"""A busy database: reads never fail on a token's last-used stamp, and what must wait
too long for a lock answers 503 with Retry-After, never 500 (issue 14, item 2).

On SQLite a read's transaction cannot take the write lock once another writer has
committed after it began ("database is locked", at once, whatever the busy timeout):
a read that stamped its token's first use failed so. The stamp is now written after
the request's own transaction, in a brief one of its own that gives way when the
database is busy (app/db.py, `write_briefly`).
"""

from __future__ import annotations

import time
from collections import Counter
from functools import partial

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, Role
from app.auth.service import issue_token
from app.classification import Classification
from app.db import is_busy
from app.deps import SessionDep
from app.taskings.models import Tasking
from tests.databases import BACKENDS
from tests.factories import make_post, make_user
from tests.reliability.live import live_app, race
from tests.taskings.api import API, delivery_body, etag_of, issue_demarche, tasking_id

READERS = 16
READS_EACH = 5
WRITERS = 2


def _world(app: FastAPI, engine: Engine, *, tokens: int) -> dict:
    """A post with an issued tasking, its officer, and `tokens` fresh tokens of theirs
    (none used yet: each one's first request is the one that stamps it)."""
    with Session(engine, expire_on_commit=False) as s:
        hanoi = make_post(s, "HANOI", country="Vietnam")
        _, desk = make_user(s, Role.DESK_OFFICER, Classification.SECRET)
        officer, officer_headers = make_user(s, Role.POST_OFFICER, Classification.SECRET, hanoi)
        fresh = [
            {"Authorization": f"Bearer {issue_token(s, user=officer, name=f't{i}').secret}"}
            for i in range(tokens)
        ]
        s.commit()
    with TestClient(app) as c:
        tid = tasking_id(issue_demarche(c, desk, [{"post": "HANOI"}]), "HANOI")
    return {"tid": tid, "officer": officer_headers, "fresh": fresh}


def _read_or_write(app, world: dict, i: int, go) -> list[int]:
    """Readers read with a fresh token each time; writers log deliveries meanwhile."""
    path = f"{API}/taskings/{world['tid']}"
    statuses = []
    with TestClient(app, raise_server_exceptions=False) as c:
        go()
        if i < READERS:
            for j in range(READS_EACH):
                statuses.append(c.get(path, headers=world["fresh"][i * READS_EACH + j]).status_code)
            return statuses
        for _ in range(READS_EACH):
            read = c.get(path, headers=world["officer"])
            statuses.append(read.status_code)
            if read.status_code != 200:
                continue
            statuses.append(
                c.post(
                    f"{path}/deliveries",
                    json=delivery_body(),
                    headers={**world["officer"], "If-Match": read.headers["etag"]},
                ).status_code
            )
    return statuses


def test_many_readers_with_fresh_tokens_beside_writers_are_all_answered(tmp_path):
    with live_app("sqlite", tmp_path) as (app, engine):
        world = _world(app, engine, tokens=READERS * READS_EACH)
        answers = race(READERS + WRITERS, partial(_read_or_write, app, world))
        reads = Counter(s for a in answers[:READERS] for s in a)
        writes = Counter(s for a in answers[READERS:] for s in a)
        assert reads == {200: READERS * READS_EACH}, reads
        # Writers that lost the race on the tasking's version are told so; none fails.
        assert set(writes) <= {200, 201, 412}, writes
        assert writes[200] == WRITERS * READS_EACH and writes[201] >= 1, writes


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_token_used_for_the_first_time_is_stamped(backend, tmp_path):
    with live_app(backend, tmp_path) as (app, engine):
        world = _world(app, engine, tokens=1)
        with TestClient(app) as c:
            assert c.get(f"{API}/taskings/{world['tid']}", headers=world["fresh"][0]).is_success
        with engine.connect() as conn:
            stamps = conn.scalars(select(ApiToken.last_used_at).where(ApiToken.name == "t0"))
            (stamp,) = list(stamps)
        assert stamp is not None


def _hold_write_lock(engine: Engine):
    """Another process's long write on SQLite: a connection holding the write lock."""
    conn = engine.connect().execution_options(sqlite_immediate=True)
    conn.begin()  # BEGIN IMMEDIATE (app/db.py)
    return conn


def _hold(engine: Engine, backend: str, tid: int):
    """SQLite's write lock, or the tasking's row on PostgreSQL, held by a connection."""
    if backend == "sqlite":
        return _hold_write_lock(engine)
    conn = engine.connect()
    conn.execute(select(Tasking.id).where(Tasking.id == tid).with_for_update())
    return conn


def test_a_read_while_the_database_is_locked_is_answered_at_once(tmp_path):
    """The stamp gives way: the read neither waits for the lock nor fails on it."""
    with live_app("sqlite", tmp_path, database_busy_timeout=3) as (app, engine):
        world = _world(app, engine, tokens=1)
        holder = _hold_write_lock(engine)
        try:
            with TestClient(app, raise_server_exceptions=False) as c:
                started = time.monotonic()
                r = c.get(f"{API}/taskings/{world['tid']}", headers=world["fresh"][0])
                took = time.monotonic() - started
        finally:
            holder.rollback()
            holder.close()
        assert r.status_code == 200, r.text
        assert took < 2, took


def test_a_write_that_cannot_get_the_lock_in_time_answers_503(tmp_path):
    with live_app("sqlite", tmp_path, database_busy_timeout=0.3) as (app, engine):
        world = _world(app, engine, tokens=0)
        path = f"{API}/taskings/{world['tid']}"
        with TestClient(app, raise_server_exceptions=False) as c:
            tag = etag_of(c, world["tid"], world["officer"])
            holder = _hold_write_lock(engine)
            try:
                r = c.post(
                    f"{path}/deliveries",
                    json=delivery_body(),
                    headers={**world["officer"], "If-Match": tag},
                )
            finally:
                holder.rollback()
                holder.close()
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["retry-after"]) >= 1
            body = r.json()
            assert body["status"] == 503 and "busy" in body["detail"]
            assert "locked" not in r.text and "SELECT" not in r.text  # nothing of the driver's
            # Nothing was half-done: the same write, retried, lands.
            again = c.post(
                f"{path}/deliveries",
                json=delivery_body(),
                headers={**world["officer"], "If-Match": tag},
            )
            assert again.status_code == 201, again.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lock_the_database_refuses_is_a_503(backend, tmp_path):
    """The database's own refusals under load (a lock not granted in time; on
    PostgreSQL also a serialization failure or a deadlock) are 503 with Retry-After,
    raised here by the database itself: a row another connection holds, asked for
    without waiting."""
    with live_app(backend, tmp_path, database_busy_timeout=0.2) as (app, engine):
        world = _world(app, engine, tokens=0)

        def lock_the_tasking(session: SessionDep) -> dict[str, str]:
            # On SQLite the write session's BEGIN IMMEDIATE is what cannot get its lock.
            nowait = "" if backend == "sqlite" else " FOR UPDATE NOWAIT"
            stmt = text(f"SELECT id FROM taskings WHERE id = :id{nowait}")
            session.execute(stmt, {"id": world["tid"]})
            return {"status": "locked"}

        app.add_api_route("/api/v1/test-lock", lock_the_tasking, methods=["POST"])
        holder = _hold(engine, backend, world["tid"])
        try:
            with TestClient(app, raise_server_exceptions=False) as c:
                r = c.post("/api/v1/test-lock")
        finally:
            holder.rollback()
            holder.close()
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"]
        assert r.json()["type"] == "/problems/busy"


@pytest.mark.parametrize("backend", BACKENDS)
def test_is_busy_knows_the_databases_own_lock_errors(backend, tmp_path):
    with live_app(backend, tmp_path, database_busy_timeout=0.1) as (app, engine):
        world = _world(app, engine, tokens=0)
        holder = _hold(engine, backend, world["tid"])
        other = app.state.engine.connect()
        try:
            with pytest.raises(Exception) as caught:
                if backend == "sqlite":
                    other.execution_options(sqlite_immediate=True).begin()
                else:
                    other.exec_driver_sql(
                        f"SELECT id FROM taskings WHERE id = {world['tid']} FOR UPDATE NOWAIT"
                    )
            assert is_busy(caught.value)
            other.rollback()
            # Not every database error is "busy": a missing table is a bug, a 500.
            with pytest.raises(Exception) as missing:
                other.exec_driver_sql("SELECT * FROM no_such_table")
            assert not is_busy(missing.value)
        finally:
            holder.rollback()
            holder.close()
            other.close()


def test_the_busy_timeout_is_the_setting(tmp_path):
    with (
        live_app("sqlite", tmp_path, database_busy_timeout=1.5) as (app, _engine),
        app.state.engine.connect() as conn,
    ):
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
