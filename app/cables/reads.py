"""The one reader of cables and replies: the API, the pages and the CLI load them here.

Every read goes through the policy's visibility filters, so a cable above the
reader, or another post's, answers 404 exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import visible_cables, visible_replies, visible_taskings
from app.classification import from_marking
from app.demarches.models import Demarche, DemarcheStatus
from app.errors import NotFound
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Post
from app.taskings.models import Tasking, TaskingStatus
from app.taskings.workflow import BY_ACTION, Action

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


def reply_of(session: Session, cable: Cable, *, actor: User | None) -> CableReply | None:
    """The reply filed for a report cable the caller has seen, if they may see it too (it
    names a demarche and a tasking); the command line (no actor) sees every one."""
    stmt = select(CableReply).where(CableReply.cable_id == cable.id)
    if actor is not None:
        stmt = stmt.where(visible_replies(actor))
    return session.scalar(stmt)


def sender_codes(session: Session, cables: Iterable[Cable]) -> dict[int, str]:
    """Post id -> code, for the recorded senders of these cables."""
    ids = {c.post_id for c in cables if c.post_id is not None}
    if not ids:
        return {}
    return {
        pid: code
        for pid, code in session.execute(select(Post.id, Post.code).where(Post.id.in_(ids)))
    }


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
    flagged: bool | None = None,
) -> tuple[list[tuple[CableReply, Cable]], str | None]:
    """Replies with their cables, newest first, keyset-paginated on the reply id;
    `flagged`: only those whose cable's header names another post than its sender."""
    stmt = (
        select(CableReply, Cable)
        .join(Cable, Cable.id == CableReply.cable_id)
        .where(visible_replies(actor))
    )
    if status is not None:
        stmt = stmt.where(CableReply.status == status)
    if flagged is not None:
        stmt = stmt.where(Cable.sender_mismatch.is_(flagged))
    if cursor:
        (before,) = decode_cursor(cursor, int)
        stmt = stmt.where(CableReply.id < before)
    rows = [
        (r, c) for r, c in session.execute(stmt.order_by(CableReply.id.desc()).limit(limit + 1))
    ]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def sender_notes(cable: Cable, sender_code: str | None) -> list[str]:
    """What a reader should know of who sent a cable: filed by the desk for a post
    (transcribed), or by a post whose cable names another sender in its header."""
    notes = []
    if cable.sender_mismatch:
        notes.append(
            f"Filed by {sender_code or 'a post'} as its own cable, but its header names "
            f"{cable.originator or 'no post'} as the sender: the desk should check it."
        )
    if cable.transcribed:
        notes.append(f"Filed by the desk for {sender_code or 'the sending post'} (transcribed).")
    return notes


class MatchCandidate(NamedTuple):
    """A tasking a reply could answer, as the desk picks it: by name, never by number."""

    tasking_id: int
    subject: str
    post_code: str
    country: str
    issued_at: datetime | None
    due_date: date | None
    status: TaskingStatus


# A reply is confirmed by logging its delivery: only a tasking that can take one answers.
_TAKES_A_DELIVERY = BY_ACTION[Action.DELIVER].sources
MATCH_CANDIDATES_MAX = 100


def match_candidates(
    session: Session, reply: CableReply, cable: Cable, *, actor: User
) -> list[MatchCandidate]:
    """The taskings this reader sees that the reply could be matched to by hand: of the
    cable's sender when it is known (a cable answers only its sender's), open for a
    delivery, on issued demarches; the demarche the reply cites first, then the latest."""
    stmt = (
        select(
            Tasking.id,
            Demarche.subject,
            Post.code,
            Tasking.country,
            Demarche.issued_at,
            Tasking.due_date,
            Tasking.status,
        )
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .join(Post, Post.id == Tasking.post_id)
        .where(
            visible_taskings(actor),
            Demarche.status == DemarcheStatus.ISSUED,
            Tasking.status.in_(_TAKES_A_DELIVERY),
        )
    )
    if cable.post_id is not None:
        stmt = stmt.where(Tasking.post_id == cable.post_id)
    cited = case((Demarche.id == reply.demarche_id, 0), else_=1) if reply.demarche_id else None
    order = [cited] if cited is not None else []
    stmt = stmt.order_by(*order, Demarche.issued_at.desc(), Post.code, Tasking.id)
    return [MatchCandidate._make(row) for row in session.execute(stmt.limit(MATCH_CANDIDATES_MAX))]
