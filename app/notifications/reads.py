"""The reader's notifications, through the policy: a notification names a demarche, and
only demarches the reader may see now (their clearance may have changed since) are
listed. The bell's count is one indexed count of the reader's own unread rows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import visible_demarches
from app.demarches.models import Demarche
from app.notifications.mailer import WHAT
from app.notifications.models import Notification
from app.notifications.schemas import NotificationOut
from app.pagination import decode_cursor, encode_cursor
from app.taskings.models import Tasking


def unread_count(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_for(
    session: Session,
    actor: User,
    *,
    unread_only: bool = False,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[NotificationOut], str | None]:
    """The reader's notifications, newest first (keyset on id)."""
    statement = (
        select(Notification, Demarche, Tasking.due_date)
        .join(Demarche, Demarche.id == Notification.demarche_id)
        .outerjoin(Tasking, Tasking.id == Notification.tasking_id)
        .where(Notification.user_id == actor.id, visible_demarches(actor))
        .order_by(Notification.id.desc())
        .limit(limit + 1)
    )
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    if cursor:
        (after,) = decode_cursor(cursor, int)
        statement = statement.where(Notification.id < after)
    rows = session.execute(statement).all()
    items = [
        NotificationOut(
            id=n.id,
            kind=n.kind,
            what=WHAT[n.kind],
            demarche_id=d.id,
            tasking_id=n.tasking_id,
            subject=d.subject,
            classification=d.classification,
            precedence=d.precedence,
            due_date=due if n.tasking_id is not None else d.deadline,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n, d, due in rows[:limit]
    ]
    more = len(rows) > limit
    return items, encode_cursor(items[-1].id) if more and items else None
