"""Drafting a demarche from an instruction cable, for the desk to check and issue.

Anything the cable says that the demarche cannot hold (a bad tag, a date that is
not one) is left out with a warning rather than refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.classification import Classification, from_marking
from app.demarches import service as demarches
from app.demarches.models import Demarche, DemarcheStatus
from app.demarches.schemas import DemarcheIn, KeyDateIn, TalkingPointIn, clean_tags
from app.errors import Invalid
from app.vocabulary import Precedence

from .models import Cable, CableKind
from .parser import ParsedCable, parse_cable
from .registry import resolve_addressees
from .schemas import Unresolved

_PRECEDENCES = {p.value for p in Precedence}


@dataclass
class Drafted:
    demarche: Demarche
    unresolved: list[Unresolved]
    warnings: list[str]


def draft_demarche(session: Session, cable: Cable, *, actor: User) -> Drafted:
    """A draft demarche from an instruction cable, for the desk to check and issue."""
    if cable.kind != CableKind.INSTRUCTION:
        raise Invalid(
            f"Cable {cable.ref_id} reads as {cable.kind.value}, not an instruction: "
            "create the demarche by hand."
        )
    parsed = parse_cable(cable.raw_text)
    warnings = list(parsed.warnings)
    resolved = resolve_addressees(session, parsed)
    data = demarche_in(parsed, fallback_subject=cable.subject or cable.ref_id, warnings=warnings)
    data.targets = resolved.targets
    if data.deadline is not None and data.deadline < date.today():
        # Kept as the cable says: the desk moves it before issuing (issue refuses a past date).
        warnings.append(f"deadline {data.deadline.isoformat()} is in the past")
    earlier = session.scalars(
        select(Demarche.id).where(
            Demarche.source_cable_id == cable.id, Demarche.status != DemarcheStatus.CANCELLED
        )
    ).all()
    if earlier:
        warnings.append(
            f"already drafted from this cable as demarche {', '.join(map(str, earlier))}"
        )
    demarche = demarches.create_draft(session, data, actor=actor, source_cable_id=cable.id)
    return Drafted(demarche, resolved.unresolved, warnings)


def demarche_in(parsed: ParsedCable, *, fallback_subject: str, warnings: list[str]) -> DemarcheIn:
    """The DemarcheIn a parsed instruction implies; anything invalid is left out, with a warning."""
    classification = from_marking(parsed.classification)
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
            classification=_point_marking(parsed, p.text, classification),
        )
        for p in parsed.talking_points[:200]
        if p.text.strip()
    ]
    key_dates = []
    for k in parsed.key_dates[:50]:
        try:
            key_dates.append(KeyDateIn(date=date.fromisoformat(k.date), what=k.what[:300] or "?"))
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
    summary = parsed.summary or parsed.target_description or ""
    return DemarcheIn(
        subject=subject,
        summary=summary[:20_000],
        classification=classification,
        precedence=Precedence(parsed.precedence)
        if parsed.precedence in _PRECEDENCES
        else Precedence.ROUTINE,
        deadline=deadline,
        delivery_level=(parsed.delivery_level or None) and parsed.delivery_level[:200],
        tags=tags[:30],
        objectives=[o.strip() for o in parsed.objectives if o.strip()][:50],
        talking_points=points,
        key_dates=key_dates,
    )


def _point_marking(parsed: ParsedCable, text: str, cable_level: Classification) -> Classification:
    """The portion mark of the paragraph a point sits in; unmarked points take the cable's."""
    probe = " ".join(text.split())[:60]
    for para in parsed.paragraphs:
        if probe and probe in " ".join(para.text.split()):
            return from_marking(para.marking) if para.marking else cable_level
    return cable_level
