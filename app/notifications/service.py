"""Marking notifications read: a reader marks only their own (another's, or one about a
demarche they may no longer see, is not found). The caller commits."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import visible_demarches
from app.db import utcnow
from app.demarches.models import Demarche
from app.errors import NotFound
from app.notifications.models import Notification


def _visible(actor: User) -> ColumnElement[bool]:
    return exists(
        select(Demarche.id).where(Demarche.id == Notification.demarche_id, visible_demarches(actor))
    )


def mark_read(session: Session, notification_id: int, *, actor: User) -> Notification:
    found = session.scalar(
        select(Notification).where(
            Notification.id == notification_id,
            Notification.user_id == actor.id,
            _visible(actor),
        )
    )
    if found is None:
        raise NotFound(f"There is no notification {notification_id} of yours.")
    if found.read_at is None:
        found.read_at = utcnow()
        session.flush()
    return found


def mark_all_read(session: Session, *, actor: User) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
