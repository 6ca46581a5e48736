"""Reviewing a post's reply: confirm the suggestion (logging it on the tasking),
reject it, or match it to a tasking by hand. Every move is checked against
`rules` before anything is written; who may make it is the policy's to say.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.auth.policy import deny, may_match_reply_by_hand, may_review_reply
from app.db import utcnow
from app.errors import Conflict
from app.taskings import reads as tasking_reads
from app.taskings import service as taskings
from app.taskings.models import Tasking
from app.taskings.workflow import audit_tasking

from . import rules
from .models import Cable, CableReply, ReplyStatus
from .rules import ReplyAction
from .schemas import ConfirmReplyIn


def reply_tasking(session: Session, reply: CableReply, *, actor: User) -> Tasking:
    """The tasking a matched reply answers, once the actor passed 404 and 403: the state
    (409) is confirm_reply's to check, after the caller's If-Match (412)."""
    if reply.tasking_id is None:
        # Unmatched, or matched once to a tasking since deleted (the key is SET NULL):
        # only the desk may act on it, and what it can do is match it by hand.
        _require_reviewer(actor, None)
        raise Conflict(
            f"Cable reply {reply.id} is matched to no tasking; match it by hand first.",
            current_state=reply.status.value,
            allowed_actions=[a.value for a in rules.allowed_actions(reply.status)],
        )
    tasking = tasking_reads.load(session, reply.tasking_id, actor=actor)
    _require_reviewer(actor, tasking)
    return tasking


def confirm_reply(
    session: Session, reply: CableReply, tasking: Tasking, data: ConfirmReplyIn, *, actor: User
) -> CableReply:
    """Log the corrected delivery and response through the tasking workflow, then confirm."""
    status = rules.check(reply, ReplyAction.CONFIRM)
    cable_ref = session.scalar(select(Cable.ref_id).where(Cable.id == reply.cable_id))
    # Transcribed from the post's own cable, so a desk officer may record it too.
    source = cable_ref or f"cable {reply.cable_id}"
    taskings.deliver(session, tasking, data.delivery, actor=actor, from_post_cable=source)
    response = data.response
    if response.reporting_cable_ref is None and cable_ref and len(cable_ref) <= 40:
        response = response.model_copy(update={"reporting_cable_ref": cable_ref})
    taskings.report_response(session, tasking, response, actor=actor, from_post_cable=source)
    return _review(session, reply, status, actor=actor, post_id=tasking.post_id)


def reject_reply(session: Session, reply: CableReply, note: str, *, actor: User) -> CableReply:
    tasking = session.get(Tasking, reply.tasking_id) if reply.tasking_id else None
    _require_reviewer(actor, tasking)  # 403 before the state's 409
    status = rules.check(reply, ReplyAction.REJECT)
    reply.note = note
    # The sending post's record (or, for a cable of no known sender, the desk's alone).
    post_id = tasking.post_id if tasking else _cable(session, reply).post_id
    return _review(session, reply, status, actor=actor, post_id=post_id)


def match_by_hand(
    session: Session, reply: CableReply, tasking_id: int, *, actor: User
) -> CableReply:
    """The desk attaches a reply the automatic match missed (or got wrong) to a tasking."""
    if not may_match_reply_by_hand(actor):
        raise deny(actor, "Only the desk attaches a reply to a tasking by hand.")
    status = rules.check(reply, ReplyAction.MATCH_BY_HAND)
    tasking = tasking_reads.load(session, tasking_id, actor=actor)
    cable = _cable(session, reply)
    if cable.post_id is not None and cable.post_id != tasking.post_id:
        # A cable answers its sender's taskings only: one post's report never lands on
        # another post's tasking (nor becomes that post's to read).
        raise Conflict(
            f"Cable reply {reply.id} is filed as sent by another post than tasking "
            f"{tasking.id}'s; it can answer only its sender's taskings.",
            current_state=reply.status.value,
        )
    before = {"status": reply.status, "tasking_id": reply.tasking_id}
    if cable.post_id is None:
        # The desk says whose report a cable of unknown sender is: transcribed for it.
        cable.post_id = tasking.post_id
        cable.transcribed = True
    reply.tasking_id = tasking.id
    reply.demarche_id = tasking.demarche_id
    reply.status = status
    session.flush()
    audit_tasking(
        session,
        tasking,
        "match_by_hand",
        actor=actor,
        entity="cable_reply",
        entity_id=reply.id,
        before=before,
        after={"status": reply.status, "tasking_id": tasking.id},
    )
    return reply


def _cable(session: Session, reply: CableReply) -> Cable:
    cable = session.get(Cable, reply.cable_id)
    assert cable is not None  # the reply's key cascades from its cable
    return cable


def _require_reviewer(actor: User, tasking: Tasking | None) -> None:
    if not may_review_reply(actor, tasking.post_id if tasking else None):
        raise deny(actor, "Only the tasked post or the desk may review this reply.")


def _review(
    session: Session, reply: CableReply, status: ReplyStatus, *, actor: User, post_id: int | None
) -> CableReply:
    before = {"status": reply.status}
    reply.status = status
    reply.reviewed_at = utcnow()
    reply.reviewed_by_id = actor.id
    session.flush()
    record(
        session,
        actor_id=actor.id,
        entity="cable_reply",
        entity_id=reply.id,
        action="confirm" if status == ReplyStatus.CONFIRMED else "reject",
        demarche_id=reply.demarche_id,
        post_id=post_id,
        before=before,
        after={"status": status, "note": reply.note},
    )
    return reply
