"""Each user's calendar feed (RFC 5545): deadlines, key dates and commitment due dates.

Calendar clients subscribe by address and send no token, so the feed is opened by a
secret in its address (models.CalendarFeed keeps only its digest) and read as its
owner: through the same visibility filters and withholding rule as their pages. A
calendar is shown on phones and shared screens, so the feed carries nothing above
UNCLASSIFIED: a classified demarche appears as "Demarche 123 (CONFIDENTIAL)", and a key
date or commitment's own words only when it and its demarche are unclassified.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.passwords import token_digest
from app.auth.policy import own_post_only, visible_demarches, withhold
from app.classification import Classification
from app.dashboards.models import CalendarFeed
from app.db import today_utc
from app.demarches.models import Demarche, DemarcheStatus, KeyDate
from app.taskings.models import (
    AWAITING_DELIVERY,
    Commitment,
    CommitmentStatus,
    Response,
    Tasking,
)
from app.vocabulary import TaskingRole

# How far back a feed reaches: a calendar keeps what is past, but not years of it.
LOOKBACK = timedelta(days=60)
MAX_EVENTS = 2000
UNCLASSIFIED = Classification.UNCLASSIFIED


def owner(session: Session, secret: str) -> User | None:
    """The active user whose feed this secret opens, or None (the caller answers 404)."""
    user = session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(CalendarFeed.secret_digest == token_digest(secret))
    )
    return user if user is not None and user.active else None


def has_feed(session: Session, user: User) -> bool:
    return (
        session.scalar(select(CalendarFeed.id).where(CalendarFeed.user_id == user.id)) is not None
    )


def label(demarche_id: int, subject: str, classification: Classification) -> str:
    """A demarche as a calendar may name it."""
    if classification == UNCLASSIFIED:
        return subject
    return f"Demarche {demarche_id} ({classification.value})"


def _event(uid: str, on: date | None, summary: str, description: str, stamp: datetime) -> Event:
    assert on is not None, "the statements keep dated rows only (>= since)"
    e = Event()
    e.add("uid", f"{uid}@demarche-tracker")
    e.add("dtstamp", stamp)
    e.add("dtstart", on)
    e.add("dtend", on + timedelta(days=1))
    e.add("summary", summary)
    e.add("description", description)
    e.add("transp", "TRANSPARENT")
    return e


def feed(session: Session, user: User) -> bytes:
    """The user's feed as iCalendar text."""
    since = today_utc() - LOOKBACK
    stamp = datetime.now(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", "-//Demarche Tracker//results//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Demarche deadlines")
    events: list[Event] = []
    issued = (Demarche.status == DemarcheStatus.ISSUED, visible_demarches(user))

    # A post's officer: its own taskings' due dates; everyone else: the deadlines.
    if user.post_id is not None:
        for tid, due, did, subject, level in session.execute(
            select(
                Tasking.id, Tasking.due_date, Demarche.id, Demarche.subject, Demarche.classification
            )
            .join(Demarche, Demarche.id == Tasking.demarche_id)
            .where(
                *issued,
                own_post_only(user),
                Tasking.role == TaskingRole.ACTION,
                Tasking.status.in_(AWAITING_DELIVERY),
                Tasking.due_date >= since,
            )
            .order_by(Tasking.due_date)
            .limit(MAX_EVENTS)
        ):
            name = label(did, subject, level)
            events.append(
                _event(f"tasking-{tid}", due, f"Deliver: {name}", f"Demarche {did}", stamp)
            )
    else:
        for did, deadline, subject, level in session.execute(
            select(Demarche.id, Demarche.deadline, Demarche.subject, Demarche.classification)
            .where(*issued, Demarche.deadline >= since)
            .order_by(Demarche.deadline)
            .limit(MAX_EVENTS)
        ):
            name = label(did, subject, level)
            events.append(
                _event(f"deadline-{did}", deadline, f"Deadline: {name}", f"Demarche {did}", stamp)
            )

    key_dates = session.execute(
        select(
            KeyDate.id,
            KeyDate.on,
            KeyDate.what,
            KeyDate.classification,
            Demarche.id,
            Demarche.subject,
            Demarche.classification.label("level"),
        )
        .join(Demarche, Demarche.id == KeyDate.demarche_id)
        .where(*issued, KeyDate.on >= since)
        .order_by(KeyDate.on)
        .limit(MAX_EVENTS)
    ).all()
    # A key date above the reader's clearance is withheld whole, its day too.
    readable, _ = withhold(user, key_dates, lambda k: k.classification)
    for kid, on, what, mark, did, subject, level in readable:
        name = label(did, subject, level)
        words = what if mark == UNCLASSIFIED and level == UNCLASSIFIED else "Key date"
        events.append(_event(f"keydate-{kid}", on, f"{words}: {name}", f"Demarche {did}", stamp))

    for cid, due, text, did, subject, level in session.execute(
        select(
            Commitment.id,
            Commitment.due_date,
            Commitment.text,
            Demarche.id,
            Demarche.subject,
            Demarche.classification,
        )
        .join(Response, Response.id == Commitment.response_id)
        .join(Tasking, Tasking.id == Response.tasking_id)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .where(
            *issued,
            own_post_only(user),
            Commitment.status == CommitmentStatus.OPEN,
            Commitment.due_date >= since,
        )
        .order_by(Commitment.due_date)
        .limit(MAX_EVENTS)
    ):
        name = label(did, subject, level)
        words = text[:120] if level == UNCLASSIFIED else "Commitment due"
        events.append(
            _event(f"commitment-{cid}", due, f"{words}: {name}", f"Demarche {did}", stamp)
        )

    for e in events:
        cal.add_component(e)
    return cal.to_ical()
