"""Storing cables: once per copy, each with its audit event and its sender; a report is
filed against the tasking it answers as it lands. Services flush; callers commit.

Three ways in, one path through: a single cable (API, import page) goes through
`ingest`, the bulk import through `ingest_batch` (and `ingest_parsed` when it
retries a batch cable by cable); all of them build rows with `_new_cable`, read the
sender with `sender_of` and match reports with `matching.match_reports`.

What a write answers passes the same visibility as a read: an upload that repeats a
reference number is answered with the stored copy only when the uploader may see it.
Otherwise it is stored as the uploader's own copy, and answered exactly as a first
upload is, so that no status, field or path tells whether another copy exists.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.auth.policy import deny, filing_post, visible_cables
from app.classification import Classification, from_marking
from app.errors import Forbidden, Invalid, PayloadTooLarge
from app.metrics import timed_parse
from app.posts.models import Post
from app.vocabulary import Precedence

from .matching import file_tasked_readouts, match_reports
from .models import Cable, CableKind, CableReply
from .parser import (
    MAX_CHARS,
    ParsedCable,
    ParseTimeout,
    looks_like_cable,
    originator_routing,
    parse_cable,
    strip_controls,
)
from .reads import reply_of
from .registry import Registry

# How long one upload may take to parse. A real cable parses in milliseconds and the
# largest adversarial upload in about a second (every stage is linear); past this the
# upload is refused with 422 rather than holding a worker thread.
PARSE_SECONDS = 3.0


@dataclass
class Ingested:
    cable: Cable
    created: bool
    parsed: ParsedCable
    reply: CableReply | None = None


@dataclass(frozen=True, slots=True)
class Sender:
    """Who a cable is filed as sent by, and how that was decided."""

    post: Post | None
    transcribed: bool = False  # the desk (or an import) filed it for that post
    mismatch: bool = False  # a post's upload whose header names another post, or none


def synthetic_ref_id(text: str) -> str:
    # A cable whose reference number cannot be read is still kept (it looks like a
    # cable): its id is a hash of the text, so ingesting the same text again finds it.
    flat = " ".join(strip_controls(text).split())
    digest = hashlib.sha256(flat.encode("utf-8", errors="replace")).hexdigest()
    return f"SHA256-{digest[:32]}"


def ref_id_for(text: str, parsed: ParsedCable) -> str:
    """The canonical ref id, or the synthetic one when it is unknown or will not fit."""
    if parsed.ref_id and len(parsed.ref_id) <= 40:
        return parsed.ref_id
    return synthetic_ref_id(text)


def parse_or_refuse(text: str) -> ParsedCable:
    """The parsed cable; 413 for text longer than any upload may be, before it is read;
    422 when it cannot be parsed within PARSE_SECONDS, or, with the parser's warnings,
    when it is not a cable at all."""
    if len(text) > MAX_CHARS:
        raise PayloadTooLarge(
            f"The cable is longer than {MAX_CHARS:,} characters, more than any cable."
        )
    deadline = time.monotonic() + PARSE_SECONDS
    try:
        parsed = timed_parse(lambda t: parse_cable(t, deadline=deadline), text)
    except ParseTimeout:
        raise Invalid(
            f"This cable could not be read within {PARSE_SECONDS:g} seconds; nothing was "
            "stored. Remove what is not part of the cable (long runs of blank or repeated "
            "lines) and upload it again."
        ) from None
    if not looks_like_cable(parsed):
        raise Invalid(
            "This does not look like a cable: no more than one of date-time group, FM line, "
            "subject, tags, classification and reference number could be read.",
            warnings=list(parsed.warnings),
        )
    return parsed


def sender_of(registry: Registry, text: str, parsed: ParsedCable, actor: User | None) -> Sender:
    """The post a cable is filed as sent by. A post officer's upload is their own post's,
    whatever the FM line says (a line naming another post, or none, is flagged); the
    desk and the bulk import file for the post the FM (or DE) line names, transcribed."""
    routing = originator_routing(text)
    named = registry.sender(parsed, routing)
    bound, own = filing_post(actor) if actor is not None else (False, None)
    if not bound:
        return Sender(named, transcribed=named is not None)
    post = registry.by_id.get(own) if own is not None else None
    claims = bool(parsed.originator) or routing is not None
    return Sender(post, mismatch=claims and (post is None or named is None or named.id != post.id))


def ingest(session: Session, text: str, *, actor: User | None) -> Ingested:
    """Store a cable once per copy; the same cable again returns the copy the caller may see."""
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
    text = strip_controls(text)
    ref_id = ref_id_for(text, parsed)
    if actor is not None:
        _require_filer(actor, parsed)
    if check_existing:
        existing = _visible_copy(session, ref_id, actor)
        if existing is not None:
            return _already_held(session, existing, parsed, actor)
    sender = sender_of(Registry.load(session), text, parsed, actor)
    cable = _new_cable(text, parsed, ref_id, sender)
    if not savepoint:
        session.add(cable)
        session.flush()
        return _stored(session, [(cable, parsed)], actor)[0]
    try:
        # A savepoint, so a concurrent upload of the same copy (unique copy_key) loses
        # cleanly and we answer with the winner's row, which its key lets the caller see.
        with session.begin_nested():
            session.add(cable)
            session.flush()
    except IntegrityError:
        existing = _visible_copy(session, ref_id, actor)
        if existing is None:
            raise
        return _already_held(session, existing, parsed, actor)
    return _stored(session, [(cable, parsed)], actor)[0]


def _require_filer(actor: User, parsed: ParsedCable) -> None:
    """403 for a cable the uploader could not read back: one marked (banner or any
    paragraph) above their clearance, or a post officer's when they belong to no post."""
    if from_marking(_marking(parsed)) > actor.clearance:
        raise Forbidden("This cable is classified above your clearance.")
    bound, own = filing_post(actor)
    if bound and own is None:
        raise deny(actor, "Your account belongs to no post, and a post files only its own cables.")


