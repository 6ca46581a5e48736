"""Storing cables: once per ref id, each with its audit event; a report is filed
against the tasking it answers as it lands. Services flush; callers commit.

Three ways in, one path through: a single cable (API, import page) goes through
`ingest`, the bulk import through `ingest_batch` (and `ingest_parsed` when it
retries a batch cable by cable); all of them build rows with `_new_cable` and
match reports with `matching.match_reports`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.auth.policy import visible_cables
from app.classification import Classification, from_marking
from app.errors import Conflict, Forbidden, Invalid
from app.vocabulary import Precedence

from .matching import match_reports
from .models import Cable, CableKind, CableReply
from .parser import ParsedCable, looks_like_cable, parse_cable
from .reads import reply_of


@dataclass
class Ingested:
    cable: Cable
    created: bool
    parsed: ParsedCable
    reply: CableReply | None = None


def synthetic_ref_id(text: str) -> str:
    # A cable whose reference number cannot be read is still kept (it looks like a
    # cable): its id is a hash of the text, so ingesting the same text again finds it.
    digest = hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()
    return f"SHA256-{digest[:32]}"


def ref_id_for(text: str, parsed: ParsedCable) -> str:
    """The canonical ref id, or the synthetic one when it is unknown or will not fit."""
    if parsed.ref_id and len(parsed.ref_id) <= 40:
        return parsed.ref_id
    return synthetic_ref_id(text)


def parse_or_refuse(text: str) -> ParsedCable:
    """The parsed cable, or a 422 with the parser's warnings when it is not a cable at all."""
    parsed = parse_cable(text)
    if not looks_like_cable(parsed):
        raise Invalid(
            "This does not look like a cable: no more than one of date-time group, FM line, "
            "subject, tags, classification and reference number could be read.",
            warnings=list(parsed.warnings),
        )
    return parsed


def ingest(session: Session, text: str, *, actor: User | None) -> Ingested:
    """Store a cable once; the same ref id again returns the stored one."""
    return ingest_parsed(session, text, parse_or_refuse(text), actor=actor)


def ingest_parsed(
    session: Session,
    text: str,
    parsed: ParsedCable,
    *,
    actor: User | None,
    check_existing: bool = True,
    savepoint: bool = True,
) -> Ingested:
    """Store an already parsed cable.

    The bulk import dedupes in memory and wraps each cable in its own savepoint, so
    it turns off the lookup and the inner savepoint here.
    """
    ref_id = ref_id_for(text, parsed)
    if actor is not None and from_marking(parsed.classification) > actor.clearance:
        raise Forbidden("This cable is classified above your clearance.")
    if check_existing:
        existing = session.scalar(select(Cable).where(Cable.ref_id == ref_id))
        if existing is not None:
            return _already_held(session, existing, parsed, actor)
    cable = _new_cable(text, parsed, ref_id)
    if not savepoint:
        session.add(cable)
        session.flush()
        return _stored(session, [(cable, parsed)], actor)[0]
    try:
        # A savepoint, so a concurrent ingest of the same cable (unique ref_id) loses
        # cleanly and we answer with the winner's row.
        with session.begin_nested():
            session.add(cable)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Cable).where(Cable.ref_id == ref_id))
        if existing is None:
            raise
        return _already_held(session, existing, parsed, actor)
    return _stored(session, [(cable, parsed)], actor)[0]


def _already_held(
    session: Session, existing: Cable, parsed: ParsedCable, actor: User | None
) -> Ingested:
    """The stored cable a duplicate answers with, if the caller may see it. One they may
    not see (above their clearance, another post's report) is never handed back: what a
    write answers passes the same visibility as a read."""
    if actor is not None and not session.scalar(
        select(Cable.id).where(Cable.id == existing.id, visible_cables(actor))
    ):
        raise Conflict("A cable with this reference number is already held; it was not stored.")
    return Ingested(existing, False, parsed, reply_of(session, existing))


def ingest_batch(
    session: Session, items: list[tuple[str, ParsedCable]], *, actor: User | None
) -> list[Ingested]:
    """Store many new cables in a handful of round trips (the bulk import's fast path).

    The caller has removed duplicates (in memory and against the database); a
    concurrent writer that stored one meanwhile makes the flush fail, and the
    caller retries that batch cable by cable.
    """
    cables = [_new_cable(text, parsed, ref_id_for(text, parsed)) for text, parsed in items]
    session.add_all(cables)
    session.flush()
    return _stored(session, list(zip(cables, (p for _, p in items), strict=True)), actor)


def _stored(
    session: Session, rows: list[tuple[Cable, ParsedCable]], actor: User | None
) -> list[Ingested]:
    """Audit each newly flushed cable and file the reports among them."""
    for cable, _ in rows:
        record(
            session,
            actor_id=actor.id if actor else None,
            entity="cable",
            entity_id=cable.id,
            action="ingest",
            after={
                "ref_id": cable.ref_id,
                "kind": cable.kind,
                "synthetic_ref_id": cable.ref_id.startswith("SHA256-"),
            },
        )
    out = [Ingested(cable, True, parsed) for cable, parsed in rows]
    reports = [i for i in out if i.parsed.kind == "report"]
    replies = match_reports(session, [(i.cable, i.parsed) for i in reports], actor=actor)
    for i, reply in zip(reports, replies, strict=True):
        i.reply = reply
    return out


def _new_cable(text: str, parsed: ParsedCable, ref_id: str) -> Cable:
    return Cable(
        ref_id=ref_id,
        dtg=_dtg(parsed.dtg),
        precedence=Precedence(parsed.precedence) if parsed.precedence in _PRECEDENCES else None,
        originator=(parsed.originator or None) and parsed.originator[:120],
        classification=_marking(parsed),
        captions=list(parsed.captions),
        subject=parsed.subject,
        tags=list(parsed.tags),
        kind=CableKind(parsed.kind) if parsed.kind in _KINDS else CableKind.OTHER,
        raw_text=text,
        parsed=parsed.to_dict(),
    )


def _marking(parsed: ParsedCable) -> str | None:
    """The cable's classification as written, unless a paragraph is marked higher (or the
    line is missing or damaged): then the highest portion mark, so that neither a
    damaged banner nor a mis-marked one lets someone read a paragraph above them."""
    portions = [from_marking(p.marking) for p in parsed.paragraphs if p.marking]
    highest = max(portions, default=Classification.UNCLASSIFIED, key=lambda c: c.rank)
    if parsed.classification and from_marking(parsed.classification) >= highest:
        return parsed.classification[:80]
    return None if highest == Classification.UNCLASSIFIED else highest.value


_PRECEDENCES = {p.value for p in Precedence}
_KINDS = {k.value for k in CableKind}


def _dtg(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
