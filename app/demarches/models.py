"""A demarche: the instruction itself, its objectives, points, key dates and targets."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.classification import Classification
from app.db import Base, enum_column, utcnow
from app.vocabulary import Precedence, TaskingRole

if TYPE_CHECKING:
    from app.posts.models import Post


_UNMARKED = Classification.SECRET.value


class DemarcheStatus(enum.StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PointUse(enum.StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"


class Demarche(Base):
    __tablename__ = "demarches"
    __table_args__ = (
        Index("ix_demarches_status_deadline", "status", "deadline"),
        # "Urgent and unacknowledged" selects FLASH / NIACT demarches: 5% of the table.
        Index("ix_demarches_precedence", "precedence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[Classification] = mapped_column(
        enum_column(Classification, "classification")
    )
    # Every portion carries its own mark (the summary, each objective, point and key
    # date); the demarche is never classified below the highest of them (rules.py).
    # A portion written without its mark reads as SECRET: a forgetful writer fails closed.
    summary_classification: Mapped[Classification] = mapped_column(
        enum_column(Classification, "summary_classification"), server_default=_UNMARKED
    )
    status: Mapped[DemarcheStatus] = mapped_column(
        enum_column(DemarcheStatus, "demarche_status"), default=DemarcheStatus.DRAFT
    )
    deadline: Mapped[date | None]
    # FLASH and NIACT IMMEDIATE instructions must be acknowledged at once.
    precedence: Mapped[Precedence] = mapped_column(
        enum_column(Precedence, "precedence"),
        default=Precedence.ROUTINE,
        server_default=Precedence.ROUTINE.value,
    )
    # Free text as instructions write it: "highest appropriate level", "Foreign Minister".
    delivery_level: Mapped[str | None] = mapped_column(String(200))
    source_cable_id: Mapped[int | None] = mapped_column(
        ForeignKey("cables.id", ondelete="SET NULL"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    issued_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # How many amendments since issue; posts compare it with what they last acted on.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default=sql_text("0"))
    # Optimistic locking: every write bumps it; a stale If-Match answers 412.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    objectives: Mapped[list[Objective]] = relationship(
        back_populates="demarche",
        order_by="Objective.position",
        cascade="all, delete-orphan",
    )
    talking_points: Mapped[list[TalkingPoint]] = relationship(
        back_populates="demarche",
        order_by="TalkingPoint.position",
        cascade="all, delete-orphan",
    )
    key_dates: Mapped[list[KeyDate]] = relationship(
        back_populates="demarche", order_by="KeyDate.on", cascade="all, delete-orphan"
    )
    targets: Mapped[list[DemarcheTarget]] = relationship(
        back_populates="demarche", cascade="all, delete-orphan", order_by="DemarcheTarget.id"
    )
    tag_rows: Mapped[list[DemarcheTag]] = relationship(
        back_populates="demarche", cascade="all, delete-orphan", order_by="DemarcheTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]

    def snapshot(self) -> dict[str, Any]:
        """The demarche as the audit trail and its revisions record it."""
        return {
            "subject": self.subject,
            "summary": self.summary,
            "summary_classification": self.summary_classification,
            "classification": self.classification,
            "status": self.status,
            "deadline": self.deadline,
            "delivery_level": self.delivery_level,
            "tags": self.tags,
            "objectives": [
                {"text": o.text, "classification": o.classification} for o in self.objectives
            ],
            "talking_points": [
                {"text": p.text, "classification": p.classification, "use": p.use}
                for p in self.talking_points
            ],
            "key_dates": [
                {"date": k.on, "what": k.what, "classification": k.classification}
                for k in self.key_dates
            ],
            "targets": [
                {"post": t.post.code, "country": t.country, "role": t.role, "due_date": t.due_date}
                for t in self.targets
            ],
        }


class DemarcheRevision(Base):
    """The demarche as it stood before amendment `number`: earlier text stays readable."""

    __tablename__ = "demarche_revisions"
    __table_args__ = (UniqueConstraint("demarche_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demarche_id: Mapped[int] = mapped_column(ForeignKey("demarches.id", ondelete="CASCADE"))
    # Revision 0 is the text as issued; amendment n stores revision n-1 and makes n.
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Objective(Base):
    __tablename__ = "objectives"
    __table_args__ = (UniqueConstraint("demarche_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demarche_id: Mapped[int] = mapped_column(ForeignKey("demarches.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    classification: Mapped[Classification] = mapped_column(
        enum_column(Classification, "classification"), server_default=_UNMARKED
    )

    demarche: Mapped[Demarche] = relationship(back_populates="objectives")


class TalkingPoint(Base):
    __tablename__ = "talking_points"
    __table_args__ = (UniqueConstraint("demarche_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demarche_id: Mapped[int] = mapped_column(ForeignKey("demarches.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    # Portion marking: a point can sit below the demarche's own level, never above it.
    classification: Mapped[Classification] = mapped_column(
        enum_column(Classification, "classification")
    )
    use: Mapped[PointUse] = mapped_column(enum_column(PointUse, "point_use"))

    demarche: Mapped[Demarche] = relationship(back_populates="talking_points")


class KeyDate(Base):
    __tablename__ = "key_dates"

    id: Mapped[int] = mapped_column(primary_key=True)
    demarche_id: Mapped[int] = mapped_column(
        ForeignKey("demarches.id", ondelete="CASCADE"), index=True
    )
    on: Mapped[date]
    what: Mapped[str] = mapped_column(String(300))
    classification: Mapped[Classification] = mapped_column(
        enum_column(Classification, "classification"), server_default=_UNMARKED
    )

    demarche: Mapped[Demarche] = relationship(back_populates="key_dates")


class DemarcheTarget(Base):
    """A post chosen to act on (or be informed of) a draft; issuing turns it into a Tasking."""

    __tablename__ = "demarche_targets"
    __table_args__ = (UniqueConstraint("demarche_id", "post_id", "country"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demarche_id: Mapped[int] = mapped_column(ForeignKey("demarches.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    # The host country delivered to; a post may cover several ("Suva (for Fiji, Nauru)").
    country: Mapped[str] = mapped_column(String(80))
    role: Mapped[TaskingRole] = mapped_column(enum_column(TaskingRole, "tasking_role"))
    due_date: Mapped[date | None]  # None: the demarche's deadline

    demarche: Mapped[Demarche] = relationship(back_populates="targets")
    post: Mapped[Post] = relationship(lazy="joined")


class DemarcheTag(Base):
    __tablename__ = "demarche_tags"

    demarche_id: Mapped[int] = mapped_column(
        ForeignKey("demarches.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)

    demarche: Mapped[Demarche] = relationship(back_populates="tag_rows")
