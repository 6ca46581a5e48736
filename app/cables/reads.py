"""The one reader of cables and replies: the API, the pages and the CLI load them here.

Every read goes through the policy's visibility filters, so a cable above the
reader, or another post's, answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import visible_cables, visible_replies
from app.classification import from_marking
from app.errors import NotFound
from app.pagination import decode_cursor, encode_cursor

from .models import Cable, CableKind, CableReply, ReplyStatus


def get_visible(session: Session, cable_id: int, *, actor: User) -> Cable:
    cable = session.scalar(select(Cable).where(Cable.id == cable_id, visible_cables(actor)))
    # Belt and braces: the Python reading of the marking must agree with the SQL one.
    if cable is None or from_marking(cable.classification) > actor.clearance:
        raise NotFound(f"No cable {cable_id}.")
    return cable


def list_visible(
    session: Session,
    *,
    actor: User,
    kind: CableKind | None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[Cable], str | None]:
    """Newest first, keyset-paginated on id."""
    stmt = select(Cable).where(visible_cables(actor))
    if kind is not None:
        stmt = stmt.where(Cable.kind == kind)
    if cursor:
        (before,) = decode_cursor(cursor, int)
        stmt = stmt.where(Cable.id < before)
    rows = list(session.scalars(stmt.order_by(Cable.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def reply_of(session: Session, cable: Cable) -> CableReply | None:
    """The reply filed for a report cable (the caller has already seen the cable)."""
    return session.scalar(select(CableReply).where(CableReply.cable_id == cable.id))


def get_reply(session: Session, reply_id: int, *, actor: User) -> CableReply:
    reply = session.scalar(
        select(CableReply).where(CableReply.id == reply_id, visible_replies(actor))
    )
    if reply is None:
        raise NotFound(f"No cable reply {reply_id}.")
    return reply


def list_replies(
    session: Session,
    *,
    actor: User,
    status: ReplyStatus | None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[tuple[CableReply, Cable]], str | None]:
    """Replies with their cables, newest first, keyset-paginated on the reply id."""
    stmt = (
        select(CableReply, Cable)
        .join(Cable, Cable.id == CableReply.cable_id)
        .where(visible_replies(actor))
    )
    if status is not None:
        stmt = stmt.where(CableReply.status == status)
    if cursor:
        (before,) = decode_cursor(cursor, int)
        stmt = stmt.where(CableReply.id < before)
    rows = [
        (r, c) for r, c in session.execute(stmt.order_by(CableReply.id.desc()).limit(limit + 1))
    ]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
