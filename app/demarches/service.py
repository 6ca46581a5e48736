"""Demarche commands: drafting, issuing, cancelling and closing. Each checks the
lifecycle table (app/demarches/rules.py), writes the change and its audit event, and
flushes; the caller commits. What a demarche shows is read by app/demarches/reads.py."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.classification import Classification
from app.db import today_utc
from app.demarches import rules
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
from app.demarches.schemas import DemarcheIn, DemarcheUpdate, KeyDateIn, TalkingPointIn, TargetIn
from app.errors import Invalid
from app.posts.models import Post
from app.taskings.models import OPEN_STATUSES, Tasking, TaskingStatus
from app.taskings.workflow import audit_tasking, withdraw
from app.vocabulary import TaskingRole


def resolve_targets(session: Session, targets: list[TargetIn]) -> list[DemarcheTarget]:
    codes = {t.post for t in targets}
    posts = {p.code: p for p in session.scalars(select(Post).where(Post.code.in_(codes)))}
    unknown = sorted(codes - posts.keys())
    if unknown:
        raise Invalid(f"Unknown post{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.")
    inactive = sorted(c for c, p in posts.items() if not p.active)
    if inactive:
        raise Invalid(f"Inactive posts cannot be tasked: {', '.join(inactive)}.")
    rows: list[DemarcheTarget] = []
    seen: set[tuple[str, str]] = set()
    for t in targets:
        post = posts[t.post]
        for country in t.countries or [post.country]:
            country = country.strip()
            if not country:
                raise Invalid(f"An empty country was given for post {post.code}.")
            if (post.code, country.lower()) in seen:
                raise Invalid(f"Post {post.code} is targeted twice for {country}.")
            seen.add((post.code, country.lower()))
            rows.append(
                DemarcheTarget(post=post, country=country, role=t.role, due_date=t.due_date)
            )
    return rows


def points_of(points: list[TalkingPointIn]) -> list[TalkingPoint]:
    return [
        TalkingPoint(position=i, text=p.text, classification=p.classification, use=p.use)
        for i, p in enumerate(points, start=1)
    ]


def objectives_of(texts: list[str]) -> list[Objective]:
    return [Objective(position=i, text=t) for i, t in enumerate(texts, start=1)]


def key_dates_of(dates: list[KeyDateIn]) -> list[KeyDate]:
    return [KeyDate(on=k.date, what=k.what) for k in dates]


def replace_texts(
    session: Session,
    demarche: Demarche,
    *,
    objectives: list[str] | None,
    talking_points: list[TalkingPointIn] | None,
    key_dates: list[KeyDateIn] | None,
) -> None:
    """Replace whichever of the lists are given (None leaves one as it is)."""
    if objectives is not None:
        demarche.objectives = []
        session.flush()  # positions are unique per demarche: clear before refilling
        demarche.objectives = objectives_of(objectives)
    if talking_points is not None:
        demarche.talking_points = []
        session.flush()
        demarche.talking_points = points_of(talking_points)
    if key_dates is not None:
        demarche.key_dates = key_dates_of(key_dates)


def _within_clearance(level: Classification, actor: User) -> None:
    """An author cannot classify a demarche above what they may read: they could then
    neither see nor correct it."""
    if level > actor.clearance:
        raise Invalid(
            f"You are cleared to {actor.clearance.value}: a demarche you write cannot be "
            f"classified {level.value}."
        )


def create_draft(
    session: Session, data: DemarcheIn, *, actor: User, source_cable_id: int | None = None
) -> Demarche:
    _within_clearance(data.classification, actor)
    demarche = Demarche(
        subject=data.subject,
        summary=data.summary,
        classification=data.classification,
        precedence=data.precedence,
        status=DemarcheStatus.DRAFT,
        deadline=data.deadline,
        delivery_level=data.delivery_level,
        author_id=actor.id,
        source_cable_id=source_cable_id,
        objectives=objectives_of(data.objectives),
        talking_points=points_of(data.talking_points),
        key_dates=key_dates_of(data.key_dates),
        targets=resolve_targets(session, data.targets),
        tag_rows=[DemarcheTag(tag=t) for t in data.tags],
    )
    session.add(demarche)
    session.flush()
    audit(
        session,
        demarche,
        "create",
        actor=actor,
        after=demarche.snapshot(),
    )
    return demarche


def update_draft(
    session: Session, demarche: Demarche, data: DemarcheUpdate, *, actor: User
) -> Demarche:
    rules.check(demarche, DemarcheAction.EDIT)
    before = demarche.snapshot()
    changes = data.model_dump(exclude_unset=True)
    for field in (
        "subject",
        "summary",
        "classification",
        "precedence",
        "deadline",
        "delivery_level",
    ):
        if field in changes:
            if changes[field] is None and field in (
                "subject",
                "summary",
                "classification",
                "precedence",
            ):
                raise Invalid(f"{field} cannot be null.")
            if field == "classification" and data.classification is not None:
                _within_clearance(data.classification, actor)
            setattr(demarche, field, getattr(data, field))
    if data.tags is not None:
        demarche.tag_rows = [DemarcheTag(tag=t) for t in data.tags]
    replace_texts(
        session,
        demarche,
        objectives=data.objectives,
        talking_points=data.talking_points,
        key_dates=data.key_dates,
    )
    if data.targets is not None:
        new_targets = resolve_targets(session, data.targets)
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
        after=demarche.snapshot(),
    )
    return demarche


def issue(
    session: Session, demarche: Demarche, *, actor: User, today: date | None = None
) -> Demarche:
    """Issue a draft: one tasking per target, due on its own date or the deadline."""
    today = today or today_utc()
    move = rules.check(demarche, DemarcheAction.ISSUE)
    if demarche.deadline is None:
        raise Invalid("Set a deadline before issuing.")
    if demarche.deadline < today:
        raise Invalid(
            f"The deadline {demarche.deadline.isoformat()} is in the past "
            f"(today is {today.isoformat()}); move it before issuing."
        )
    if not any(t.role == TaskingRole.ACTION for t in demarche.targets):
        raise Invalid("A demarche needs at least one action post before it is issued.")
    if not demarche.talking_points and not demarche.objectives:
        raise Invalid("Add the objectives or talking points the posts are to deliver.")
    late = sorted(t.post.code for t in demarche.targets if t.due_date and t.due_date < today)
    if late:
        raise Invalid(f"Due dates in the past for: {', '.join(late)}.")
    inactive = sorted(t.post.code for t in demarche.targets if not t.post.active)
    if inactive:
        raise Invalid(f"Inactive posts cannot be tasked: {', '.join(inactive)}.")

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
        after={"status": demarche.status, "taskings": len(taskings)},
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
    return demarche


def cancel(session: Session, demarche: Demarche, *, actor: User, reason: str = "") -> Demarche:
    move = rules.check(demarche, DemarcheAction.CANCEL)
    before = {"status": demarche.status}
    rules.enter(demarche, move)
    withdraw_open(session, demarche.id, actor=actor, reason="Demarche cancelled.")
    session.flush()
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


def withdraw_open(session: Session, demarche_id: int, *, actor: User, reason: str) -> None:
    """The demarche takes back every open tasking (through the workflow's table)."""
    for tasking in session.scalars(
        select(Tasking).where(Tasking.demarche_id == demarche_id, Tasking.status.in_(OPEN_STATUSES))
    ):
        withdraw(session, tasking, actor=actor, reason=reason)
