"""Drafting a demarche from an instruction cable, for the desk to check and issue.

Anything the cable says that the demarche cannot hold (a bad tag, a date that is
not one) is left out with a warning rather than refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import visible_cables, visible_demarches
from app.classification import Classification, from_marking, highest
from app.demarches import service as demarches
from app.demarches.models import Demarche, DemarcheStatus
from app.demarches.schemas import DemarcheIn, KeyDateIn, ObjectiveIn, TalkingPointIn, clean_tags
from app.errors import Conflict, Invalid
from app.vocabulary import Precedence

from .models import Cable, CableKind
from .parser import ParsedCable, parse_cable
from .registry import CollectiveResolution, cable_day, resolve_addressees
from .schemas import CollectiveResolved, ExcludedPost, Unresolved

_PRECEDENCES = {p.value for p in Precedence}


@dataclass(frozen=True)
class SourcePane:
    """A draft's source cable as its edit page shows it beside the fields: the text, and
    what the import could not place (said again: the parse and the registry are
    deterministic, so the page needs nothing kept from the import's request)."""

    ref_id: str
    raw_text: str
    level: Classification
    unresolved: list[Unresolved]
    warnings: list[str]
    # The collectives it addressed, resolved on its date, for the desk to confirm.
    collectives: list[CollectiveResolved]


def source_pane(session: Session, cable_id: int | None, *, actor: User) -> SourcePane | None:
    """The source cable of a draft, if it has one its editor may read."""
    if cable_id is None:
        return None
    cable = session.scalar(select(Cable).where(Cable.id == cable_id, visible_cables(actor)))
    if cable is None:
        return None
    parsed = parse_cable(cable.raw_text)
    warnings = list(parsed.warnings)
    demarche_in(
        parsed,
        fallback_subject=cable.subject or cable.ref_id,
        warnings=warnings,
        cable_level=from_marking(cable.classification),
    )
    resolved = resolve_addressees(session, parsed, on=cable_day(parsed) or cable.received_at.date())
    return SourcePane(
        ref_id=cable.ref_id,
        raw_text=cable.raw_text,
        level=from_marking(cable.classification),
        unresolved=resolved.unresolved,
        warnings=warnings,
        collectives=[resolved_out(c) for c in resolved.collectives],
    )


@dataclass
class Drafted:
    demarche: Demarche
    unresolved: list[Unresolved]
    warnings: list[str]
    # The collectives the cable addressed, resolved on its date, for the desk to confirm.
    collectives: list[CollectiveResolution]


def drafts_of(session: Session, cable: Cable, *, actor: User) -> list[int]:
    """The live demarches drafted from this cable that the actor may see (one they may
    not is not named: as far as they know, the cable was never drafted)."""
    return list(
        session.scalars(
            select(Demarche.id)
            .where(
                Demarche.source_cable_id == cable.id,
                Demarche.status != DemarcheStatus.CANCELLED,
                visible_demarches(actor),
            )
            .order_by(Demarche.id)
        )
    )


def draft_demarche(session: Session, cable: Cable, *, actor: User, again: bool = False) -> Drafted:
    """A draft demarche from an instruction cable, for the desk to check and issue.

    A cable already drafted is refused (409, naming the drafts) unless `again` says the
    desk means to make another: a reload or a second import must not add one silently."""
    if cable.kind != CableKind.INSTRUCTION:
        raise Invalid(
            f"Cable {cable.ref_id} reads as {cable.kind.value}, not an instruction: "
            "create the demarche by hand."
        )
    parsed = parse_cable(cable.raw_text)
    warnings = list(parsed.warnings)
    # A collective means its members on the cable's date; undated, on the day it came in.
    on = cable_day(parsed) or cable.received_at.date()
    resolved = resolve_addressees(session, parsed, on=on)
    data = demarche_in(
        parsed,
        fallback_subject=cable.subject or cable.ref_id,
        warnings=warnings,
        # As stored: the banner, or the highest portion mark when that is higher.
        cable_level=from_marking(cable.classification),
    )
    data.targets = resolved.targets
    if data.deadline is not None and data.deadline < date.today():
        # Kept as the cable says: the desk moves it before issuing (issue refuses a past date).
        warnings.append(f"deadline {data.deadline.isoformat()} is in the past")
    earlier = drafts_of(session, cable, actor=actor)
    if earlier and not again:
        raise Conflict(
            f"Cable {cable.ref_id} is already drafted as demarche "
            f"{', '.join(map(str, earlier))}: open that draft, or draft the cable again "
            "(?again=true) to make another.",
            existing_demarche_ids=earlier,
        )
    if earlier:
        warnings.append(
            f"already drafted from this cable as demarche {', '.join(map(str, earlier))}"
        )
    demarche = demarches.create_draft(session, data, actor=actor, source_cable_id=cable.id)
    return Drafted(demarche, resolved.unresolved, warnings, resolved.collectives)


def resolved_out(c: CollectiveResolution) -> CollectiveResolved:
    """A collective's resolution as the API and the draft page show it."""
    return CollectiveResolved(
        code=c.collective.code,
        name=c.collective.name,
        role=c.role,
        on=c.on,
        members=[p.code for p in c.members],
        tasked=[p.code for p in c.tasked],
        excluded=[ExcludedPost(post=e.post.code, said=e.said) for e in c.excluded],
    )


def demarche_in(
    parsed: ParsedCable,
    *,
    fallback_subject: str,
    warnings: list[str],
    cable_level: Classification | None = None,
) -> DemarcheIn:
    """The DemarcheIn a parsed instruction implies; anything invalid is left out, with a warning.

    Every portion keeps the mark of the paragraph it came from (unmarked: the cable's
    level), and the demarche is classified at the highest of the cable's level and its
    portions' marks, never below: a (S) paragraph under a CONFIDENTIAL banner makes a
    SECRET demarche, not a CONFIDENTIAL one that carries SECRET text."""
    level = highest(
        [from_marking(parsed.classification), cable_level or Classification.UNCLASSIFIED]
    )
    paragraphs = Paragraphs(parsed, level)
    subject = (parsed.subject or fallback_subject or "").strip()[:300]
    if len(subject) < 3:
        subject = f"Instruction {fallback_subject}"[:300]
    tags: list[str] = []
    for tag in parsed.tags:
        try:
            tags.extend(clean_tags([tag]))
        except ValueError:
            warnings.append(f"tag {tag!r} left out (not 1-16 letters or digits)")
    points = [
        TalkingPointIn(
            text=p.text[:20_000],
            use=p.use if p.use in ("private", "public") else "private",  # type: ignore[arg-type]
            classification=paragraphs.marking(p.text),
        )
        for p in parsed.talking_points[:200]
        if p.text.strip()
    ]
    objectives = [
        ObjectiveIn(text=o.strip()[:20_000], classification=paragraphs.marking(o))
        for o in parsed.objectives
        if o.strip()
    ][:50]
    key_dates = []
    for k in parsed.key_dates[:50]:
        try:
            key_dates.append(
                KeyDateIn(
                    date=date.fromisoformat(k.date),
                    what=k.what[:300] or "?",
                    classification=paragraphs.marking(k.what),
                )
            )
        except (ValueError, ValidationError):
            warnings.append(f"key date {k.date!r} left out (not a date)")
    deadline = None
    if parsed.deadline:
        try:
            deadline = date.fromisoformat(parsed.deadline)
        except ValueError:
            warnings.append(f"deadline {parsed.deadline!r} left out (not a date)")
    if not points:
        warnings.append("no talking points found: add them before issuing")
    summary = (parsed.summary or parsed.target_description or "")[:20_000]
    summary_mark = paragraphs.summary_marking(summary) if summary else level
    marks = [summary_mark]
    marks += [p.classification or level for p in points]
    marks += [o.classification or level for o in objectives]
    marks += [k.classification or level for k in key_dates]
    return DemarcheIn(
        subject=subject,
        summary=summary,
        summary_classification=summary_mark,
        classification=highest([level, *marks]),
        precedence=Precedence(parsed.precedence)
        if parsed.precedence in _PRECEDENCES
        else Precedence.ROUTINE,
        deadline=deadline,
        delivery_level=(parsed.delivery_level or None) and parsed.delivery_level[:200],
        tags=tags[:30],
        objectives=list(objectives),
        talking_points=points,
        key_dates=key_dates,
    )


class Paragraphs:
    """The cable's paragraphs as a portion's marking looks them up: folded once each."""

    def __init__(self, parsed: ParsedCable, cable_level: Classification) -> None:
        self.level = cable_level
        self.rows = [
            (" ".join(p.text.split()), from_marking(p.marking) if p.marking else cable_level)
            for p in parsed.paragraphs
        ]

    def sources(self, text: str) -> list[int]:
        """The paragraphs a portion may come from: those holding its opening, and those
        whose opening it holds (short enough that a portion ending early in a paragraph
        still finds it)."""
        flat = " ".join(text.split())
        if not flat:
            return []
        probe = flat[:60]
        return [
            i
            for i, (body, _) in enumerate(self.rows)
            if body and (probe in body or body[:30] in flat)
        ]

    def marking(self, text: str) -> Classification:
        """The mark of the paragraphs a portion came from; unmarked ones take the cable's
        level. Every source counts and the highest mark wins, so a portion whose words also
        sit in a SECRET paragraph is SECRET; one found nowhere takes the cable's level."""
        found = [self.rows[i][1] for i in self.sources(text)]
        return highest(found) if found else self.level

    def summary_marking(self, text: str) -> Classification:
        """A summary runs from "SUMMARY:" to "END SUMMARY", over as many paragraphs: the
        highest mark of every paragraph in that span, and of any other source."""
        sources = self.sources(text)
        marks = [self.marking(text)]
        for i in range(sources[0] if sources else len(self.rows), len(self.rows)):
            body, mark = self.rows[i]
            marks.append(mark)
            if _END_SUMMARY.search(body):
                break
        return highest(marks)


_END_SUMMARY = re.compile(r"\bEND\s+(?:OF\s+)?SUMMARY\b", re.IGNORECASE)
