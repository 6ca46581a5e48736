"""The post's inbox: the taskings waiting on a post, the pressing and the overdue first,
a page at a time; and the post's finished work, searchable.

It decides which taskings and in what order; what each shows is the tasking view of
app/taskings/reads.py, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Reader, own_post_only, visible_demarches
from app.db import today_utc
from app.demarches.models import Demarche, DemarcheStatus
from app.settings import Settings
from app.taskings import reads
from app.taskings.models import AWAITING_DELIVERY, Tasking, TaskingStatus
from app.taskings.overdue import overdue_on, urgent_cutoff
from app.taskings.schemas import TaskingOut
from app.vocabulary import PRESSING

# What a post still has to do something about (advised_against waits on the desk, shown too).
INBOX_STATES = (
    TaskingStatus.PENDING,
    TaskingStatus.ACKNOWLEDGED,
    TaskingStatus.DELIVERED,
    TaskingStatus.ADVISED_AGAINST,
)


@dataclass(frozen=True)
class InboxPage:
    taskings: list[TaskingOut]
    total: int
    page: int  # clamped to the pages there are
    pages: int


def inbox(
    session: Session, *, actor: User, settings: Settings, page: int, per_page: int
) -> InboxPage:
    """A page of the taskings waiting on the actor's post, overdue first."""
    count, listing = _statements(Reader.of(actor))
    total = session.scalar(count) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    params = {
        "today": today_utc(),
        "urgent_cutoff": urgent_cutoff(settings),
        "offset": (page - 1) * per_page,
        "limit": per_page,
    }
    ids = list(session.scalars(listing, params))
    return InboxPage(
        reads.read_listed(session, ids, actor=actor, settings=settings), total, page, pages
    )


@lru_cache(maxsize=1024)
def _statements(reader: Reader) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of ids, built once per kind of reader (a post officer's
    post is part of it): today, the urgent cut-off and the page are bound parameters, so
    a hot inbox skips building the policy's clauses and hashing them."""
    # Joined to its demarche, so the visibility rule reads the joined row directly.
    waiting = (
        select(Tasking.id)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .where(
            visible_demarches(reader),
            own_post_only(reader),
            Tasking.status.in_(INBOX_STATES),
            Demarche.status == DemarcheStatus.ISSUED,
        )
    )
    count = select(func.count()).select_from(waiting.subquery())
    overdue = overdue_on(bindparam("today"), bindparam("urgent_cutoff"), demarche_joined=True)
    page = (
        waiting.order_by(
            # FLASH, NIACT IMMEDIATE, IMMEDIATE before anything routine, whatever is due,
            # until delivered: what is pressing is the delivery.
            case(
                *(
                    (and_(Demarche.precedence == p, Tasking.status.in_(AWAITING_DELIVERY)), rank)
                    for rank, p in enumerate(PRESSING)
                ),
                else_=len(PRESSING),
            ),
            case((overdue, 0), else_=1),
            # Undated last on both databases (SQLite would put NULLs first).
            case((Tasking.due_date.is_(None), 1), else_=0),
            Tasking.due_date,
            Tasking.id,
        )
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    return count, page


# What a post is done with (or has handed to the desk): its record of finished work.
FINISHED_STATES = (
    TaskingStatus.REPORTED,
    TaskingStatus.CLOSED,
    TaskingStatus.UNABLE,
    TaskingStatus.WAIVED,
    TaskingStatus.CANCELLED,
)


def finished_work(
    session: Session,
    *,
    actor: User,
    settings: Settings,
    search: str = "",
    page: int,
    per_page: int,
) -> InboxPage:
    """A page of the actor's post's finished taskings, latest moved first; `search`
    narrows them to demarches whose subject holds it (any case)."""
    reader = Reader.of(actor)
    done = (
        select(Tasking.id)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .where(
            visible_demarches(reader),
            own_post_only(reader),
            Tasking.status.in_(FINISHED_STATES),
        )
    )
    if search.strip():
        # autoescape: a % or _ typed in the box is a character, not a wildcard.
        done = done.where(
            func.lower(Demarche.subject).contains(search.strip().lower(), autoescape=True)
        )
    total = session.scalar(select(func.count()).select_from(done.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    ids = list(
        session.scalars(
            done.order_by(Tasking.updated_at.desc(), Tasking.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return InboxPage(
        reads.read_listed(session, ids, actor=actor, settings=settings), total, page, pages
    )
