"""Notifications: one row per event and recipient (the in-app bell reads these), and the
outbox row that carries each one to its recipient's mailbox.

Both are written in the transaction of the change they report (app/notifications/
outbox.py): a change that rolls back leaves no notification, and none commits without
its own. The worker (app/notifications/worker.py) only ever reads committed rows."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, enum_column, utcnow


class Kind(enum.StrEnum):
    """What happened. The post hears of its own taskings; the desk of its demarches."""

    NEW_TASKING = "new_tasking"
    AMENDED = "amended"
    INSISTED = "insisted"
    WAIVED = "waived"
    CANCELLED = "cancelled"
    EXTENDED = "extended"
    REPLY_MATCHED = "reply_matched"
    RESPONSE_REPORTED = "response_reported"
    # Time-based: written by the worker's checks, at most once per tasking, kind and day.
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    UNACKNOWLEDGED = "unacknowledged"
    # The desk's "Remind post" on the overdue board: at most once a day per tasking.
    REMINDED = "reminded"


class EmailState(enum.StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (next_attempt_at)
    SENT = "sent"
    DEAD = "dead"  # gave up after the last attempt; last_error says why


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The bell counts a user's unread rows, and the list pages through them newest
        # first: both from this index alone.
        Index("ix_notifications_user_read_id", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, "notification_kind"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    demarche_id: Mapped[int] = mapped_column(
        ForeignKey("demarches.id", ondelete="CASCADE"), index=True
    )
    tasking_id: Mapped[int | None] = mapped_column(ForeignKey("taskings.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # Reminders only: "<kind>:<tasking>:<day>:<user>", so however many workers run the
    # day's checks, and however often they restart, one reminder is written.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)

    email: Mapped[NotificationEmail | None] = relationship(back_populates="notification")


class NotificationEmail(Base):
    """The outbox: a notification on its way by email. The worker claims due rows
    (FOR UPDATE SKIP LOCKED on PostgreSQL), sends, and records what happened."""

    __tablename__ = "notification_emails"
    __table_args__ = (Index("ix_notification_emails_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), unique=True
    )
    # The address when the row was written: a later change of address does not redirect
    # a message already queued.
    address: Mapped[str] = mapped_column(String(254))
    state: Mapped[EmailState] = mapped_column(
        enum_column(EmailState, "email_state"), default=EmailState.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Deterministic (notification and recipient): a resend after a crash carries the
    # same Message-ID, which the receiving side recognises as the same message.
    message_id: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]

    notification: Mapped[Notification] = relationship(back_populates="email")
