"""A tasking is one target's piece of one demarche; deliveries and responses hang off it."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, enum_column, today_utc, utcnow
from app.vocabulary import TaskingRole

if TYPE_CHECKING:
    from app.demarches.models import Demarche
    from app.posts.models import Post


class TaskingStatus(enum.StrEnum):
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    DELIVERED = "delivered"
    REPORTED = "reported"
    CLOSED = "closed"
    UNABLE = "unable"
    ADVISED_AGAINST = "advised_against"
    WAIVED = "waived"
    CANCELLED = "cancelled"


# Overdue is derived, never stored: these states still owe the desk a delivery.
AWAITING_DELIVERY = frozenset({TaskingStatus.PENDING, TaskingStatus.ACKNOWLEDGED})


class DeliveryLevel(enum.StrEnum):
    HEAD_OF_STATE_OR_GOVERNMENT = "head_of_state_or_government"
    MINISTER = "minister"
    DEPUTY_MINISTER = "deputy_minister"
    SENIOR_OFFICIAL = "senior_official"
    WORKING_LEVEL = "working_level"


class DeliveryMethod(enum.StrEnum):
    MEETING = "meeting"
    CALL = "call"
    NON_PAPER = "non_paper"
    DIPLOMATIC_NOTE = "diplomatic_note"
    AIDE_MEMOIRE = "aide_memoire"
    LETTER = "letter"


class Position(enum.StrEnum):
    """The host government's position, from most to least favourable."""

    SUPPORTS = "supports"
    LEANS_SUPPORTIVE = "leans_supportive"
    NONCOMMITTAL = "noncommittal"
    LEANS_OPPOSED = "leans_opposed"
    OPPOSES = "opposes"
    DECLINED_TO_RESPOND = "declined_to_respond"


class Stance(enum.StrEnum):
    """What the host government said of one objective of the demarche."""

    AGREED = "agreed"
    DISAGREED = "disagreed"
    WOULD_NOT_SAY = "would_not_say"


