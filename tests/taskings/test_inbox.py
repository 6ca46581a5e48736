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
from tests.pages import _seed

TODAY = date.today()
SETTINGS = Settings()


@pytest.fixture
def officer(db: Session) -> User:
    _seed.post(db, "HANOI", Region.EAP)
    return _seed.user(db, "hanoi", Role.POST_OFFICER, Classification.SECRET, "HANOI")


def _tasking(db: Session, subject: str, **set_: object) -> Tasking:
    desk = db.scalar(select(User).where(User.username == "desk")) or _seed.user(db, "desk")
    hanoi = db.scalar(select(User).where(User.username == "hanoi"))
    assert hanoi is not None and hanoi.post is not None
    d = _seed.demarche(db, desk, [hanoi.post], subject=subject)
    t = db.scalar(select(Tasking).where(Tasking.demarche_id == d.id))
    assert t is not None
    for name, value in set_.items():
        setattr(t, name, value)
    db.flush()
    return t


def _subjects(db: Session, officer: User, **kw: object) -> list[str]:
    found = inbox(db, actor=officer, settings=kw.pop("settings", SETTINGS), page=1, per_page=10)
    return [t.demarche.subject for t in found.taskings]


def test_overdue_first_then_by_due_date_and_pages_clamp(db, officer):
    _tasking(db, "LATER", due_date=TODAY + timedelta(days=10))
    _tasking(db, "SOONER", due_date=TODAY + timedelta(days=3))
    _tasking(db, "LATE", due_date=TODAY - timedelta(days=2))
    _tasking(db, "DONE", status=TaskingStatus.REPORTED)  # no longer waiting on the post
    assert _subjects(db, officer) == ["LATE", "SOONER", "LATER"]
    last = inbox(db, actor=officer, settings=SETTINGS, page=99, per_page=2)
    assert (last.total, last.pages, last.page) == (3, 2, 2)
    assert [t.demarche.subject for t in last.taskings] == ["LATER"]


def test_the_order_follows_the_day_of_each_call(db, officer, monkeypatch):
    # Delivered tomorrow's one is never late; the pending one becomes late in four days.
    _tasking(db, "DELIVERED", due_date=TODAY + timedelta(days=1), status=TaskingStatus.DELIVERED)
    _tasking(db, "PENDING", due_date=TODAY + timedelta(days=3))
    assert _subjects(db, officer) == ["DELIVERED", "PENDING"]
    monkeypatch.setattr(inbox_module, "today_utc", lambda: TODAY + timedelta(days=4))
    assert _subjects(db, officer) == ["PENDING", "DELIVERED"]


def test_an_unacknowledged_urgent_tasking_comes_first_once_its_window_passes(db, officer):
    flash = _tasking(db, "FLASH", due_date=TODAY + timedelta(days=30))
    flash.demarche.precedence = Precedence.FLASH
    _tasking(db, "ROUTINE", due_date=TODAY + timedelta(days=3))
    db.flush()
    assert _subjects(db, officer) == ["ROUTINE", "FLASH"]  # issued just now
    flash.created_at = utcnow() - timedelta(hours=SETTINGS.urgent_ack_hours + 1)
    db.flush()
    assert _subjects(db, officer) == ["FLASH", "ROUTINE"]
    flash.status = TaskingStatus.ACKNOWLEDGED
    db.flush()
    assert _subjects(db, officer) == ["ROUTINE", "FLASH"]
