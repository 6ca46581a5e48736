"""A post's report cable filed against the tasking it answers, with a suggested
delivery and response. Never moves the workflow: a person confirms the suggestion.

The cited instruction is the first REF the uploader may see as a live demarche; the
tasking is the recorded sender's on it (a post's upload is its own post's, whatever
its FM line says), for a single cable and for a batch alike. An instruction the
uploader may not see is treated exactly as one we do not hold, so that a report
never tells its uploader that a record they may not read exists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.auth.policy import visible_cables, visible_demarches
from app.demarches.models import Demarche, DemarcheStatus
from app.notifications.models import Kind
from app.notifications.outbox import to_desk
from app.posts.models import Post, PostKind
from app.taskings.models import Tasking, TaskingStatus
from app.vocabulary import TaskingRole

from .models import Cable, CableKind, CableReply, ReplyStatus
from .parser import ParsedCable, originator_routing, parse_cable
from .registry import Registry, normalise
from .replies import ReplySuggestion, suggest_reply


def match_reports(
    session: Session, reports: Sequence[tuple[Cable, ParsedCable]], *, actor: User | None
) -> list[CableReply]:
    """File report cables (flushed, their sender recorded) in a handful of round trips."""
    if not reports:
        return []
    registry = _Lazy(session)
    suggestions = [suggest_reply(parsed) for _, parsed in reports]
    wanted = [
        Wanted(
            cable.post_id,
            list(dict.fromkeys(r.ref_id for r in parsed.references if r.ref_id)),
            says_delivered(s),
            _reported_for(
                session,
                registry,
                cable,
                [(a.name, a.routing) for a in (*parsed.action_addressees, *parsed.info_addressees)],
            ),
        )
        for (cable, parsed), s in zip(reports, suggestions, strict=True)
    ]
    decided = decide(session, wanted, actor=actor)
    codes = _post_codes(session, {c.post_id for c, _ in reports if c.post_id is not None})
    replies = []
    for (cable, _), s, w, (demarche_id, tasking_id) in zip(
        reports, suggestions, wanted, decided, strict=True
    ):
        who = codes.get(cable.post_id) if cable.post_id is not None else None
        replies.append(_new_reply(cable, s, w.cited, demarche_id, tasking_id, who))
    session.add_all(replies)
    session.flush()
    for reply, (cable, _) in zip(replies, reports, strict=True):
        _record_reply(session, reply, cable, actor)
        if reply.tasking_id is not None:
            # The desk confirms the suggested delivery and response: it hears of it.
            tasking = session.get(Tasking, reply.tasking_id)
            if tasking is not None:
                to_desk(session, Kind.REPLY_MATCHED, tasking)
    return replies


class _Lazy:
    """The registry, loaded the first time it is needed (most reports never need it)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.loaded: Registry | None = None

    def __call__(self) -> Registry:
        if self.loaded is None:
            self.loaded = Registry.load(self.session)
        return self.loaded


def _addressees(parsed: dict[str, Any]) -> list[tuple[str, str | None]]:
    rows = [*(parsed.get("action_addressees") or ()), *(parsed.get("info_addressees") or ())]
    return [(str(a.get("name") or ""), a.get("routing")) for a in rows if isinstance(a, dict)]


