"""When something is late: the rules behind `overdue`, in Python and in SQL.

Overdue is derived, never stored. A tasking is overdue when it is late (past its due
date and still awaiting delivery: see `is_late` on the model) or when it is an urgent
(FLASH / NIACT IMMEDIATE) action tasking nobody acknowledged within the window. A
commitment is overdue when it is still open past its due date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, or_, select

from app.db import today_utc, utcnow
from app.demarches.models import Demarche, DemarcheStatus
from app.settings import Settings
from app.taskings.models import Commitment, CommitmentStatus, Tasking, TaskingStatus
from app.vocabulary import Precedence, TaskingRole

URGENT = (Precedence.FLASH, Precedence.NIACT_IMMEDIATE)


class DemarcheState(Protocol):
    """What the tasking rules read of a tasking's demarche."""

    @property
    def status(self) -> DemarcheStatus: ...
    @property
    def precedence(self) -> Precedence: ...
    @property
    def revision(self) -> int: ...


class TaskingState(Protocol):
    """What the tasking rules read of a tasking: an ORM Tasking, or one read as rows
    (app/taskings/reads.py), is judged by the same functions."""

    @property
    def post_id(self) -> int: ...
    @property
    def role(self) -> TaskingRole: ...
    @property
    def status(self) -> TaskingStatus: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def demarche(self) -> DemarcheState: ...


def urgent_cutoff(settings: Settings, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(hours=settings.urgent_ack_hours)


def is_unacknowledged_urgent(tasking: TaskingState, settings: Settings) -> bool:
    return (
        tasking.demarche.precedence in URGENT
        and tasking.demarche.status == DemarcheStatus.ISSUED
        and tasking.role == TaskingRole.ACTION
        and tasking.status == TaskingStatus.PENDING
        and tasking.created_at <= urgent_cutoff(settings)
    )


def overdue_clause(settings: Settings) -> ColumnElement[bool]:
    """SQL for 'overdue': late, or urgent and unacknowledged past the window."""
    return overdue_on(today_utc(), urgent_cutoff(settings))


def overdue_on(
    today: date | ColumnElement[date],
    cutoff: datetime | ColumnElement[datetime],
    *,
    demarche_joined: bool = False,
) -> ColumnElement[bool]:
    """overdue_clause() for a given day and urgent cut-off, which may be bound parameters
    (for a statement built once).

    demarche_joined: the query already joins the tasking's demarche (and keeps it to
    issued ones), so the urgent test reads its precedence directly instead of a subquery.
    """
    # Only action posts of demarches still open: an info post's old FLASH stays unread forever.
    urgent_demarche = (
        Demarche.precedence.in_(URGENT)
        if demarche_joined
        else Tasking.demarche_id.in_(
            select(Demarche.id).where(
                Demarche.precedence.in_(URGENT), Demarche.status == DemarcheStatus.ISSUED
            )
        )
    )
    urgent = and_(
        Tasking.status == TaskingStatus.PENDING,
        Tasking.role == TaskingRole.ACTION,
        Tasking.created_at <= cutoff,
        urgent_demarche,
    )
    return or_(Tasking.late_on(today), urgent)


def commitment_overdue(
    status: CommitmentStatus, due_date: date | None, today: date | None = None
) -> bool:
    """A promise still open past its due date."""
    return (
        status == CommitmentStatus.OPEN
        and due_date is not None
        and due_date < (today or today_utc())
    )


def commitment_overdue_on(today: date | ColumnElement[date]) -> ColumnElement[bool]:
    """commitment_overdue in SQL."""
    return and_(Commitment.status == CommitmentStatus.OPEN, Commitment.due_date < today)
