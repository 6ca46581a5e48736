"""Cables the tracker drafts, in the telegram format it parses (../shared/DOMAIN.md):
a demarche's instruction cable, and a post's reporting cable on its tasking.

Each is written from what its reader may read, and only whole: a cable is a document
sent as one, so a reader from whom any portion of it is withheld (the one withholding
rule, app/auth/policy.py) gets a 403 rather than a cable with holes. The demarche
itself they may know of (its page shows it to them), so that is no 404.

The round trip holds by construction and is tested (tests/cables/test_telegram.py):
the project's own parser reads back the ref id, precedence, addressees,
classification, TAGS, subject, references and deadline written here.

A drafted instruction's number is `STATE <demarche id>` in its issue year (26STATE42
for demarche 42 issued in 2026): a report citing it is matched to the demarche by
app/cables/matching.py when no stored cable carries that number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.auth.policy import deny, visible_cables, visible_taskings
from app.classification import Classification, highest
from app.demarches import reads as demarche_reads
from app.demarches.models import PointUse
from app.errors import NotFound
from app.posts.models import Collective, CollectiveMembership, Post
from app.posts.reads import members_on
from app.taskings.models import Response, Tasking
from app.vocabulary import Precedence, TaskingRole

from .models import Cable

ORIGINATOR = "SECSTATE WASHDC"
ORIGINATOR_ROUTING = "RUEHC"
# The prosigns of a precedence: the transmission line's pair, and the DTG's letter.
PROSIGN = {
    Precedence.FLASH: ("ZZ", "Z"),
    Precedence.NIACT_IMMEDIATE: ("OO", "NIACT"),
    Precedence.IMMEDIATE: ("OO", "O"),
    Precedence.PRIORITY: ("PP", "P"),
    Precedence.ROUTINE: ("RR", "R"),
}
_SECURITY = {
    Classification.UNCLASSIFIED: "ZNR UUUUU ZZH",
    Classification.SBU: "ZNR UUUUU ZZH",
    Classification.CONFIDENTIAL: "ZNY CCCCC ZZH",
    Classification.SECRET: "ZNY SSSSS ZZH",
}
_BANNER = {
    Classification.UNCLASSIFIED: "UNCLAS",
    Classification.SBU: "UNCLAS SENSITIVE",
    Classification.CONFIDENTIAL: "C O N F I D E N T I A L",
    Classification.SECRET: "S E C R E T",
}
_MARK = {
    Classification.UNCLASSIFIED: "U",
    Classification.SBU: "SBU",
    Classification.CONFIDENTIAL: "C",
    Classification.SECRET: "S",
}
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


@dataclass(frozen=True)
class Telegram:
    ref_id: str
    classification: Classification
    text: str

    @property
    def filename(self) -> str:
        return f"{self.ref_id}.txt"


def dtg(at: datetime, letter: str) -> str:
    """The date-time group line: "O 140153Z DEC 07"."""
    at = at.astimezone(UTC)
    return f"{letter} {at:%d%H%M}Z {_MONTHS[at.month - 1]} {at:%y}"


def prose_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def drafted_number(demarche_id: int, issued: datetime) -> tuple[str, str]:
    """(ref id, message reference) of the tracker's instruction for a demarche."""
    return f"{issued:%y}STATE{demarche_id}", f"STATE {demarche_id:06d}"


def _paragraphs(paras: Iterable[tuple[Classification, str]]) -> list[str]:
    return [f"{n}. ({_MARK[mark]}) {text}" for n, (mark, text) in enumerate(paras, start=1)]


def _bullets(items: Iterable[str]) -> str:
    """'--' items; a point's own further lines (lettered sub-points) follow it as written."""
    return "\n\n".join("-- " + item.strip() for item in items)


