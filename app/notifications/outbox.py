"""The outbox writers: the domain services call these in the transaction of the change
they report, so a notification commits with its change or not at all (they flush, never
commit). Recipients are decided here, once: the tasked post's active officers for the
post's events, the demarche's author (its desk officer) for the desk's; nobody hears of
a demarche classified above their clearance, who could not open it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.classification import Classification
from app.demarches.models import Demarche
from app.notifications.models import Kind, Notification, NotificationEmail
from app.settings import get_settings
from app.taskings.models import Tasking


def message_id(notification_id: int, user_id: int) -> str:
    """One Message-ID per notification and recipient: a resend is the same message."""
    return f"<notification-{notification_id}.user-{user_id}@{_domain()}>"


def thread_id(demarche_id: int) -> str:
    """The thread every message about one demarche answers (In-Reply-To, References)."""
    return f"<demarche-{demarche_id}@{_domain()}>"


def _domain() -> str:
    return get_settings().smtp_from.rpartition("@")[2] or "demarche.invalid"


def post_officers(session: Session, post_id: int, level: Classification) -> Sequence[User]:
    return session.scalars(
        select(User)
        .where(
            User.post_id == post_id,
            User.role == Role.POST_OFFICER,
            User.active.is_(True),
            User.clearance.in_(_cleared_for(level)),
        )
        .order_by(User.id)
    ).all()


def desk_officers(session: Session, demarche: Demarche) -> Sequence[User]:
    return session.scalars(
        select(User).where(
            User.id == demarche.author_id,
            User.active.is_(True),
            User.clearance.in_(_cleared_for(demarche.classification)),
        )
    ).all()


def _cleared_for(level: Classification) -> list[Classification]:
    return [c for c in Classification if c >= level]


def notify(
    session: Session,
    kind: Kind,
    demarche: Demarche,
    recipients: Iterable[User],
    *,
    tasking_id: int | None = None,
) -> list[Notification]:
    """A notification for each recipient, and its email when they have an address."""
    rows = [
        Notification(kind=kind, user_id=u.id, demarche_id=demarche.id, tasking_id=tasking_id)
        for u in recipients
    ]
    if not rows:
        return rows
    session.add_all(rows)
    session.flush()
    addresses = {u.id: u.email for u in recipients}
    emails = [
        NotificationEmail(
            notification_id=n.id,
            address=addresses[n.user_id],
            message_id=message_id(n.id, n.user_id),
        )
        for n in rows
        if addresses.get(n.user_id)
    ]
    session.add_all(emails)
    session.flush()
    return rows


def to_post(session: Session, kind: Kind, tasking: Tasking) -> list[Notification]:
    """Tell the tasked post's officers."""
    demarche = tasking.demarche
    recipients = post_officers(session, tasking.post_id, demarche.classification)
    return notify(session, kind, demarche, recipients, tasking_id=tasking.id)


def to_posts(session: Session, kind: Kind, taskings: Sequence[Tasking]) -> list[Notification]:
    """Tell each tasking's post officers: one query for every post's officers."""
    if not taskings:
        return []
    demarche = taskings[0].demarche
    officers = session.scalars(
        select(User)
        .where(
            User.post_id.in_({t.post_id for t in taskings}),
            User.role == Role.POST_OFFICER,
            User.active.is_(True),
            User.clearance.in_(_cleared_for(demarche.classification)),
        )
        .order_by(User.id)
    ).all()
    out: list[Notification] = []
    for t in taskings:
        mine = [u for u in officers if u.post_id == t.post_id]
        out += notify(session, kind, t.demarche, mine, tasking_id=t.id)
    return out


def to_desk(session: Session, kind: Kind, tasking: Tasking) -> list[Notification]:
    """Tell the demarche's desk officer."""
    demarche = tasking.demarche
    return notify(session, kind, demarche, desk_officers(session, demarche), tasking_id=tasking.id)


def remind(
    session: Session,
    kind: Kind,
    tasking: Tasking,
    recipients: Iterable[User],
    *,
    day: date,
) -> int:
    """A time-based reminder, at most one per tasking, kind, day and recipient, however
    many workers run the check: a unique key, inserted with ON CONFLICT DO NOTHING (on
    both databases), so a second writer's row simply is not written. How many were."""
    written = 0
    for user in recipients:
        key = f"{kind.value}:{tasking.id}:{day.isoformat()}:{user.id}"
        values = {
            "kind": kind,
            "user_id": user.id,
            "demarche_id": tasking.demarche_id,
            "tasking_id": tasking.id,
            "dedupe_key": key,
        }
        statement = _insert_once(session, values).returning(Notification.id)
        new_id = session.execute(statement).scalar()
        if new_id is None:
            continue
        written += 1
        if user.email:
            session.add(
                NotificationEmail(
                    notification_id=new_id,
                    address=user.email,
                    message_id=message_id(new_id, user.id),
                )
            )
    session.flush()
    return written


def _insert_once(session: Session, values: dict[str, object]) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return (
            postgresql.insert(Notification)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
    return (
        sqlite.insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
