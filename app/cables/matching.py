"""A post's report cable filed against the tasking it answers, with a suggested
delivery and response. Never moves the workflow: a person confirms the suggestion.

The cited instruction is the first REF the uploader may see as a live demarche; the
tasking is the recorded sender's on it (a post's upload is its own post's, whatever
its FM line says), for a single cable and for a batch alike. An instruction the
uploader may not see is treated exactly as one we do not hold, so that a report
never tells its uploader that a record they may not read exists.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.auth.policy import visible_demarches
from app.demarches.models import Demarche, DemarcheStatus
from app.notifications.models import Kind
from app.notifications.outbox import to_desk
from app.posts.models import Post
from app.taskings.models import Tasking
from app.vocabulary import TaskingRole

from .models import Cable, CableReply, ReplyStatus
from .parser import ParsedCable
from .replies import suggest_reply


def match_reports(
    session: Session, reports: Sequence[tuple[Cable, ParsedCable]], *, actor: User | None
) -> list[CableReply]:
    """File report cables (flushed, their sender recorded) in a handful of round trips."""
    if not reports:
        return []
    cited = {
        cable.id: [r.ref_id for r in parsed.references if r.ref_id] for cable, parsed in reports
    }
    demarche_by_ref = demarches_by_ref(
        session, [r for refs in cited.values() for r in refs], actor=actor
    )
    wanted: list[tuple[Cable, ParsedCable, int | None]] = []
    for cable, parsed in reports:
        # The first cable cited is the one answered ("REF: A. STATE 166909 B. ...").
        demarche_id = next(
            (demarche_by_ref[r] for r in cited[cable.id] if r in demarche_by_ref), None
        )
        wanted.append((cable, parsed, demarche_id))
    tasking_by_pair = _taskings_by_pair(
        session,
        {(d, c.post_id) for c, _, d in wanted if d is not None and c.post_id is not None},
    )
    codes = _post_codes(session, {c.post_id for c, _, _ in wanted if c.post_id is not None})
    replies = []
    for cable, parsed, demarche_id in wanted:
        tasking_id = (
            tasking_by_pair.get((demarche_id, cable.post_id))
            if demarche_id is not None and cable.post_id is not None
            else None
        )
        who = codes.get(cable.post_id) if cable.post_id is not None else None
        replies.append(_new_reply(cable, parsed, cited[cable.id], demarche_id, tasking_id, who))
    session.add_all(replies)
    session.flush()
    for reply, (cable, _, _) in zip(replies, wanted, strict=True):
        _record_reply(session, reply, cable, actor)
        if reply.tasking_id is not None:
            # The desk confirms the suggested delivery and response: it hears of it.
            tasking = session.get(Tasking, reply.tasking_id)
            if tasking is not None:
                to_desk(session, Kind.REPLY_MATCHED, tasking)
    return replies


def demarches_by_ref(
    session: Session, refs: list[str], *, actor: User | None = None
) -> dict[str, int]:
    """Cited ref id -> the newest live demarche drafted from that cable that the actor
    may see (the command line sees them all)."""
    if not refs:
        return {}
    stmt = (
        select(Demarche.id, Cable.ref_id)
        .join(Cable, Cable.id == Demarche.source_cable_id)
        .where(Cable.ref_id.in_(set(refs)), Demarche.status != DemarcheStatus.CANCELLED)
    )
    if actor is not None:
        stmt = stmt.where(visible_demarches(actor))
    found: dict[str, int] = {}
    for demarche_id, ref_id in session.execute(stmt.order_by(Demarche.id.desc())):
        found.setdefault(ref_id, demarche_id)
    return found


def _taskings_by_pair(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(demarche, post) -> the tasking a report answers: the action one, then the oldest."""
    found: dict[tuple[int, int], int] = {}
    if not pairs:
        return found
    for t_id, d_id, p_id in session.execute(
        select(Tasking.id, Tasking.demarche_id, Tasking.post_id)
        .where(
            Tasking.demarche_id.in_({d for d, _ in pairs}),
            Tasking.post_id.in_({p for _, p in pairs}),
        )
        .order_by((Tasking.role == TaskingRole.ACTION).asc(), Tasking.id.desc())
    ):
        # Ordered so the action tasking (and then the oldest) is written last and wins.
        if (d_id, p_id) in pairs:
            found[(d_id, p_id)] = t_id
    return found


def _post_codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        pid: code
        for pid, code in session.execute(select(Post.id, Post.code).where(Post.id.in_(ids)))
    }


def _new_reply(
    cable: Cable,
    parsed: ParsedCable,
    cited: list[str],
    demarche_id: int | None,
    tasking_id: int | None,
    sender_code: str | None,
) -> CableReply:
    suggestion = suggest_reply(parsed)
    reply = CableReply(
        cable_id=cable.id,
        status=ReplyStatus.MATCHED if tasking_id else ReplyStatus.UNMATCHED,
        demarche_id=demarche_id,
        tasking_id=tasking_id,
        suggestion=suggestion.to_dict(),
        evidence=suggestion.evidence,
    )
    if demarche_id is None:
        # The cable's own REF line, which whoever may read the reply reads in the cable.
        reply.note = (
            f"cites no instruction we hold as a demarche (REF: {', '.join(cited)})"
            if cited
            else "cites no cable"
        )
    elif tasking_id is None:
        # Only the desk files for a post it names, and only readers who may see the
        # demarche see the reply (visible_replies), so this names nothing hidden.
        who = sender_code or "its sender, whom the registry does not know,"
        reply.note = f"answers demarche {demarche_id}, but {who} has no tasking on it"
    return reply


def _record_reply(session: Session, reply: CableReply, cable: Cable, actor: User | None) -> None:
    # The sending post's record: it appears in that post's timeline and the desk's, never
    # another post's (one filed for no post is the desk's alone: visible_events).
    record(
        session,
        actor_id=actor.id if actor else None,
        entity="cable_reply",
        entity_id=reply.id,
        action="match" if reply.status == ReplyStatus.MATCHED else "file_unmatched",
        demarche_id=reply.demarche_id,
        post_id=cable.post_id,
        after={
            "cable": cable.ref_id,
            "status": reply.status,
            "tasking_id": reply.tasking_id,
            "note": reply.note,
        },
    )