def _runs(items: list[tuple[Classification, str]]) -> list[tuple[Classification, list[str]]]:
    """Consecutive items of one mark, as one paragraph each: every paragraph keeps the
    mark of what it carries, and none mixes marks."""
    out: list[tuple[Classification, list[str]]] = []
    for mark, text in items:
        if out and out[-1][0] == mark:
            out[-1][1].append(text)
        else:
            out.append((mark, [text]))
    return out


def _signature(author: str) -> str:
    """The drafter's surname, as a cable is signed ("Dana Whitfield (IO/UNP)": WHITFIELD)."""
    words = re.sub(r"\([^)]*\)", " ", author).split()
    return words[-1].upper() if words else "SECSTATE"


def _eo_line(level: Classification, on: date) -> list[str]:
    if level <= Classification.SBU:
        return ["E.O. 12958: N/A"]
    return [f"E.O. 12958: DECL: {on.replace(year=on.year + 10):%m/%d/%Y}"]


def _address(post: Post, precedence: Precedence, serial: int) -> str:
    route = f"{post.routing_indicator}/" if post.routing_indicator else ""
    return f"{route}{post.name.upper()} {precedence.value} {serial:04d}"


def _lines(head: str, lines: list[str]) -> list[str]:
    return [f"{head} {lines[0]}", *lines[1:]] if lines else []


def _collectives(
    session: Session, action: list[Post], on: date
) -> list[tuple[Collective, set[int]]]:
    """The collectives every member of which (that day) is an action post: addressed by
    name, their members then not listed again. Larger ones first."""
    found: list[tuple[Collective, set[int]]] = []
    ids = {p.id for p in action}
    for c in session.scalars(
        select(Collective)
        .options(selectinload(Collective.memberships).selectinload(CollectiveMembership.post))
        .where(Collective.all_posts.is_(False))
        .order_by(Collective.code)
    ):
        members = {p.id for p in members_on(session, c, on)}
        if len(members) >= 2 and members <= ids:
            found.append((c, members))
    found.sort(key=lambda cm: -len(cm[1]))
    chosen: list[tuple[Collective, set[int]]] = []
    covered: set[int] = set()
    for c, members in found:
        if not members & covered:
            chosen.append((c, members))
            covered |= members
    return chosen


