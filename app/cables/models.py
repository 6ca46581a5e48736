"""Cables as received: the raw text, kept whole, and the fields the parser read from it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, enum_column, utcnow
from app.vocabulary import Precedence


class CableKind(enum.StrEnum):
    INSTRUCTION = "instruction"
    REPORT = "report"
    OTHER = "other"


class Cable(Base):
    __tablename__ = "cables"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Canonical id, e.g. 07STATE166909; unique so ingesting twice finds the first copy.
    ref_id: Mapped[str] = mapped_column(String(40), unique=True)
    dtg: Mapped[datetime | None]
    precedence: Mapped[Precedence | None] = mapped_column(enum_column(Precedence, "precedence"))
    originator: Mapped[str | None] = mapped_column(String(120))
    # Free text on purpose: real markings carry caveats (CONFIDENTIAL//NOFORN).
    classification: Mapped[str | None] = mapped_column(String(80))
    captions: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[CableKind] = mapped_column(enum_column(CableKind, "cable_kind"))
    raw_text: Mapped[str] = mapped_column(Text)
    parsed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplyStatus(enum.StrEnum):
    UNMATCHED = "unmatched"  # cites no instruction we know: waits on the unmatched list
    MATCHED = "matched"  # tasking found; the suggested delivery and response await review
    CONFIRMED = "confirmed"  # a person confirmed it and it was logged on the tasking
    REJECTED = "rejected"  # a person said the match or the suggestion was wrong


class CableReply(Base):
    """A post's report cable matched (or not) to the tasking it answers.

    The suggestion never moves the workflow by itself: a post or desk officer
    confirms or corrects it, and only then is a delivery and response logged.
    """

    __tablename__ = "cable_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    cable_id: Mapped[int] = mapped_column(ForeignKey("cables.id", ondelete="CASCADE"), unique=True)
    status: Mapped[ReplyStatus] = mapped_column(
        enum_column(ReplyStatus, "reply_status"), index=True
    )
    demarche_id: Mapped[int | None] = mapped_column(
        ForeignKey("demarches.id", ondelete="SET NULL"), index=True
    )
    tasking_id: Mapped[int | None] = mapped_column(
        ForeignKey("taskings.id", ondelete="SET NULL"), index=True
    )
    # The prefilled delivery and response (DeliveryIn / ResponseIn shaped) and the
    # sentence that supports the suggested position.
    suggestion: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # why unmatched, or what a reviewer said
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