def _visible_copy(session: Session, ref_id: str, actor: User | None) -> Cable | None:
    """The first stored copy of this reference number the caller may see (the command
    line, run by whoever holds the database, sees them all)."""
    stmt = select(Cable).where(Cable.ref_id == ref_id)
    if actor is not None:
        stmt = stmt.where(visible_cables(actor))
    return session.scalars(stmt.order_by(Cable.id).limit(1)).first()


def _already_held(
    session: Session, existing: Cable, parsed: ParsedCable, actor: User | None
) -> Ingested:
    return Ingested(existing, False, parsed, reply_of(session, existing, actor=actor))


def ingest_batch(
    session: Session, items: list[tuple[str, ParsedCable]], *, actor: User | None
) -> list[Ingested]:
    """Store many new cables in a handful of round trips (the bulk import's fast path).

    The caller has removed duplicates (in memory and against the database); a
    concurrent writer that stored one meanwhile makes the flush fail, and the
    caller retries that batch cable by cable.
    """
    registry = Registry.load(session)
    cables = []
    for text, parsed in items:
        text = strip_controls(text)
        sender = sender_of(registry, text, parsed, actor)
        cables.append(_new_cable(text, parsed, ref_id_for(text, parsed), sender))
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
            post_id=cable.post_id,
            after={
                "ref_id": cable.ref_id,
                "kind": cable.kind,
                "synthetic_ref_id": cable.ref_id.startswith("SHA256-"),
                "transcribed": cable.transcribed,
                "sender_mismatch": cable.sender_mismatch,
            },
        )
    out = [Ingested(cable, True, parsed) for cable, parsed in rows]
    reports = [i for i in out if i.parsed.kind == "report"]
    replies = match_reports(session, [(i.cable, i.parsed) for i in reports], actor=actor)
    for i, reply in zip(reports, replies, strict=True):
        i.reply = reply
    # A plain readout with no reply cue word, from a post tasked by what it cites first.
    readouts = [
        i
        for i in out
        if i.parsed.kind == "other"
        and i.cable.post_id is not None
        and any(r.ref_id and r.ref_id[2:7] == "STATE" for r in i.parsed.references)
    ]
    if readouts:
        filed = {
            r.cable_id: r for r in file_tasked_readouts(session, [i.cable for i in readouts], actor)
        }
        for i in readouts:
            i.reply = filed.get(i.cable.id)
    return out


def _new_cable(text: str, parsed: ParsedCable, ref_id: str, sender: Sender) -> Cable:
    return Cable(
        ref_id=ref_id,
        dtg=_dtg(parsed.dtg),
        precedence=Precedence(parsed.precedence) if parsed.precedence in _PRECEDENCES else None,
        originator=(parsed.originator or None) and parsed.originator[:120],
        post_id=sender.post.id if sender.post is not None else None,
        transcribed=sender.transcribed,
        sender_mismatch=sender.mismatch,
        classification=_marking(parsed),
        captions=list(parsed.captions),
        subject=parsed.subject,
        tags=list(parsed.tags),
        kind=CableKind(parsed.kind) if parsed.kind in _KINDS else CableKind.OTHER,
        raw_text=strip_controls(text),
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