def instruction_cable(
    session: Session, demarche_id: int, *, actor: User, now: datetime | None = None
) -> Telegram:
    """The demarche's instruction cable: TO its action posts (a collective by name when
    all its members act), INFO its info posts, paragraph 1 the action request with level
    and deadline, then objectives, background, points and key dates, each portion with
    its mark; classified as the highest portion it carries."""
    d = demarche_reads.sheet(session, demarche_id, actor=actor, with_targets=True)
    if d.summary_withheld or d.withheld_points or d.withheld_objectives or d.withheld_key_dates:
        raise deny(
            actor,
            f"The cable of demarche {d.id} carries portions above your clearance: it is "
            "sent whole, so it is withheld from you.",
            reason="cable portions withheld",
        )
    sent = d.issued_at or now or datetime.now(UTC)
    sent = sent if sent.tzinfo else sent.replace(tzinfo=UTC)
    ref_id, number = drafted_number(d.id, sent)
    targets = d.targets or []
    posts = {
        p.code: p
        for p in session.scalars(select(Post).where(Post.code.in_({t.post_code for t in targets})))
    }
    action = list(dict.fromkeys(t.post_code for t in targets if t.role == TaskingRole.ACTION))
    info = [
        c
        for c in dict.fromkeys(t.post_code for t in targets if t.role == TaskingRole.INFO)
        if c not in action
    ]
    groups = _collectives(session, [posts[c] for c in action], sent.date())
    in_groups = set().union(*(m for _, m in groups)) if groups else set()
    serial = iter(range(1, 10_000))
    to = [f"{c.name.upper()} {d.precedence.value}" for c, _ in groups] + [
        _address(posts[c], d.precedence, next(serial))
        for c in action
        if posts[c].id not in in_groups
    ]
    cc = [_address(posts[c], d.precedence, next(serial)) for c in info]

    paras: list[tuple[Classification, str]] = []
    level = (d.delivery_level or "").strip()
    at = f"at the {level}" if level.lower().endswith("level") else f"at the level of {level}"
    deadline = f" before {prose_date(d.deadline)}" if d.deadline else ""
    who = (
        "the action addressees"
        if groups
        else "Embassies " + ", ".join(posts[c].city for c in action)
        if action
        else "posts"
    )
    request = (
        f"This is an action request. The Department requests that {who} deliver the "
        f"following demarche {at}{deadline}."
    )
    if info:
        request += f" This message is info only for {', '.join(posts[c].city for c in info)}."
    paras.append((Classification.UNCLASSIFIED, request))
    if d.objectives:
        # One paragraph, marked as the highest objective in it: a reader takes the
        # objectives from the one paragraph that states them (as the parser does).
        paras.append(
            (
                highest([o.classification for o in d.objectives]),
                "The objectives of this demarche are to:\n\n"
                + _bullets(o.text for o in d.objectives),
            )
        )
    if d.summary.strip():
        paras.append((d.summary_classification, f"BACKGROUND: {d.summary.strip()}"))
    runs: list[tuple[Classification, PointUse, list[str]]] = []
    for p in d.talking_points:
        if runs and runs[-1][:2] == (p.classification, p.use):
            runs[-1][2].append(p.text)
        else:
            runs.append((p.classification, p.use, [p.text]))
    for mark, use, items in runs:
        paras.append((mark, f"POINTS (for {use.value} use):\n\n" + _bullets(items)))
    for mark, items in _runs(
        [(k.classification, f"{prose_date(k.on)}: {k.what}") for k in d.key_dates]
    ):
        paras.append((mark, "KEY DATES:\n\n" + _bullets(items)))

    cable_level = highest([mark for mark, _ in paras])
    refs: list[str] = []
    if d.source_cable_id is not None:
        source = session.scalar(
            select(Cable.ref_id).where(Cable.id == d.source_cable_id, visible_cables(actor))
        )
        if source:
            refs.append(source)
    prosign, letter = PROSIGN[d.precedence]
    lines = [
        f"VZCZCXRO{d.id % 10000:04d}",
        f"{prosign} {ORIGINATOR_ROUTING}",
        f"DE {ORIGINATOR_ROUTING} #{d.id % 10000:04d}/01 {sent:%j%H%M}",
        _SECURITY[cable_level],
        dtg(sent, letter),
        f"FM {ORIGINATOR}",
        *_lines("TO", to),
        *_lines("INFO", cc),
        "BT",
        f"{_BANNER[cable_level]} {number}",
        "",
        "SIPDIS",
        "",
        *_eo_line(cable_level, sent.date()),
        *([f"TAGS: {' '.join(d.tags)}"] if d.tags else []),
        f"SUBJECT: {d.subject.upper()}",
        "",
    ]
    if refs:
        # Lettered and canonical: the parser reads the id whatever the cable's year.
        lines += [f"REF: A. {refs[0]}", ""]
    if cable_level > Classification.SBU:
        lines += [f"Classified By: {d.author}, for reasons 1.4(b) and (d)", ""]
    for para in _paragraphs(paras):
        lines += [para, ""]
    lines += [_signature(d.author), ""]
    return Telegram(ref_id, cable_level, "\n".join(lines))


