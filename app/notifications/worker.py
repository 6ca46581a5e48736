"""The worker's two jobs: the time-based checks (reminders written once per tasking,
kind, day and recipient), and the delivery of queued email.

Delivery claims a batch of due rows with SELECT ... FOR UPDATE SKIP LOCKED on
PostgreSQL, so any number of workers run side by side and each row is in one worker's
hands at a time; the rows stay locked while they are sent and are marked in the same
transaction. A worker killed mid-batch rolls back: its rows are claimed again and sent
again with the same Message-ID (at-least-once, recognisably the same message). SQLite
has no row locks: run one worker there."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from app.auth.models import Role, User
from app.classification import Classification
from app.db import utcnow
from app.demarches.models import Demarche, DemarcheStatus
from app.notifications.mailer import Facts, Mailer, compose, facts_subject
from app.notifications.models import EmailState, Kind, Notification, NotificationEmail
from app.notifications.outbox import desk_officers, post_officers, remind, thread_id
from app.posts.models import Post
from app.settings import Settings
from app.taskings.models import AWAITING_DELIVERY, Tasking, TaskingStatus
from app.vocabulary import Precedence, TaskingRole

log = logging.getLogger("app.notifications")

URGENT = (Precedence.FLASH, Precedence.NIACT_IMMEDIATE)


# -- the checks ----------------------------------------------------------------------


def run_checks(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    """Write today's reminders; idempotent (a second run, here or in another worker,
    writes none). How many were written. The caller commits."""
    now = now or utcnow()
    today = now.date()
    written = 0
    awaiting = (
        select(Tasking)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .where(
            Demarche.status == DemarcheStatus.ISSUED,
            Tasking.role == TaskingRole.ACTION,
            Tasking.status.in_(AWAITING_DELIVERY),
        )
        .order_by(Tasking.id)
    )
    soon = today + timedelta(days=settings.due_soon_days)
    for t in session.scalars(awaiting.where(Tasking.due_date >= today, Tasking.due_date <= soon)):
        written += _remind_post(session, Kind.DUE_SOON, t, today)
    for t in session.scalars(awaiting.where(Tasking.late_on(today))):
        written += _remind_post(session, Kind.OVERDUE, t, today, desk_too=True)
    window = now - timedelta(hours=settings.urgent_ack_hours)
    unacknowledged = awaiting.where(
        Tasking.status == TaskingStatus.PENDING,
        Demarche.precedence.in_(URGENT),
        Tasking.created_at <= window,
    )
    for t in session.scalars(unacknowledged):
        written += _remind_post(session, Kind.UNACKNOWLEDGED, t, today, desk_too=True)
    return written


def _remind_post(
    session: Session, kind: Kind, tasking: Tasking, today: date, *, desk_too: bool = False
) -> int:
    demarche = tasking.demarche
    recipients = list(post_officers(session, tasking.post_id, demarche.classification))
    if desk_too:
        recipients += desk_officers(session, demarche)
    return remind(session, kind, tasking, recipients, day=today)


# -- delivery ------------------------------------------------------------------------


@dataclass
class Claimed:
    email: NotificationEmail
    facts: Facts


def claim(
    session: Session, *, limit: int, public_url: str, now: datetime | None = None
) -> list[Claimed]:
    """Due queued rows, locked for this transaction on PostgreSQL (others skip them)."""
    now = now or utcnow()
    statement = (
        select(NotificationEmail)
        .where(
            NotificationEmail.state == EmailState.QUEUED,
            NotificationEmail.next_attempt_at <= now,
        )
        .order_by(NotificationEmail.next_attempt_at, NotificationEmail.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    emails = session.scalars(statement).all()
    if not emails:
        return []
    facts = _facts(session, [e.notification_id for e in emails], public_url.rstrip("/"))
    return [Claimed(e, facts[e.notification_id]) for e in emails]


def _facts(session: Session, notification_ids: list[int], public_url: str) -> dict[int, Facts]:
    post = aliased(Post)
    rows = session.execute(
        select(
            Notification.id,
            Notification.kind,
            Notification.tasking_id,
            Demarche.id,
            Demarche.classification,
            Demarche.precedence,
            Demarche.deadline,
            Demarche.subject,
            Tasking.due_date,
            post.code,
            User.role,
        )
        .join(User, User.id == Notification.user_id)
        .join(Demarche, Demarche.id == Notification.demarche_id)
        .outerjoin(Tasking, Tasking.id == Notification.tasking_id)
        .outerjoin(post, post.id == Tasking.post_id)
        .where(Notification.id.in_(notification_ids))
    ).all()
    out = {}
    for nid, kind, tasking_id, did, level, precedence, deadline, subject, due, code, role in rows:
        # A post officer's page of a tasking is in their inbox; everyone else reads the
        # demarche's page.
        mine = role == Role.POST_OFFICER and tasking_id is not None
        link = f"{public_url}/inbox/{tasking_id}" if mine else f"{public_url}/demarches/{did}"
        out[nid] = Facts(
            kind=kind,
            demarche_id=did,
            classification=Classification(level),
            precedence=precedence,
            due_date=due if tasking_id is not None else deadline,
            post_code=code,
            subject=facts_subject(level, subject),
            link=link,
        )
    return out


def deliver(session: Session, settings: Settings, *, limit: int = 100) -> int:
    """Claim one batch and send it; the caller commits (which releases the claim). How
    many rows were claimed (0: nothing is due)."""
    claimed = claim(session, limit=limit, public_url=settings.public_url)
    if not claimed:
        return 0
    now = utcnow()
    try:
        mailer = Mailer(settings).__enter__()
    except Exception as exc:  # the server is down or refuses us: every row waits its turn
        for c in claimed:
            _failed(c.email, exc, settings, now)
        session.flush()
        return len(claimed)
    try:
        for c in claimed:
            msg = compose(
                c.facts,
                to=c.email.address,
                sender=settings.smtp_from,
                message_id=c.email.message_id,
                thread=thread_id(c.facts.demarche_id),
            )
            try:
                mailer.send(msg)
            except Exception as exc:  # a refusal of this message: retried later
                _failed(c.email, exc, settings, now)
                continue
            c.email.attempts += 1
            c.email.state = EmailState.SENT
            c.email.sent_at = now
            c.email.last_error = None
    finally:
        mailer.__exit__(None, None, None)
    session.flush()
    return len(claimed)


def _failed(
    email: NotificationEmail, exc: BaseException, settings: Settings, now: datetime
) -> None:
    email.attempts += 1
    email.last_error = f"{type(exc).__name__}: {exc}"[:1000]
    if email.attempts >= settings.email_max_attempts:
        email.state = EmailState.DEAD
        log.warning("email %s dead after %s attempts: %s", email.id, email.attempts, exc)
        return
    wait = settings.email_retry_seconds * 2 ** (email.attempts - 1)
    email.next_attempt_at = now + timedelta(seconds=wait)


def status(session: Session) -> dict[str, int]:
    """Queued (never tried), failing (queued after a failed attempt), dead and sent."""
    failing = (NotificationEmail.state == EmailState.QUEUED) & (NotificationEmail.attempts > 0)
    counts = dict.fromkeys(("queued", "failing", "dead", "sent"), 0)
    rows = session.execute(
        select(NotificationEmail.state, failing, func.count()).group_by(
            NotificationEmail.state, failing
        )
    ).all()
    for state, is_failing, n in rows:
        name = "failing" if is_failing else str(EmailState(state).value)
        counts[name] += n
    return counts


# -- the loop ------------------------------------------------------------------------


def run_once(factory: Callable[[], Session], settings: Settings, *, batch: int = 100) -> int:
    """Today's checks, then every due email, each batch its own transaction; how many
    emails were claimed. Email waits in the outbox while SMTP_HOST is unset."""
    with factory() as session:
        run_checks(session, settings)
        session.commit()
    claimed = 0
    if not settings.smtp_host:
        return claimed
    while True:
        with factory() as session:
            n = deliver(session, settings, limit=batch)
            session.commit()
        claimed += n
        if n < batch:
            return claimed


def run_forever(factory: Callable[[], Session], settings: Settings) -> None:
    while True:
        try:
            run_once(factory, settings)
        except SQLAlchemyError:  # the database is away: try again on the next round
            log.exception("worker round failed")
        time.sleep(settings.worker_poll_seconds)
