"""The post's inbox query: what waits on a post, overdue first, a page at a time.

Its statements are built once per reader, with today and the urgent cut-off bound at
each call: these tests move the clock after the first call to check the order follows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.classification import Classification
from app.db import utcnow
from app.posts.models import Region
from app.settings import Settings
from app.taskings import inbox as inbox_module
from app.taskings.inbox import inbox
from app.taskings.models import Tasking, TaskingStatus
from app.vocabulary import Precedence
from tests.factories import make_demarche, make_region_post, make_signin_user

TODAY = date.today()
SETTINGS = Settings()


@pytest.fixture
def officer(db: Session) -> User:
    make_region_post(db, "HANOI", Region.EAP)
    return make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.SECRET, "HANOI")


def _tasking(db: Session, subject: str, **set_: object) -> Tasking:
    desk = db.scalar(select(User).where(User.username == "desk")) or make_signin_user(db, "desk")
    hanoi = db.scalar(select(User).where(User.username == "hanoi"))
    assert hanoi is not None and hanoi.post is not None
    d = make_demarche(db, desk, [hanoi.post], subject=subject)
    t = db.scalar(select(Tasking).where(Tasking.demarche_id == d.id))
    assert t is not None
    for name, value in set_.items():
        setattr(t, name, value)
    db.flush()
    return t


def _subjects(db: Session, officer: User, **kw: object) -> list[str]:
    found = inbox(db, actor=officer, settings=kw.pop("settings", SETTINGS), page=1, per_page=10)
    return [t.demarche_subject for t in found.taskings]


def test_overdue_first_then_by_due_date_and_pages_clamp(db, officer):
    _tasking(db, "LATER", due_date=TODAY + timedelta(days=10))
    _tasking(db, "SOONER", due_date=TODAY + timedelta(days=3))
    _tasking(db, "LATE", due_date=TODAY - timedelta(days=2))
    _tasking(db, "DONE", status=TaskingStatus.REPORTED)  # no longer waiting on the post
    assert _subjects(db, officer) == ["LATE", "SOONER", "LATER"]
    last = inbox(db, actor=officer, settings=SETTINGS, page=99, per_page=2)
    assert (last.total, last.pages, last.page) == (3, 2, 2)
    assert [t.demarche_subject for t in last.taskings] == ["LATER"]


def test_the_order_follows_the_day_of_each_call(db, officer, monkeypatch):
    # Delivered tomorrow's one is never late; the pending one becomes late in four days.
    _tasking(db, "DELIVERED", due_date=TODAY + timedelta(days=1), status=TaskingStatus.DELIVERED)
    _tasking(db, "PENDING", due_date=TODAY + timedelta(days=3))
    assert _subjects(db, officer) == ["DELIVERED", "PENDING"]
    monkeypatch.setattr(inbox_module, "today_utc", lambda: TODAY + timedelta(days=4))
    assert _subjects(db, officer) == ["PENDING", "DELIVERED"]


def test_pressing_precedences_come_first_until_delivered(db, officer):
    """FLASH, NIACT IMMEDIATE and IMMEDIATE never wait behind routine work, however far
    off their due date: most pressing first, then the overdue, then by due date."""
    _tasking(db, "LATE ROUTINE", due_date=TODAY - timedelta(days=2))
    immediate = _tasking(db, "IMMEDIATE", due_date=TODAY + timedelta(days=20))
    immediate.demarche.precedence = Precedence.IMMEDIATE
    flash = _tasking(db, "FLASH", due_date=TODAY + timedelta(days=30))
    flash.demarche.precedence = Precedence.FLASH
    priority = _tasking(db, "PRIORITY", due_date=TODAY + timedelta(days=3))
    priority.demarche.precedence = Precedence.PRIORITY
    db.flush()
    assert _subjects(db, officer) == ["FLASH", "IMMEDIATE", "LATE ROUTINE", "PRIORITY"]
    flash.status = TaskingStatus.ACKNOWLEDGED  # acknowledged, still to deliver
    db.flush()
    assert _subjects(db, officer)[0] == "FLASH"
    flash.status = TaskingStatus.DELIVERED  # delivered: waits on the response like any other
    db.flush()
    assert _subjects(db, officer) == ["IMMEDIATE", "LATE ROUTINE", "PRIORITY", "FLASH"]


def test_an_unacknowledged_urgent_tasking_comes_first_once_its_window_passes(db, officer):
    old = _tasking(db, "OLD FLASH", due_date=TODAY + timedelta(days=30))
    old.demarche.precedence = Precedence.FLASH
    fresh = _tasking(db, "FRESH FLASH", due_date=TODAY + timedelta(days=3))
    fresh.demarche.precedence = Precedence.FLASH
    db.flush()
    assert _subjects(db, officer) == ["FRESH FLASH", "OLD FLASH"]  # both issued just now
    old.created_at = utcnow() - timedelta(hours=SETTINGS.urgent_ack_hours + 1)
    db.flush()
    assert _subjects(db, officer) == ["OLD FLASH", "FRESH FLASH"]
    old.status = TaskingStatus.ACKNOWLEDGED
    db.flush()
    assert _subjects(db, officer) == ["FRESH FLASH", "OLD FLASH"]
