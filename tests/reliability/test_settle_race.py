"""Settling under concurrency: the last action taskings of a demarche finishing at the
same instant close it, on every round, on both databases.

Each move that may settle its demarche holds the demarche's row while it reads the
taskings (app/taskings/workflow.py, `apply`), so of two last finishers the second
sees the first's committed move; without it, on PostgreSQL, each saw the other's
tasking still open and the demarche stayed issued for ever (issue 14, item 1).
"""

from __future__ import annotations

from collections import Counter
from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, and_, exists, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheStatus
from app.taskings.models import FINISHED, Tasking
from app.vocabulary import TaskingRole
from tests.databases import BACKENDS
from tests.factories import make_post, make_user
from tests.reliability.live import live_app, race
from tests.taskings.api import API, etag_of, issue_demarche, tasking_id

ROUNDS = 10
POSTS = 4

_open_action = exists().where(
    and_(
        Tasking.demarche_id == Demarche.id,
        Tasking.role == TaskingRole.ACTION,
        Tasking.status.not_in(FINISHED),
    )
)


def unsettled(engine: Engine) -> list[tuple[int, str]]:
    """The invariant's breaches: an issued demarche with no open action tasking, or a
    closed one with an open action tasking."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Demarche.id, Demarche.status).where(
                ((Demarche.status == DemarcheStatus.ISSUED) & ~_open_action)
                | ((Demarche.status == DemarcheStatus.CLOSED) & _open_action)
            )
        ).all()
    return [(i, s.value) for i, s in rows]


def _finish(app, plan: list[tuple[str, dict[str, str]]], i: int, go) -> int:
    path, headers = plan[i]
    with TestClient(app, raise_server_exceptions=False) as c:
        go()
        r = c.post(path, json={"reason": "No access to the MFA this month."}, headers=headers)
    assert r.status_code == 200, r.text
    return r.status_code


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_last_taskings_finishing_together_close_the_demarche(backend, tmp_path):
    with live_app(backend, tmp_path) as (app, engine):
        with Session(engine, expire_on_commit=False) as s:
            codes = [f"RACE{i}" for i in range(POSTS)]
            posts = [make_post(s, code) for code in codes]
            _, desk = make_user(s, Role.DESK_OFFICER, Classification.SECRET)
            officers = [
                make_user(s, Role.POST_OFFICER, Classification.SECRET, post=p)[1] for p in posts
            ]
        seen: Counter[int] = Counter()
        for round_ in range(ROUNDS):
            with TestClient(app) as c:
                demarche = issue_demarche(c, desk, [{"post": code} for code in codes])
                tids = [tasking_id(demarche, code) for code in codes]
                tags = [etag_of(c, tid, desk) for tid in tids]
            # On odd rounds the desk cancels one tasking as the posts give up on theirs:
            # a desk's move and a post's finish the demarche together.
            moves = [
                (desk, "cancel") if round_ % 2 and i == 0 else (officers[i], "mark-unable")
                for i in range(POSTS)
            ]
            plan = [
                (f"{API}/taskings/{tid}/{move}", {**who, "If-Match": tag})
                for tid, tag, (who, move) in zip(tids, tags, moves, strict=True)
            ]
            seen.update(race(POSTS, partial(_finish, app, plan)))
            assert unsettled(engine) == [], f"round {round_}"
            with engine.connect() as conn:
                status = conn.scalar(select(Demarche.status).where(Demarche.id == demarche["id"]))
            assert status == DemarcheStatus.CLOSED, f"round {round_}"
        assert seen == {200: ROUNDS * POSTS}


def _amend_or_finish(app, desk, plan, amend: tuple[str, dict], i: int, go) -> int:
    if i:
        return _finish(app, plan, i, go)
    path, body = amend
    with TestClient(app, raise_server_exceptions=False) as c:
        go()
        r = c.post(path, json=body, headers=desk)
    assert r.status_code == 200, r.text
    return r.status_code


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_amendment_dropping_a_post_as_the_others_finish_closes_the_demarche(backend, tmp_path):
    """The amendment's own settling (app/demarches/amendments.py) races the posts' too:
    it withdraws the one tasking still open while the others finish theirs."""
    with live_app(backend, tmp_path) as (app, engine):
        with Session(engine, expire_on_commit=False) as s:
            codes = [f"RACE{i}" for i in range(POSTS)]
            posts = [make_post(s, code) for code in codes]
            _, desk = make_user(s, Role.DESK_OFFICER, Classification.SECRET)
            officers = [
                make_user(s, Role.POST_OFFICER, Classification.SECRET, post=p)[1] for p in posts
            ]
        for round_ in range(ROUNDS // 2):
            with TestClient(app) as c:
                demarche = issue_demarche(c, desk, [{"post": code} for code in codes])
                tids = [tasking_id(demarche, code) for code in codes]
                tags = [etag_of(c, tid, desk) for tid in tids]
                path = f"{API}/demarches/{demarche['id']}"
                etag = c.get(path, headers=desk).headers["etag"]
            plan = [
                (f"{API}/taskings/{tid}/mark-unable", {**who, "If-Match": tag})
                for tid, tag, who in zip(tids, tags, officers, strict=True)
            ]
            amend = (
                f"{path}/amend",
                {"reason": "RACE0 no longer needed.", "targets": [{"post": c} for c in codes[1:]]},
            )
            desk_amends = {**desk, "If-Match": etag}
            race(POSTS, partial(_amend_or_finish, app, desk_amends, plan, amend))
            assert unsettled(engine) == [], f"round {round_}"
            with engine.connect() as conn:
                status = conn.scalar(select(Demarche.status).where(Demarche.id == demarche["id"]))
            assert status == DemarcheStatus.CLOSED, f"round {round_}"


def _post(app, jobs: list[tuple[str, dict, dict]], i: int, go) -> int:
    path, body, headers = jobs[i]
    with TestClient(app, raise_server_exceptions=False) as c:
        go()
        return c.post(path, json=body, headers=headers).status_code


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_post_moving_as_an_amendment_drops_it_queue_and_never_deadlock(backend, tmp_path):
    """Both lock the demarche before writing the tasking, so whichever is second waits:
    the post's move lands first (and the amendment leaves its finished tasking be), or
    the amendment does (and the move, on a tasking withdrawn meanwhile, is a 412).
    Never a deadlock (a 503), and the demarche settles as its taskings say."""
    with live_app(backend, tmp_path) as (app, engine):
        with Session(engine, expire_on_commit=False) as s:
            posts = [make_post(s, code) for code in ("DROP0", "KEEP1")]
            _, desk = make_user(s, Role.DESK_OFFICER, Classification.SECRET)
            _, officer = make_user(s, Role.POST_OFFICER, Classification.SECRET, post=posts[0])
        seen: Counter[int] = Counter()
        for round_ in range(ROUNDS):
            with TestClient(app) as c:
                demarche = issue_demarche(c, desk, [{"post": "DROP0"}, {"post": "KEEP1"}])
                tid = tasking_id(demarche, "DROP0")
                tag = etag_of(c, tid, officer)
                path = f"{API}/demarches/{demarche['id']}"
                etag = c.get(path, headers=desk).headers["etag"]
            jobs = [
                (
                    f"{path}/amend",
                    {"reason": "DROP0 no longer needed.", "targets": [{"post": "KEEP1"}]},
                    {**desk, "If-Match": etag},
                ),
                (
                    f"{API}/taskings/{tid}/mark-unable",
                    {"reason": "No access to the MFA."},
                    {**officer, "If-Match": tag},
                ),
            ]
            amended, moved = race(2, partial(_post, app, jobs))
            assert amended == 200, f"round {round_}"
            assert moved in (200, 412), f"round {round_}: {moved}"
            seen[moved] += 1
            assert unsettled(engine) == [], f"round {round_}"
        assert sum(seen.values()) == ROUNDS