def _reported_for(
    session: Session, registry: _Lazy, cable: Cable, addressees: list[tuple[str, str | None]]
) -> tuple[int, ...]:
    """The posts a consulate's report may answer for: the posts of its own country it
    addresses (a constituent post reports on its embassy's tasking, copying the
    embassy). Nobody else reports for another post."""
    sender = session.get(Post, cable.post_id) if cable.post_id is not None else None
    if sender is None or sender.kind != PostKind.CONSULATE:
        return ()
    out = []
    for name, routing in addressees:
        post = registry().post(name, routing)
        if (
            post is not None
            and post.id != sender.id
            and post.kind != PostKind.CONSULATE
            and normalise(post.country) == normalise(sender.country)
        ):
            out.append(post.id)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a report's match is decided on: its sender, what it cites, whether it says
    the points went across."""

    post_id: int | None
    cited: list[str]
    delivered: bool
    # Posts it may report for (a consulate for its embassy): their action taskings count.
    reported_for: tuple[int, ...] = ()


def cited_refs(parsed: dict[str, Any]) -> list[str]:
    """The canonical ids a cable cites, in its REF order, once each."""
    refs = [r.get("ref_id") for r in parsed.get("references") or [] if isinstance(r, dict)]
    return list(dict.fromkeys(r for r in refs if isinstance(r, str) and r))


def says_delivered(s: ReplySuggestion) -> bool:
    return not any(w.startswith("no sentence says") for w in s.warnings)


def decide(
    session: Session, wanted: Sequence[Wanted], *, actor: User | None
) -> list[tuple[int | None, int | None]]:
    """(demarche, tasking) each report answers.

    Of the demarches it cites, the first (in REF order: "REF: A. STATE 166909 B. ...")
    on which its sender has an action tasking; an info tasking only when the text says
    it delivered (a cable that cites an instruction for background is not its report);
    else the first cited demarche, unmatched, for the desk to place."""
    demarche_by_ref = demarches_by_ref(session, [r for w in wanted for r in w.cited], actor=actor)
    candidates = [
        list(dict.fromkeys(demarche_by_ref[r] for r in w.cited if r in demarche_by_ref))
        for w in wanted
    ]
    taskings = _taskings_by_pair(
        session,
        {
            (d, p)
            for w, ds in zip(wanted, candidates, strict=True)
            for p in ((w.post_id,) if w.post_id is not None else ()) + w.reported_for
            for d in ds
        },
    )
    out: list[tuple[int | None, int | None]] = []
    for w, ds in zip(wanted, candidates, strict=True):
        held = [(d, taskings.get((d, w.post_id))) for d in ds] if w.post_id is not None else []
        pick = next(((d, t[0]) for d, t in held if t and t[1] == TaskingRole.ACTION), None)
        if pick is None and not any(t for _, t in held):
            # A consulate with no tasking of its own, reporting on its embassy's.
            pick = next(
                (
                    (d, t[0])
                    for d in ds
                    for p in w.reported_for
                    if (t := taskings.get((d, p))) and t[1] == TaskingRole.ACTION
                ),
                None,
            )
        if pick is None and w.delivered:
            pick = next(((d, t[0]) for d, t in held if t), None)
        out.append(pick or ((ds[0] if ds else None), None))
    return out


_DRAFTED = re.compile(r"^(\d\d)STATE(\d+)$")


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
    # The tracker's own instruction numbers (app/cables/telegram.py: 26STATE42 is
    # demarche 42, issued in 2026), for a demarche drafted here with no source cable.
    drafted: dict[int, str] = {}
    for ref in set(refs) - found.keys():
        m = _DRAFTED.match(ref)
        if m and len(m.group(2)) <= 9:
            drafted[int(m.group(2))] = ref
    if drafted:
        own = select(Demarche.id, Demarche.issued_at).where(
            Demarche.id.in_(drafted),
            Demarche.source_cable_id.is_(None),
            Demarche.issued_at.is_not(None),
            Demarche.status != DemarcheStatus.CANCELLED,
        )
        if actor is not None:
            own = own.where(visible_demarches(actor))
        for demarche_id, issued_at in session.execute(own):
            ref = drafted[demarche_id]
            if issued_at is not None and f"{issued_at:%y}" == ref[:2]:
                found[ref] = demarche_id
    return found


def _taskings_by_pair(
    session: Session, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], tuple[int, TaskingRole]]:
    """(demarche, post) -> the tasking a report answers and its role: the action one,
    then the oldest."""
    found: dict[tuple[int, int], tuple[int, TaskingRole]] = {}
    if not pairs:
        return found
    for t_id, d_id, p_id, role in session.execute(
        select(Tasking.id, Tasking.demarche_id, Tasking.post_id, Tasking.role)
        .where(
            Tasking.demarche_id.in_({d for d, _ in pairs}),
            Tasking.post_id.in_({p for _, p in pairs}),
            Tasking.status != TaskingStatus.CANCELLED,
        )
        .order_by((Tasking.role == TaskingRole.ACTION).asc(), Tasking.id.desc())
    ):
        # Ordered so the action tasking (and then the oldest) is written last and wins.
        if (d_id, p_id) in pairs:
            found[(d_id, p_id)] = (t_id, TaskingRole(role))
    return found


# -- matching again: what arrived before its instruction, post or collective ------------


def rematch(
    session: Session,
    *,
    actor: User | None,
    refs: Sequence[str] | None = None,
    unknown_senders: bool = False,
) -> list[CableReply]:
    """Match again the replies still unmatched, and file the cables read as "other" that
    a tasked post sent about its instruction (a plain readout with no reply cue word).

    Run when a demarche is issued or amended, a post or collective is registered, or the
    desk asks: a report that came in first is matched then. `refs` narrows it to cables
    citing those instructions, `unknown_senders` to cables filed for no post. A sender unknown when the cable came in (the desk's or the
    import's filing) is read again from the registry. Returns the replies now matched."""
    registry = _Lazy(session)
    replies = _unmatched(session, actor, refs, unknown_senders)
    matched: list[CableReply] = []
    if replies:
        for _, cable in replies:
            _resolve_sender(cable, registry)
        suggestions = [ReplySuggestion(**_suggestion_fields(r.suggestion)) for r, _ in replies]
        wanted = [
            Wanted(
                c.post_id,
                cited_refs(c.parsed or {}),
                says_delivered(s),
                _reported_for(session, registry, c, _addressees(c.parsed or {})),
            )
            for (_, c), s in zip(replies, suggestions, strict=True)
        ]
        for (reply, cable), (d_id, t_id) in zip(
            replies, decide(session, wanted, actor=actor), strict=True
        ):
            if t_id is None:
                continue
            reply.status, reply.demarche_id, reply.tasking_id = ReplyStatus.MATCHED, d_id, t_id
            reply.note = None
            matched.append(reply)
            session.flush()
            _record_reply(session, reply, cable, actor, action="rematch")
            tasking = session.get(Tasking, t_id)
            if tasking is not None:
                to_desk(session, Kind.REPLY_MATCHED, tasking)
    readouts = _readouts(session, actor, refs, registry, unknown_senders)
    matched.extend(file_tasked_readouts(session, readouts, actor))
    return matched


def rematch_demarche(session: Session, demarche: Demarche, *, actor: User) -> list[CableReply]:
    """After a demarche is issued or amended: the reports on its source cable that came
    in first, matched now."""
    if demarche.source_cable_id is None:
        return []
    ref = session.scalar(select(Cable.ref_id).where(Cable.id == demarche.source_cable_id))
    return rematch(session, actor=actor, refs=[ref]) if ref else []


def rematch_senders(session: Session) -> list[CableReply]:
    """After a post is registered: the cables filed for no post (the desk's or an
    import's, whose sender the registry did not know), read again. Run for the whole
    desk, as the command line is: who registers a post is not who reads the reports."""
    return rematch(session, actor=None, unknown_senders=True)


def file_tasked_readouts(
    session: Session, cables: Sequence[Cable], actor: User | None
) -> list[CableReply]:
    """Of cables read as "other", the reports: a post's cable whose first STATE reference
    is an instruction on which that post has an action tasking is its report, cue word or
    not (the kind reads the text; this reads who was asked to act), when it tells of the
    host side at all: a delivery, a person met, or what they said (an analysis that
    cites the instruction tells none of these). Filed, matched, and recorded as a report."""
    first = [(c, _first_state_ref(cited_refs(c.parsed or {}))) for c in cables]
    first = [(c, r) for c, r in first if r is not None and c.post_id is not None]
    if not first:
        return []
    decided = decide(session, [Wanted(c.post_id, [r], False) for c, r in first if r], actor=actor)
    found: list[tuple[Cable, ParsedCable]] = []
    for (cable, _), (_, tasking_id) in zip(first, decided, strict=True):
        if tasking_id is None:
            continue
        parsed = parse_cable(cable.raw_text)
        s = suggest_reply(parsed)
        if says_delivered(s) or s.evidence or s.recipient_name:
            cable.kind = CableKind.REPORT
            found.append((cable, parsed))
    if not found:
        return []
    session.flush()
    for cable, _ in found:
        record(
            session,
            actor_id=actor.id if actor else None,
            entity="cable",
            entity_id=cable.id,
            action="read_as_report",
            post_id=cable.post_id,
            after={
                "kind": CableKind.REPORT,
                "why": "its sender is tasked by the instruction it cites first",
            },
        )
    return match_reports(session, found, actor=actor)


def _first_state_ref(cited: list[str]) -> str | None:
    return next((r for r in cited if r[2:7] == "STATE"), None)


def _unmatched(
    session: Session, actor: User | None, refs: Sequence[str] | None, unknown_senders: bool
) -> list[tuple[CableReply, Cable]]:
    stmt = (
        select(CableReply, Cable)
        .join(Cable, Cable.id == CableReply.cable_id)
        .where(CableReply.status == ReplyStatus.UNMATCHED, CableReply.tasking_id.is_(None))
    )
    if actor is not None:
        stmt = stmt.where(visible_cables(actor))
    if unknown_senders:
        stmt = stmt.where(Cable.post_id.is_(None))
    stmt = stmt.where(_citing(refs))
    rows: list[tuple[CableReply, Cable]] = [
        (row[0], row[1]) for row in session.execute(stmt.order_by(CableReply.id))
    ]
    if refs is None:
        return rows
    want = set(refs)
    return [(r, c) for r, c in rows if want & set(cited_refs(c.parsed or {}))]


def _readouts(
    session: Session,
    actor: User | None,
    refs: Sequence[str] | None,
    registry: _Lazy,
    unknown_senders: bool,
) -> list[Cable]:
    has_reply = select(CableReply.id).where(CableReply.cable_id == Cable.id).exists()
    stmt = select(Cable).where(
        Cable.kind == CableKind.OTHER, ~has_reply, Cable.raw_text.contains("STATE")
    )
    if actor is not None:
        stmt = stmt.where(visible_cables(actor))
    if unknown_senders:
        stmt = stmt.where(Cable.post_id.is_(None))
    stmt = stmt.where(_citing(refs))
    out = []
    for cable in session.scalars(stmt.order_by(Cable.id)):
        cited = cited_refs(cable.parsed or {})
        if refs is not None and _first_state_ref(cited) not in set(refs):
            continue
        _resolve_sender(cable, registry)
        out.append(cable)
    return out


def _citing(refs: Sequence[str] | None) -> ColumnElement[bool]:
    """Cables whose text holds one of these instructions' serials (a cheap first cut;
    the parsed REFs decide)."""
    if refs is None:
        return true()
    serials = {str(int(m.group(1))) for r in refs if (m := re.search(r"(\d+)$", r))}
    if not serials:
        return false()
    return or_(*(Cable.raw_text.contains(s) for s in sorted(serials)))


def _resolve_sender(cable: Cable, registry: _Lazy) -> None:
    """A cable the desk or an import filed before its sender was registered: the post its
    FM (or DE) line names, now that the registry knows it. A post's own upload keeps its
    post."""
    if cable.post_id is not None:
        return
    post = registry().post(cable.originator or "", originator_routing(cable.raw_text))
    if post is not None:
        cable.post_id, cable.transcribed = post.id, True


def _suggestion_fields(stored: dict[str, Any] | None) -> dict[str, Any]:
    names = set(ReplySuggestion.__dataclass_fields__)
    out = {k: v for k, v in (stored or {}).items() if k in names}
    for k in ("commitments", "warnings"):
        out[k] = tuple(out.get(k) or ())
    return out


def _post_codes(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        pid: code
        for pid, code in session.execute(select(Post.id, Post.code).where(Post.id.in_(ids)))
    }


def _new_reply(
    cable: Cable,
    suggestion: ReplySuggestion,
    cited: list[str],
    demarche_id: int | None,
    tasking_id: int | None,
    sender_code: str | None,
) -> CableReply:
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


def _record_reply(
    session: Session, reply: CableReply, cable: Cable, actor: User | None, action: str = ""
) -> None:
    # The sending post's record: it appears in that post's timeline and the desk's, never
    # another post's (one filed for no post is the desk's alone: visible_events).
    record(
        session,
        actor_id=actor.id if actor else None,
        entity="cable_reply",
        entity_id=reply.id,
        action=action or ("match" if reply.status == ReplyStatus.MATCHED else "file_unmatched"),
        demarche_id=reply.demarche_id,
        post_id=cable.post_id,
        after={
            "cable": cable.ref_id,
            "status": reply.status,
            "tasking_id": reply.tasking_id,
            "note": reply.note,
        },
    )