class CommitmentStatus(enum.StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    BROKEN = "broken"
    DROPPED = "dropped"


def is_late(
    role: TaskingRole, status: TaskingStatus, due_date: date | None, today: date | None = None
) -> bool:
    """Past its due date and still not delivered (action taskings only). A function of
    the columns, so that a tasking read as plain rows is judged by the same rule; a page
    of them passes today once."""
    return (
        role == TaskingRole.ACTION
        and status in AWAITING_DELIVERY
        and due_date is not None
        and due_date < (today or today_utc())
    )


def days_late(
    role: TaskingRole, status: TaskingStatus, due_date: date | None, today: date | None = None
) -> int:
    today = today or today_utc()
    return (today - due_date).days if due_date and is_late(role, status, due_date, today) else 0


class Tasking(Base):
    __tablename__ = "taskings"
    __table_args__ = (
        UniqueConstraint("demarche_id", "post_id", "country"),
        # The post inbox and the overdue board read by post, status and due date.
        Index("ix_taskings_post_status_due", "post_id", "status", "due_date"),
        Index("ix_taskings_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demarche_id: Mapped[int] = mapped_column(ForeignKey("demarches.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    country: Mapped[str] = mapped_column(String(80))
    role: Mapped[TaskingRole] = mapped_column(enum_column(TaskingRole, "tasking_role"))
    due_date: Mapped[date | None]
    status: Mapped[TaskingStatus] = mapped_column(
        enum_column(TaskingStatus, "tasking_status"), default=TaskingStatus.PENDING
    )
    acknowledged_at: Mapped[datetime | None]
    planned_date: Mapped[date | None]  # when the post expects to deliver
    officer: Mapped[str | None] = mapped_column(String(120))  # who at post carries it
    # The reason given with the latest unable / advise against / reopen / cancel.
    reason: Mapped[str | None] = mapped_column(Text)
    # The demarche revision this post last acted on: newer means "changed since".
    seen_revision: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    demarche: Mapped[Demarche] = relationship()
    post: Mapped[Post] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="tasking", order_by="Delivery.id", cascade="all, delete-orphan"
    )
    responses: Mapped[list[Response]] = relationship(
        back_populates="tasking", order_by="Response.id", cascade="all, delete-orphan"
    )

    @property
    def is_late(self) -> bool:
        """Past its due date and still not delivered (action taskings only)."""
        return is_late(self.role, self.status, self.due_date)

    @classmethod
    def late_on(cls, today: date | ColumnElement[date]) -> ColumnElement[bool]:
        """is_late in SQL for a given day, a date or a bound parameter (which lets a
        statement built once serve every day)."""
        return and_(
            cls.role == TaskingRole.ACTION,
            cls.status.in_(AWAITING_DELIVERY),
            cls.due_date < today,
        )

    @property
    def days_late(self) -> int:
        return days_late(self.role, self.status, self.due_date)


class Delivery(Base):
    """One approach to the host government; a tasking may log several (several meetings)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    tasking_id: Mapped[int] = mapped_column(
        ForeignKey("taskings.id", ondelete="CASCADE"), index=True
    )
    # A date in the post's local sense: the day the meeting happened where it happened.
    delivered_on: Mapped[date]
    delivered_by: Mapped[str] = mapped_column(String(120))
    recipient_name: Mapped[str] = mapped_column(String(120))
    recipient_title: Mapped[str] = mapped_column(String(160), default="")
    recipient_office: Mapped[str] = mapped_column(String(160), default="")
    level: Mapped[DeliveryLevel] = mapped_column(enum_column(DeliveryLevel, "delivery_level"))
    method: Mapped[DeliveryMethod] = mapped_column(enum_column(DeliveryMethod, "delivery_method"))
    # Positions of the talking points delivered (1-based, as numbered on the demarche).
    points: Mapped[list[int]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tasking: Mapped[Tasking] = relationship(back_populates="deliveries")


class Response(Base):
    """What the host government said. Revisions keep the earlier text (see version)."""

    __tablename__ = "responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    tasking_id: Mapped[int] = mapped_column(
        ForeignKey("taskings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[Position] = mapped_column(enum_column(Position, "position"))
    summary: Mapped[str] = mapped_column(Text)
    follow_up_needed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    reporting_cable_ref: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    tasking: Mapped[Tasking] = relationship(back_populates="responses")
    commitments: Mapped[list[Commitment]] = relationship(
        back_populates="response", order_by="Commitment.id", cascade="all, delete-orphan"
    )
    revisions: Mapped[list[ResponseRevision]] = relationship(
        order_by="ResponseRevision.version", cascade="all, delete-orphan"
    )
    stances: Mapped[list[ObjectiveStance]] = relationship(
        order_by="ObjectiveStance.objective_position", cascade="all, delete-orphan"
    )


class ObjectiveStance(Base):
    """The government's answer to one objective, as the response reports it ("which point
    moved whom"). By the objective's position, as numbered on the demarche: an amendment
    rewrites the objectives' rows, never their numbering."""

    __tablename__ = "objective_stances"
    __table_args__ = (UniqueConstraint("response_id", "objective_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    objective_position: Mapped[int]
    stance: Mapped[Stance] = mapped_column(enum_column(Stance, "stance"))


class ResponseRevision(Base):
    """A response as it stood before a revision; the current text is on Response."""

    __tablename__ = "response_revisions"
    __table_args__ = (UniqueConstraint("response_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    version: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    revised_at: Mapped[datetime] = mapped_column(default=utcnow)
    revised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Commitment(Base):
    """Something the host government promised ("will speak at the December 19 session")."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    due_date: Mapped[date | None]
    status: Mapped[CommitmentStatus] = mapped_column(
        enum_column(CommitmentStatus, "commitment_status"), default=CommitmentStatus.OPEN
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=sql_text("1"))

    __mapper_args__ = {"version_id_col": version}

    response: Mapped[Response] = relationship(back_populates="commitments")


# Still waiting on someone: the post (pending, acknowledged, delivered) or the desk.
OPEN_STATUSES = frozenset(
    {
        TaskingStatus.PENDING,
        TaskingStatus.ACKNOWLEDGED,
        TaskingStatus.DELIVERED,
        TaskingStatus.REPORTED,
        TaskingStatus.ADVISED_AGAINST,
    }
)


# Nothing more will happen unless the desk reopens it.
FINISHED = frozenset(
    {TaskingStatus.CLOSED, TaskingStatus.UNABLE, TaskingStatus.WAIVED, TaskingStatus.CANCELLED}
)


class IdempotencyKey(Base):
    """A POST already answered: a retry with the same key gets the same answer, no new row."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    # Method and path the key was first used with: reuse on another request is refused.
    request: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
