"""Demarche commands: drafting, issuing, cancelling and closing. Each checks the
lifecycle table (app/demarches/rules.py), writes the change and its audit event, and
flushes; the caller commits. What a demarche shows is read by app/demarches/reads.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import may_read_portion, visible_cables, withhold
from app.cables.models import Cable
from app.cables.parser import parse_cable
from app.cables.registry import cable_day, resolve_addressees
from app.classification import Classification
from app.db import today_utc
from app.demarches import completeness, rules
from app.demarches.models import (
    Demarche,
    DemarcheStatus,
    DemarcheTag,
    DemarcheTarget,
    KeyDate,
    Objective,
    TalkingPoint,
)
from app.demarches.rules import DemarcheAction, audit
from app.demarches.schemas import (
    DemarcheIn,
    DemarcheUpdate,
    KeyDateIn,
    ObjectiveItem,
    TalkingPointIn,
    TargetIn,
    objectives_in,
)
from app.errors import Invalid
from app.notifications.models import Kind
from app.notifications.outbox import to_posts
from app.posts.models import Post
from app.taskings.models import OPEN_STATUSES, Tasking, TaskingStatus
from app.taskings.workflow import audit_tasking, withdraw


class Problems:
    """Every refusal of one write, gathered before anything is written: a form shows them
    all at once, each beside its field, and the API lists them in `errors`."""

    def __init__(self) -> None:
        self.found: list[Invalid] = []

    @contextmanager
    def gather(self) -> Iterator[None]:
        try:
            yield
        except Invalid as exc:
            self.found.append(exc)

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            first = self.found[0]
            raise Invalid(
                " ".join(e.detail for e in self.found),
                field=first.extra.get("field", "form"),
                errors=[
                    {"field": str(e.extra.get("field", "form")), "message": e.detail}
                    for e in self.found
                ],
            )


def resolve_targets(session: Session, targets: list[TargetIn]) -> list[DemarcheTarget]:
    codes = {t.post for t in targets}
    posts = {p.code: p for p in session.scalars(select(Post).where(Post.code.in_(codes)))}
    unknown = sorted(codes - posts.keys())
    if unknown:
        raise Invalid(
            f"Unknown post{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
            field="targets",
        )
    inactive = sorted(c for c, p in posts.items() if not p.active)
    if inactive:
        raise Invalid(f"Inactive posts cannot be tasked: {', '.join(inactive)}.", field="targets")
    rows: list[DemarcheTarget] = []
    seen: set[tuple[str, str]] = set()
    for t in targets:
        post = posts[t.post]
        for country in t.countries or [post.country]:
            country = country.strip()
            if not country:
                raise Invalid(f"An empty country was given for post {post.code}.", field="targets")
            if (post.code, country.lower()) in seen:
                raise Invalid(f"Post {post.code} is targeted twice for {country}.", field="targets")
            seen.add((post.code, country.lower()))
            rows.append(
                DemarcheTarget(post=post, country=country, role=t.role, due_date=t.due_date)
            )
    return rows


# -- the texts: every portion with its mark --------------------------------------------


class _Unset:
    """A part the write leaves out (None is a value for some)."""


UNSET: Any = _Unset()


@dataclass
class Texts:
    """What a write does to a demarche's texts, decided (and checked) before it writes.

    A list given replaces the portions its editor can read; those withheld from them
    keep their place in it, unchanged (an editor cleared CONFIDENTIAL cannot amend away
    a SECRET point they cannot see). None: the part stays as it is."""

    summary: tuple[str, Classification] | None = None
    objectives: list[Objective] | None = None
    talking_points: list[TalkingPoint] | None = None
    key_dates: list[KeyDate] | None = None


P = TypeVar("P", Objective, TalkingPoint, KeyDate)


def _in_place(old: list[P], new: list[P], actor: User) -> tuple[list[P], list[P]]:
    """The new list where the readable portions stood, the withheld ones kept in their
    place (after as many new ones as readable ones stood before them); and those kept."""
    _, hidden = withhold(actor, old, lambda p: p.classification)
    withheld = {id(p) for p in hidden}
    anchors: list[tuple[int, P]] = []
    readable_before = 0
    for p in old:
        if id(p) in withheld:
            anchors.append((readable_before, p))
        else:
            readable_before += 1
    out: list[P] = []
    waiting = iter(anchors)
    anchor = next(waiting, None)
    for i, p in enumerate(new):
        while anchor is not None and anchor[0] <= i:
            out.append(anchor[1])
            anchor = next(waiting, None)
        out.append(p)
    while anchor is not None:
        out.append(anchor[1])
        anchor = next(waiting, None)
    return out, hidden


def plan_texts(
    demarche: Demarche | None,
    *,
    actor: User,
    level: Classification,
    reclassified: bool = False,
    summary: Any = UNSET,
    summary_classification: Classification | None = None,
    objectives: list[ObjectiveItem] | None = None,
    talking_points: list[TalkingPointIn] | None = None,
    key_dates: list[KeyDateIn] | None = None,
) -> Texts:
    """The texts a write makes, each portion marked (unmarked: the demarche's level),
    checked by the rule of marks (rules.check_marks) before anything is written; 422
    when they break it, or when the write would replace a summary withheld from its
    author. `demarche` is None for a new one."""
    texts = Texts()
    written: list[rules.Portion] = []
    kept: list[rules.Portion] = []

    def mark(given: Classification | None) -> Classification:
        return level if given is None else given

    summary_given = summary is not UNSET or summary_classification is not None
    if (
        demarche is not None
        and summary_given
        and not may_read_portion(actor, demarche.summary_classification)
    ):
        raise Invalid(
            "The summary is marked above your clearance: it stays as it is. "
            "Leave the summary out of your change.",
            field="summary",
        )
    if demarche is None or summary_given:
        text = summary if summary is not UNSET else (demarche.summary if demarche else "")
        texts.summary = (text, mark(summary_classification))
        written.append(rules.Portion("the summary", "summary", texts.summary[1]))
    else:
        kept.append(rules.Portion("the summary", "summary", demarche.summary_classification))

    def positioned(kind: str, old: list[P], new: list[P] | None) -> list[P] | None:
        if new is None:
            kept.extend(
                rules.Portion(
                    _name(p, kind, readable=may_read_portion(actor, p.classification)),
                    kind,
                    p.classification,
                )
                for p in old
            )
            return None
        merged, hidden = _in_place(old, new, actor)
        withheld = {id(p) for p in hidden}
        out: list[P] = []
        for i, p in enumerate(merged, start=1):
            if id(p) in withheld:
                p = _copy(p)  # the list is written anew: the kept portion as a new row
            if not isinstance(p, KeyDate):
                p.position = i
            portion = rules.Portion(
                _name(p, kind, readable=id(merged[i - 1]) not in withheld),
                kind,
                p.classification,
            )
            (kept if id(merged[i - 1]) in withheld else written).append(portion)
            out.append(p)
        return out

    old = demarche
    texts.objectives = positioned(
        "objective",
        sorted(old.objectives, key=lambda o: o.position) if old else [],
        None
        if objectives is None
        else [
            Objective(text=o.text, classification=mark(o.classification))
            for o in objectives_in(objectives)
        ],
    )
    texts.talking_points = positioned(
        "point",
        sorted(old.talking_points, key=lambda p: p.position) if old else [],
        None
        if talking_points is None
        else [
            TalkingPoint(text=p.text, classification=mark(p.classification), use=p.use)
            for p in talking_points
        ],
    )
    texts.key_dates = positioned(
        "key date",
        sorted(old.key_dates, key=lambda k: k.on) if old else [],
        None
        if key_dates is None
        else [
            KeyDate(on=k.date, what=k.what, classification=mark(k.classification))
            for k in key_dates
        ],
    )
    rules.check_marks(level, actor=actor, written=written, kept=kept, reclassified=reclassified)
    return texts


def _name(p: Objective | TalkingPoint | KeyDate, kind: str, *, readable: bool) -> str:
    """How a refusal names a portion: by position, and a key date by its date only when
    the editor may read it."""
    if isinstance(p, KeyDate):
        return f"the key date of {p.on.isoformat()}" if readable else "a key date"
    return f"{kind} {p.position}"


def _copy(p: P) -> P:
    """A kept portion as a new row: the list is written anew, its text and mark unchanged."""
    copied: Any
    if isinstance(p, Objective):
        copied = Objective(position=p.position, text=p.text, classification=p.classification)
    elif isinstance(p, TalkingPoint):
        copied = TalkingPoint(
            position=p.position, text=p.text, classification=p.classification, use=p.use
        )
    else:
        copied = KeyDate(on=p.on, what=p.what, classification=p.classification)
    return copied


def write_texts(session: Session, demarche: Demarche, texts: Texts) -> None:
    """Write what plan_texts decided (None leaves a part as it is)."""
    if texts.summary is not None:
        demarche.summary, demarche.summary_classification = texts.summary
    if texts.objectives is not None:
        if demarche.objectives:
            demarche.objectives = []
            session.flush()  # positions are unique per demarche: clear before refilling
        demarche.objectives = texts.objectives
    if texts.talking_points is not None:
        if demarche.talking_points:
            demarche.talking_points = []
            session.flush()
        demarche.talking_points = texts.talking_points
    if texts.key_dates is not None:
        demarche.key_dates = texts.key_dates


def _within_clearance(level: Classification, actor: User) -> None:
    """An author cannot classify a demarche above what they may read: they could then
    neither see nor correct it."""
    if level > actor.clearance:
        raise Invalid(
            f"You are cleared to {actor.clearance.value}: a demarche you write cannot be "
            f"classified {level.value}.",
            field="classification",
        )


def _source_cable(session: Session, cable_id: int, *, actor: User) -> None:
    """A demarche names as its source only a cable its author may see; a hidden one is
    refused in the same words as a missing one, so the refusal reveals nothing."""
    found = session.scalar(select(Cable.id).where(Cable.id == cable_id, visible_cables(actor)))
    if found is None:
        raise Invalid(
            f"There is no cable {cable_id} that you may read: link the demarche to a cable "
            "you can open.",
            field="source_cable_id",
        )


def create_draft(
    session: Session, data: DemarcheIn, *, actor: User, source_cable_id: int | None = None
) -> Demarche:
    """A draft as written; `source_cable_id` is the cable it was drafted from, which the
    caller has checked (one given in `data` is checked here)."""
    problems = Problems()
    with problems.gather():
        _within_clearance(data.classification, actor)
    if source_cable_id is None and data.source_cable_id is not None:
        source_cable_id = data.source_cable_id
        with problems.gather():
            _source_cable(session, source_cable_id, actor=actor)
    texts = Texts()
    with problems.gather():
        texts = plan_texts(
            None,
            actor=actor,
            level=data.classification,
            summary=data.summary,
            summary_classification=data.summary_classification,
            objectives=data.objectives,
            talking_points=data.talking_points,
            key_dates=data.key_dates,
        )
    targets: list[DemarcheTarget] = []
    with problems.gather():
        targets = resolve_targets(session, data.targets)
    problems.raise_any()
    assert texts.summary is not None
    demarche = Demarche(
        subject=data.subject,
        summary=texts.summary[0],
        summary_classification=texts.summary[1],
        classification=data.classification,
        precedence=data.precedence,
        status=DemarcheStatus.DRAFT,
        deadline=data.deadline,
        delivery_level=data.delivery_level,
        author_id=actor.id,
        source_cable_id=source_cable_id,
        objectives=texts.objectives or [],
        talking_points=texts.talking_points or [],
        key_dates=texts.key_dates or [],
        targets=targets,
        tag_rows=[DemarcheTag(tag=t) for t in data.tags],
    )
    session.add(demarche)
    session.flush()
    audit(
        session,
        demarche,
        "create",
        actor=actor,
        after={**demarche.snapshot(), "source_cable_id": demarche.source_cable_id},
    )
    return demarche


def update_draft(
    session: Session, demarche: Demarche, data: DemarcheUpdate, *, actor: User
) -> Demarche:
    rules.check(demarche, DemarcheAction.EDIT)
    before = {**demarche.snapshot(), "source_cable_id": demarche.source_cable_id}
    changes = data.model_dump(exclude_unset=True)
    for field in ("subject", "summary", "classification", "precedence", "summary_classification"):
        if field in changes and changes[field] is None:
            raise Invalid(f"{field} cannot be null.", field=field)
    problems = Problems()
    level = data.classification if data.classification is not None else demarche.classification
    if data.classification is not None:
        with problems.gather():
            _within_clearance(data.classification, actor)
    if data.source_cable_id is not None and data.source_cable_id != demarche.source_cable_id:
        with problems.gather():
            _source_cable(session, data.source_cable_id, actor=actor)
    texts = Texts()
    with problems.gather():
        texts = plan_texts(
            demarche,
            actor=actor,
            level=level,
            reclassified=level != demarche.classification,
            summary=data.summary if "summary" in changes else UNSET,
            summary_classification=data.summary_classification,
            objectives=data.objectives,
            talking_points=data.talking_points,
            key_dates=data.key_dates,
        )
    new_targets: list[DemarcheTarget] | None = None
    if data.targets is not None:
        with problems.gather():
            new_targets = resolve_targets(session, data.targets)
    problems.raise_any()
    for field in (
        "subject",
        "classification",
        "precedence",
        "deadline",
        "delivery_level",
        "source_cable_id",
    ):
        if field in changes:
            setattr(demarche, field, getattr(data, field))
    if data.tags is not None:
        demarche.tag_rows = [DemarcheTag(tag=t) for t in data.tags]
    write_texts(session, demarche, texts)
    if new_targets is not None:
        demarche.targets = []
        session.flush()
        demarche.targets = new_targets
    session.flush()
    audit(
        session,
        demarche,
        "update",
        actor=actor,
        before=before,
        after={**demarche.snapshot(), "source_cable_id": demarche.source_cable_id},
    )
    return demarche


def check_draft(
    session: Session, demarche: Demarche, *, actor: User, today: date | None = None
) -> completeness.Completeness:
    """The completeness check of a draft as this reader may see it (rules in
    app/demarches/completeness.py), with what its source cable addressed that the
    targets leave out, when the reader may read that cable. Writes nothing."""
    return completeness.check(
        demarche,
        today=today or today_utc(),
        readable=lambda mark: may_read_portion(actor, mark),
        source_gaps=_source_gaps(session, demarche, actor=actor),
    )


def _source_gaps(
    session: Session, demarche: Demarche, *, actor: User
) -> list[completeness.SourceGap]:
    if demarche.source_cable_id is None:
        return []
    cable = session.scalar(
        select(Cable).where(Cable.id == demarche.source_cable_id, visible_cables(actor))
    )
    if cable is None:
        return []
    parsed = parse_cable(cable.raw_text)
    resolved = resolve_addressees(session, parsed, on=cable_day(parsed) or cable.received_at.date())
    gaps = [
        completeness.SourceGap(
            "target_unresolved",
            f"The source cable addresses {u.name}, which no post in the registry matches: "
            "add its post or leave it out on purpose.",
        )
        for u in resolved.unresolved
    ]
    targeted = {t.post_id for t in demarche.targets}
    for c in resolved.collectives:
        missing = sorted(p.code for p in c.tasked if p.id not in targeted)
        if missing:
            gaps.append(
                completeness.SourceGap(
                    "collective_not_expanded",
                    f"{c.collective.name} stood for {len(c.tasked)} posts on "
                    f"{c.on.isoformat()}; not among the targets: {', '.join(missing)}.",
                )
            )
    return gaps


def issue(
    session: Session, demarche: Demarche, *, actor: User, today: date | None = None
) -> Demarche:
    """Issue a draft: one tasking per target, due on its own date or the deadline."""
    today = today or today_utc()
    move = rules.check(demarche, DemarcheAction.ISSUE)
    found = check_draft(session, demarche, actor=actor, today=today)
    if found.errors:
        raise Invalid(
            " ".join(e.message for e in found.errors),
            field=found.errors[0].field,
            errors=[e.as_dict() for e in found.errors],
        )

    before = {"status": demarche.status}
    rules.enter(demarche, move)
    taskings = [tasking_for(demarche, t) for t in demarche.targets]
    session.add_all(taskings)
    session.flush()
    audit(
        session,
        demarche,
        "issue",
        actor=actor,
        before=before,
        # Issued despite these: the trail keeps what the desk was told.
        after={
            "status": demarche.status,
            "taskings": len(taskings),
            "warnings": [w.as_dict() for w in found.warnings],
        },
    )
    for t in taskings:
        audit_tasking(
            session,
            t,
            "create",
            actor=actor,
            after={
                "post_id": t.post_id,
                "country": t.country,
                "role": t.role,
                "due_date": t.due_date,
                "status": t.status,
            },
        )
    # The post hears of its new tasking (its precedence is the demarche's) at once.
    to_posts(session, Kind.NEW_TASKING, taskings)
    return demarche


def cancel(session: Session, demarche: Demarche, *, actor: User, reason: str = "") -> Demarche:
    move = rules.check(demarche, DemarcheAction.CANCEL)
    if demarche.status == DemarcheStatus.ISSUED and not reason.strip():
        # Posts are at work on it: each is shown why it stops.
        raise Invalid("Give a reason to cancel an issued demarche: its posts are shown it.")
    before = {"status": demarche.status}
    rules.enter(demarche, move)
    # Each post's tasking carries the desk's reason: it is what the post is shown.
    withdrawn = withdraw_open(
        session,
        demarche.id,
        actor=actor,
        reason=f"Demarche cancelled: {reason}" if reason else "Demarche cancelled.",
    )
    session.flush()
    to_posts(session, Kind.CANCELLED, withdrawn)
    audit(
        session,
        demarche,
        "cancel",
        actor=actor,
        before=before,
        after={"status": demarche.status, "reason": reason},
    )
    return demarche


def tasking_for(demarche: Demarche, target: DemarcheTarget) -> Tasking:
    """The tasking a target becomes: due on its own date, else on the deadline."""
    return Tasking(
        demarche_id=demarche.id,
        post_id=target.post_id,
        country=target.country,
        role=target.role,
        due_date=target.due_date or demarche.deadline,
        status=TaskingStatus.PENDING,
    )


def close(session: Session, demarche: Demarche, *, actor: User, reason: str) -> Demarche:
    """The desk closes an issued demarche; taskings still open are cancelled with it."""
    move = rules.check(demarche, DemarcheAction.CLOSE)
    withdraw_open(session, demarche.id, actor=actor, reason=f"Demarche closed: {reason}")
    rules.enter(demarche, move)
    session.flush()
    audit(
        session,
        demarche,
        "close",
        actor=actor,
        before={"status": DemarcheStatus.ISSUED},
        after={"status": demarche.status, "reason": reason},
    )
    return demarche


def withdraw_open(session: Session, demarche_id: int, *, actor: User, reason: str) -> list[Tasking]:
    """The demarche takes back every open tasking (through the workflow's table); those
    it took back."""
    taken = list(
        session.scalars(
            select(Tasking).where(
                Tasking.demarche_id == demarche_id, Tasking.status.in_(OPEN_STATUSES)
            )
        )
    )
    for tasking in taken:
        withdraw(session, tasking, actor=actor, reason=reason)
    return taken
