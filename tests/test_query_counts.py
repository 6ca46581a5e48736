"""The read endpoints send a fixed number of statements, whatever the number of rows.

Each endpoint is read at two sizes (3 and 30 taskings, demarches, deliveries,
responses and commitments); the statement count must be the same at both and stay
under a small bound. An N+1 (a query per row) fails the equality at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.service import open_session
from app.classification import Classification
from app.demarches.models import Demarche
from app.posts.models import Region
from app.taskings.models import Tasking
from tests.factories import (
    delivery_form,
    demarche_payload,
    login,
    make_demarche,
    make_post,
    make_region_post,
    make_signin_user,
    make_user,
    tasking_of,
    write,
)
from tests.querycount import count_queries

SMALL, LARGE = 3, 30
TODAY = date.today()


@dataclass
class World:
    desk: dict[str, str]
    demarche_id: int
    tasking_id: int
    desk_user: User


def build(client, db, n: int) -> World:
    """n posts on one issued demarche (n taskings, each delivered and reported with a
    commitment), and n more draft demarches for the lists."""
    tag = f"S{n}"
    posts = [make_post(db, f"Q{n}X{i:02d}") for i in range(n)]
    desk_user, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    r = client.post("/api/v1/demarches", json=demarche_payload(posts, tags=[tag]), headers=desk)
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    r = write(client, "POST", f"/api/v1/demarches/{did}/issue", desk)
    assert r.status_code == 200, r.text
    taskings = {t["post"]: t["id"] for t in r.json()["taskings"]}
    for post in posts:
        _, officer = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=post)
        tid = taskings[post.code]
        r = write(
            client,
            "POST",
            f"/api/v1/taskings/{tid}/deliveries",
            officer,
            etag_path=f"/api/v1/taskings/{tid}",
            json={
                "delivered_on": date.today().isoformat(),
                "delivered_by": "Pol officer",
                "recipient_name": "Director",
                "level": "senior_official",
                "method": "meeting",
                "points": [1],
            },
        )
        assert r.status_code == 201, r.text
        r = write(
            client,
            "POST",
            f"/api/v1/taskings/{tid}/responses",
            officer,
            etag_path=f"/api/v1/taskings/{tid}",
            json={
                "position": "supports",
                "summary": "Will vote yes.",
                "commitments": [{"text": "Will speak at the session.", "due_date": "2026-02-01"}],
            },
        )
        assert r.status_code == 201, r.text
    for i in range(n):
        body = demarche_payload(posts[i : i + 1], tags=[tag], subject=f"DRAFT {i}")
        assert client.post("/api/v1/demarches", json=body, headers=desk).status_code == 201
    return World(
        desk=desk, demarche_id=did, tasking_id=taskings[posts[0].code], desk_user=desk_user
    )


# Bounds as measured: the main query and one query per loaded child table
# (selectinload), never one per row. The bearer token costs none: the warm-up request
# left it in the worker's credential cache. A tasking joins its deliveries, responses
# and commitments into its one query.
ENDPOINTS = {
    "list demarches": (lambda w: "/api/v1/demarches?limit=100", 1),
    "one demarche": (lambda w: f"/api/v1/demarches/{w.demarche_id}", 8),
    "list taskings": (lambda w: f"/api/v1/taskings?demarche={w.demarche_id}&limit=100", 5),
    "one tasking": (lambda w: f"/api/v1/taskings/{w.tasking_id}", 1),
    "timeline": (lambda w: f"/api/v1/demarches/{w.demarche_id}/timeline", 7),
    "commitments": (lambda w: "/api/v1/commitments", 1),
}


def statements(client, db, world: World, path: str) -> int:
    client.get(path, headers=world.desk)  # warm: the hourly token "last used" write
    with count_queries(db) as q:
        r = client.get(path, headers=world.desk)
    assert r.status_code == 200, r.text
    return q.count


@pytest.fixture
def sizes(client, db):
    return {n: build(client, db, n) for n in (SMALL, LARGE)}


def test_statement_counts_do_not_grow_with_rows(client, db, sizes):
    seen = {}
    for name, (path_of, bound) in ENDPOINTS.items():
        small = statements(client, db, sizes[SMALL], path_of(sizes[SMALL]))
        large = statements(client, db, sizes[LARGE], path_of(sizes[LARGE]))
        seen[name] = (small, large)
        assert small == large, f"{name}: {small} statements at {SMALL} rows, {large} at {LARGE}"
        assert large <= bound, f"{name}: {large} statements, bound {bound}"
    # The larger world really is larger: each list answers every row.
    r = client.get(
        f"/api/v1/taskings?demarche={sizes[LARGE].demarche_id}&limit=100", headers=sizes[LARGE].desk
    )
    assert len(r.json()["items"]) == LARGE
    assert seen


# The desk's pages on the same worlds, signed in with a browser session. The demarche
# page: the demarche with its author and texts, the tally of its taskings, a page of
# them (each with its latest response and last event), the chart, a page of the
# timeline with its count, and the revisions. The amendment form: the demarche with its
# texts and targets, in one row. Every page adds the bell: one indexed count of the
# reader's unread notifications (app/notifications/reads.py).
BELL = 1
PAGES = {
    "demarche page": (lambda w: f"/demarches/{w.demarche_id}", 6 + BELL),
    "amendment page": (lambda w: f"/demarches/{w.demarche_id}/amend", 1 + BELL),
}


def test_page_statement_counts_do_not_grow_with_rows(client, db, sizes):
    for name, (path_of, bound) in PAGES.items():
        seen = []
        for n in (SMALL, LARGE):
            world = sizes[n]
            opened = open_session(db, user=world.desk_user)
            db.commit()
            client.cookies.set("dmt_session", opened.cookie)
            path = path_of(world)
            assert client.get(path).status_code == 200  # warm: the session is remembered
            db.expunge_all()
            with count_queries(db) as q:
                r = client.get(path)
            assert r.status_code == 200, r.text
            seen.append(q.count)
            client.cookies.clear()
        assert seen[0] == seen[1], (
            f"{name}: {seen[0]} statements at {SMALL} rows, {seen[1]} at {LARGE}"
        )
        assert seen[1] <= bound, f"{name}: {seen[1]} statements, bound {bound}\n{q}"
    # The larger page really shows every tasking, each with its response.
    opened = open_session(db, user=sizes[LARGE].desk_user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    page = client.get(f"/demarches/{sizes[LARGE].demarche_id}").text
    assert page.count('<td data-label="Response">supports</td>') == LARGE


# -- the pages, read at two sizes by a signed-in desk and post officer --------------


def _grow(db: Session, desk, n_posts: int, prefix: str):
    posts = [make_region_post(db, f"{prefix}{i:02d}", Region.AF) for i in range(n_posts)]
    past = TODAY - timedelta(days=30)
    make_demarche(db, desk, posts, subject=f"{prefix} OPEN")
    make_demarche(
        db,
        desk,
        posts,
        subject=f"{prefix} LATE",
        deadline=TODAY - timedelta(days=3),
        issued_on=past,
    )
    db.commit()
    return posts


def _counts(client, db, paths: list[str]) -> dict[str, int]:
    out = {}
    for path in paths:
        # A real request starts with an empty identity map; the test's session must too.
        db.expunge_all()
        with count_queries(db) as q:
            r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        out[path] = q.count
    return out


def test_query_counts_do_not_grow_with_rows(client, db, page_world):
    desk = page_world["desk"]
    small = _grow(db, desk, 3, "S")
    make_signin_user(db, "s00", Role.POST_OFFICER, Classification.SECRET, small[0].code)
    db.commit()
    csrf = login(client, "desk")
    assert csrf
    open_small = db.scalar(select(Demarche.id).where(Demarche.subject == "S OPEN"))
    pages = ["/", "/overdue", "/demarches/{}", "/demarches/new", "/demarches/{}/amend"]
    before = _counts(client, db, [p.format(open_small) for p in pages])

    big = _grow(db, desk, 30, "B")
    open_big = db.scalar(select(Demarche.id).where(Demarche.subject == "B OPEN"))
    after = _counts(client, db, [p.format(open_big) for p in pages])
    assert list(before.values()) == list(after.values()), (before, after)
    # The signed-in session costs nothing: the worker remembers it from the sign-in's
    # first page (app/auth/credentials.py). Then one query per table the page shows.
    # The demarche page reads the demarche with its author and texts in one row, tallies
    # its taskings, reads a page of them (each with its latest response and event), the
    # chart, a page of its timeline (with the count) and its revisions; the overdue
    # board reads the open demarches, their late taskings a cell each, then those posts.
    # The amendment form reads the demarche with its texts and targets in one row.
    assert list(before.values()) == [n + BELL for n in (6, 3, 6, 3, 1)], before

    # A post officer with many taskings in the inbox.
    make_signin_user(db, "b00", Role.POST_OFFICER, Classification.SECRET, big[0].code)
    db.commit()
    client.cookies.clear()
    login(client, "s00")
    inbox_small = _counts(client, db, ["/inbox"])["/inbox"]
    for i in range(28):
        make_demarche(db, desk, [small[0]], subject=f"MORE {i}", secret_point=False)
    db.commit()
    inbox_big = _counts(client, db, ["/inbox"])["/inbox"]
    assert inbox_small == inbox_big, (inbox_small, inbox_big)
    # Count, the page of taskings joined to their demarches, and their deliveries; the
    # officer's post comes with the signed-in session (app/auth/service.py). The talking
    # points the delivery form lists are on each tasking's own page.
    assert inbox_small == 3 + BELL


def test_tasking_page_query_count_is_fixed(client, db, page_world):
    """A tasking's page costs the same whatever its demarche's points and its deliveries."""
    few = tasking_of(db, page_world["demarche"], "HANOI")
    many = tasking_of(
        db,
        make_demarche(
            db, page_world["desk"], page_world["posts"][:1], subject="MANY", extra_points=20
        ),
        "HANOI",
    )
    db.commit()
    csrf = login(client, "hanoi")
    pages = [f"/inbox/{few.id}", f"/inbox/{many.id}"]
    # The tasking with its post, demarche, deliveries and responses joined, its history
    # (what the desk decided and why), then the demarche's sheet (its texts, the talking
    # points the delivery form lists among them), then the days a delivery may be dated.
    assert list(_counts(client, db, pages).values()) == [4 + BELL, 4 + BELL]
    for tasking_id, times in ((few.id, 1), (many.id, 6)):
        for _ in range(times):
            version = db.scalar(select(Tasking.version).where(Tasking.id == tasking_id))
            r = client.post(f"/inbox/{tasking_id}/deliver", data=delivery_form(csrf, version))
            assert r.status_code == 200, r.text[:500]
    # Delivered (once, and six times): another delivery may still be logged.
    assert list(_counts(client, db, pages).values()) == [4 + BELL, 4 + BELL]
