"""Cables as received: the raw text, kept whole, and the fields the parser read from it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, enum_column, utcnow
from app.vocabulary import Precedence


class CableKind(enum.StrEnum):
    INSTRUCTION = "instruction"
    REPORT = "report"
    OTHER = "other"


def copy_key(ref_id: str, post_id: int | None, classification: str | None) -> str:
    """Which copy of a reference number a cable is: its ref id, sending post and marking."""
    return f"{ref_id}|{post_id or 0}|{classification or ''}"


def _copy_key_default(context: Any) -> str:
    row = context.get_current_parameters()
    return copy_key(row["ref_id"], row.get("post_id"), row.get("classification"))


class Cable(Base):
    __tablename__ = "cables"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Canonical id, e.g. 07STATE166909. Not unique: reference numbers are guessable, and
    # an upload that repeats one the uploader may not see is stored as its own copy, so
    # that nothing answers whether the other exists (see copy_key).
    ref_id: Mapped[str] = mapped_column(String(40), index=True)
    # One copy per reference number, sending post and marking ("<ref_id>|<post_id or 0>|
    # <classification>"): whoever may file a copy may see every copy with its key, so a
    # concurrent upload of the same cable loses cleanly to one its uploader may read.
    copy_key: Mapped[str] = mapped_column(String(160), unique=True, default=_copy_key_default)
    dtg: Mapped[datetime | None]
    precedence: Mapped[Precedence | None] = mapped_column(enum_column(Precedence, "precedence"))
    # The FM line as written. Who sent the cable is post_id, never this text.
    originator: Mapped[str | None] = mapped_column(String(120))
    # The post that sent it, as recorded: a post officer's upload is their post's,
    # whatever its FM line says; the desk (or a bulk import) files for the post the
    # header names, and that is recorded as transcribed.
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    transcribed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # A post's upload whose FM (or DE) line names another post, or none: flagged for
    # the desk, never obeyed.
    sender_mismatch: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
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