def report_cable(
    session: Session, tasking_id: int, *, actor: User, now: datetime | None = None
) -> Telegram:
    """A post's reporting cable on its tasking, for the post to edit and send: FM the
    post TO the Department, REF the instruction, then who was met, what they said, the
    commitments and a comment; classified as the demarche it answers."""
    tasking = session.scalar(
        select(Tasking)
        .options(
            selectinload(Tasking.deliveries),
            selectinload(Tasking.responses).selectinload(Response.commitments),
        )
        .where(Tasking.id == tasking_id, visible_taskings(actor))
    )
    if tasking is None:
        raise NotFound(f"No tasking {tasking_id}.")
    d = demarche_reads.sheet(session, tasking.demarche_id, actor=actor)
    post = tasking.post
    at = now or datetime.now(UTC)
    instruction_ref = _instruction_ref(session, d, actor=actor)
    serial = tasking.id % 1_000_000
    ref_id = f"{at:%y}{post.code}{serial}"
    level = d.classification
    mark = level
    paras: list[tuple[Classification, str]] = []
    deliveries = sorted(tasking.deliveries, key=lambda x: x.delivered_on)
    response = max(tasking.responses, key=lambda r: r.created_at, default=None)
    if deliveries:
        first = deliveries[0]
        whom = ", ".join(
            x for x in (first.recipient_name, first.recipient_title, first.recipient_office) if x
        )
        paras.append(
            (
                mark,
                f"SUMMARY: On {prose_date(first.delivered_on)} {first.delivered_by} delivered "
                f"reftel points to {whom} ({first.method.value.replace('_', ' ')}, "
                f"{first.level.value.replace('_', ' ')} level).",
            )
        )
        for extra in deliveries[1:]:
            paras.append(
                (
                    mark,
                    f"On {prose_date(extra.delivered_on)} {extra.delivered_by} also met "
                    f"{extra.recipient_name}"
                    + (f", {extra.recipient_title}" if extra.recipient_title else "")
                    + ".",
                )
            )
    else:
        paras.append((mark, "SUMMARY: Post has not yet delivered reftel points."))
    if response is not None:
        said = response.summary.strip()
        paras.append(
            (
                mark,
                f"RESPONSE: {said} Position: {response.position.value.replace('_', ' ')}.",
            )
        )
        if response.commitments:
            paras.append(
                (
                    mark,
                    "COMMITMENTS:\n\n"
                    + _bullets(
                        c.text + (f" (by {prose_date(c.due_date)})" if c.due_date else "")
                        for c in response.commitments
                    ),
                )
            )
    notes = " ".join(x.notes.strip() for x in deliveries if x.notes.strip())
    paras.append((mark, f"COMMENT: {notes or '[Post comment.]'}"))
    country = (tasking.country or post.country).upper()
    route = post.routing_indicator or "RUEHXX"
    lines = [
        f"VZCZCXRO{serial % 10000:04d}",
        f"RR {ORIGINATOR_ROUTING}",
        f"DE {route} #{serial % 10000:04d} {at.astimezone(UTC):%j%H%M}",
        _SECURITY[level],
        dtg(at, "R"),
        f"FM {post.name.upper()}",
        f"TO {ORIGINATOR_ROUTING}/{ORIGINATOR} ROUTINE {serial % 10000:04d}",
        "BT",
        f"{_BANNER[level]} {post.code} {serial:06d}",
        "",
        "SIPDIS",
        "",
        *_eo_line(level, at.date()),
        *([f"TAGS: {' '.join(d.tags)}"] if d.tags else []),
        f"SUBJECT: {country}: {d.subject.upper()}: DEMARCHE DELIVERED",
        "",
        f"REF: A. {instruction_ref}",
        "",
    ]
    if level > Classification.SBU:
        lines += [f"Classified By: {post.name}, for reasons 1.4(b) and (d)", ""]
    for para in _paragraphs(paras):
        lines += [para, ""]
    lines += [post.code, ""]
    return Telegram(ref_id, level, "\n".join(lines))


def _instruction_ref(session: Session, d: demarche_reads.DemarcheSheet, *, actor: User) -> str:
    """What a report cites: the source cable the demarche carries out, when it has one
    its reader may see; else the tracker's own instruction number."""
    if d.source_cable_id is not None:
        source = session.scalar(
            select(Cable.ref_id).where(Cable.id == d.source_cable_id, visible_cables(actor))
        )
        if source:
            return source
    sent = d.issued_at or datetime.now(UTC)
    return drafted_number(d.id, sent if sent.tzinfo else sent.replace(tzinfo=UTC))[0]
