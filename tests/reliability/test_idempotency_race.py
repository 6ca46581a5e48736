"""Sixteen copies of one request with one Idempotency-Key, released together: one
record is written, and every copy gets the first answer (issue 14, item 7).

A copy that arrives while the first is still in flight waits for it (the key is
claimed before anything else is checked, app/idempotency.py), then replays its
answer; it used to get a 412, as the first had moved the tasking's version on.
"""

from __future__ import annotations

from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app import idempotency
from app.auth.models import Role
from app.classification import Classification
from app.taskings.models import Delivery, IdempotencyKey, Response
from tests.databases import BACKENDS
from tests.factories import make_post, make_user
from tests.reliability.live import live_app, race
from tests.taskings.api import (
    API,
    delivery_body,
    etag_of,
    issue_demarche,
    response_body,
    tasking_id,
)

COPIES = 16
ROUNDS = 3


def _send(app, path: str, body: dict, headers: dict[str, str], _i: int, go):
    with TestClient(app, raise_server_exceptions=False) as c:
        go()
        r = c.post(path, json=body, headers=headers)
    return r.status_code, r.headers.get("idempotent-replayed"), r.json()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("route", ["deliveries", "responses"])
def test_concurrent_copies_of_one_key_all_get_the_first_answer(backend, route, tmp_path):
    with live_app(backend, tmp_path) as (app, engine):
        with Session(engine, expire_on_commit=False) as s:
            hanoi = make_post(s, "HANOI", country="Vietnam")
            _, desk = make_user(s, Role.DESK_OFFICER, Classification.SECRET)
            _, officer = make_user(s, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
        model = Delivery if route == "deliveries" else Response
        for round_ in range(ROUNDS):
            with TestClient(app) as c:
                tid = tasking_id(issue_demarche(c, desk, [{"post": "HANOI"}]), "HANOI")
                if route == "responses":  # a response needs a delivery first
                    delivered = c.post(
                        f"{API}/taskings/{tid}/deliveries",
                        json=delivery_body(),
                        headers={**officer, "If-Match": etag_of(c, tid, officer)},
                    )
                    assert delivered.status_code == 201, delivered.text
                tag = etag_of(c, tid, officer)
            body = delivery_body() if route == "deliveries" else response_body()
            headers = {**officer, "If-Match": tag, "Idempotency-Key": f"{route}-{round_}"}
            answers = race(
                COPIES, partial(_send, app, f"{API}/taskings/{tid}/{route}", body, headers)
            )
            statuses = [status for status, _, _ in answers]
            assert statuses == [201] * COPIES, statuses
            firsts = [a for a in answers if a[1] is None]
            assert len(firsts) == 1, [a[1] for a in answers]
            assert all(a[1] == "true" and a[2] == firsts[0][2] for a in answers if a[1]), answers
            with engine.connect() as conn:
                written = conn.scalar(select(func.count()).where(model.tasking_id == tid))
                keys = conn.execute(
                    select(IdempotencyKey.status_code, IdempotencyKey.body).where(
                        IdempotencyKey.key == f"{route}-{round_}"
                    )
                ).all()
            assert written == 1
            assert keys == [(201, firsts[0][2])]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_copy_that_waits_too_long_for_the_first_is_told_to_retry(backend, tmp_path, monkeypatch):
    """The first try of a key still in flight past the wait: the copy is refused with
    Retry-After and writes nothing (PostgreSQL: 409 in progress; SQLite: the write lock
    itself is what it waits for, so 503 busy), and once the first has ended, in failure
    here, the same copy goes through."""
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT", 0.3)
    with live_app(backend, tmp_path, database_busy_timeout=0.3) as (app, engine):
        with Session(engine, expire_on_commit=False) as s:
            hanoi = make_post(s, "HANOI", country="Vietnam")
            _, desk = make_user(s, Role.DESK_OFFICER, Classification.SECRET)
            user, officer = make_user(s, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
        with TestClient(app, raise_server_exceptions=False) as c:
            tid = tasking_id(issue_demarche(c, desk, [{"post": "HANOI"}]), "HANOI")
            headers = {**officer, "If-Match": etag_of(c, tid, officer), "Idempotency-Key": "k1"}
            path = f"{API}/taskings/{tid}/deliveries"
            # The first try, in flight in another connection: it has claimed the key.
            first = engine.connect().execution_options(sqlite_immediate=True)
            first.begin()
            first.execute(
                insert(IdempotencyKey).values(
                    user_id=user.id, key="k1", request=f"POST {path}", status_code=0, body={}
                )
            )
            try:
                copy = c.post(path, json=delivery_body(), headers=headers)
            finally:
                first.rollback()
                first.close()
            expected = (
                (503, "/problems/busy") if backend == "sqlite" else (409, "/problems/in-progress")
            )
            assert (copy.status_code, copy.json()["type"]) == expected, copy.text
            assert copy.headers["retry-after"] == "1"
            with engine.connect() as conn:
                assert conn.scalar(select(func.count()).select_from(Delivery)) == 0
            again = c.post(path, json=delivery_body(), headers=headers)
            assert again.status_code == 201, again.text
            assert "idempotent-replayed" not in again.headers
