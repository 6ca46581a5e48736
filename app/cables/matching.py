"""A post's report cable filed against the tasking it answers, with a suggested
delivery and response. Never moves the workflow: a person confirms the suggestion.

The cited instruction is the first REF we hold as a live demarche; the sender is
read through the one Registry, for a single cable and for a batch alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.demarches.models import Demarche, DemarcheStatus
from app.posts.models import Post
from app.taskings.models import Tasking
from app.vocabulary import TaskingRole

from .models import Cable, CableReply, ReplyStatus
from .parser import ParsedCable, originator_routing
from .registry import Registry
from .replies import suggest_reply


def match_reports(
    session: Session, reports: Sequence[tuple[Cable, ParsedCable]], *, actor: User | None
) -> list[CableReply]:
    """File report cables in a handful of round trips, whatever their number."""
    if not reports:
        return []
    cited = {
        cable.id: [r.ref_id for r in parsed.references if r.ref_id] for cable, parsed in reports
    }
    demarche_by_ref = demarches_by_ref(session, [r for refs in cited.values() for r in refs])
    registry = Registry.load(session)
    wanted: list[tuple[Cable, ParsedCable, int | None, Post | None]] = []
    for cable, parsed in reports:
        # The first cable cited is the one answered ("REF: A. STATE 166909 B. ...").
        demarche_id = next(
            (demarche_by_ref[r] for r in cited[cable.id] if r in demarche_by_ref), None
        )
        post = registry.sender(parsed, originator_routing(cable.raw_text))
        wanted.append((cable, parsed, demarche_id, post))
    tasking_by_pair = _taskings_by_pair(
        session, {(d, p.id) for _, _, d, p in wanted if d is not None and p is not None}
    )
    replies = []
    for cable, parsed, demarche_id, post in wanted:
        tasking_id = (
            tasking_by_pair.get((demarche_id, post.id))
            if demarche_id is not None and post is not None
            else None
        )
        replies.append(_new_reply(cable, parsed, cited[cable.id], demarche_id, tasking_id, post))
    session.add_all(replies)
    session.flush()
    for reply, (cable, _, _, post) in zip(replies, wanted, strict=True):
        _record_reply(session, reply, cable, post, actor)
    return replies


def demarches_by_ref(session: Session, refs: list[str]) -> dict[str, int]:
    """Cited ref id -> the newest live demarche drafted from that cable."""
    if not refs:
        return {}
    found: dict[str, int] = {}
    for demarche_id, ref_id in session.execute(
        select(Demarche.id, Cable.ref_id)
        .join(Cable, Cable.id == Demarche.source_cable_id)
        .where(Cable.ref_id.in_(set(refs)), Demarche.status != DemarcheStatus.CANCELLED)
        .order_by(Demarche.id.desc())
    ):
        found.setdefault(ref_id, demarche_id)
    return found


def _taskings_by_pair(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(demarche, post) -> the tasking a report answers: the action one, then the oldest."""
    found: dict[tuple[int, int], int] = {}
    if not pairs:
        return found
    for t_id, d_id, p_id in session.execute(
        select(Tasking.id, Tasking.demarche_id, Tasking.post_id)
        .where(Tasking.demarche_id.in_({d for d, _ in pairs}))
        .order_by((Tasking.role == TaskingRole.ACTION).asc(), Tasking.id.desc())
    ):
        # Ordered so the action tasking (and then the oldest) is written last and wins.
        found[(d_id, p_id)] = t_id
    return found


def _new_reply(
    cable: Cable,
    parsed: ParsedCable,
    cited: list[str],
    demarche_id: int | None,
    tasking_id: int | None,
    post: Post | None,
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
        reply.note = (
            f"cites no instruction we hold as a demarche (REF: {', '.join(cited)})"
            if cited
            else "cites no cable"
        )
    elif tasking_id is None:
        who = post.code if post else (parsed.originator or "the sender")
        reply.note = f"answers demarche {demarche_id}, but {who} has no tasking on it"
    return reply


def _record_reply(
    session: Session, reply: CableReply, cable: Cable, post: Post | None, actor: User | None
) -> None:
    record(
        session,
        actor_id=actor.id if actor else None,
        entity="cable_reply",
        entity_id=reply.id,
        action="match" if reply.status == ReplyStatus.MATCHED else "file_unmatched",
        demarche_id=reply.demarche_id,
        post_id=post.id if post is not None and reply.tasking_id else None,
        after={
            "cable": cable.ref_id,
            "status": reply.status,
            "tasking_id": reply.tasking_id,
            "note": reply.note,
        },
    )
