"""Marking notifications read: a reader marks only their own (another's, or one about a
demarche they may no longer see, is not found). The caller commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Permission, require, visible_demarches, visible_taskings
from app.db import today_utc, utcnow
from app.demarches.models import Demarche, DemarcheStatus
from app.errors import NotFound
from app.notifications.models import Kind, Notification
from app.notifications.outbox import post_officers, remind
from app.posts.models import Post
from app.taskings.models import Tasking
from app.taskings.workflow import audit_tasking


def _visible(actor: User) -> ColumnElement[bool]:
    return exists(
        select(Demarche.id).where(Demarche.id == Notification.demarche_id, visible_demarches(actor))
    )


def remind_post(
    session: Session, post_code: str, *, actor: User, today: date | None = None
) -> tuple[int, int]:
    """The desk's "Remind post": each of the post's overdue taskings the desk may see
    is reminded to the post's officers, at most once a day per tasking (a second press
    that day sends nothing), each reminder audited. (reminded, already reminded today)."""
    require(actor, Permission.MANAGE_TASKINGS, route="remind post")
    today = today or today_utc()
    late = session.scalars(
        select(Tasking)
        .join(Post, Post.id == Tasking.post_id)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .where(
            Post.code == post_code,
            Demarche.status == DemarcheStatus.ISSUED,
            Tasking.late_on(today),
            visible_taskings(actor),
        )
        .order_by(Tasking.id)
    ).all()
    reminded = skipped = 0
    for tasking in late:
        officers = post_officers(session, tasking.post_id, tasking.demarche.classification)
        if not officers:
            continue
        if remind(session, Kind.REMINDED, tasking, officers, day=today):
            reminded += 1
            audit_tasking(
                session,
                tasking,
                "remind",
                actor=actor,
                after={"reminded": [u.username for u in officers], "day": today},
            )
        else:
            skipped += 1
    return reminded, skipped


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
