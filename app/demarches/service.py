"""Demarche rules: drafting, issuing, cancelling, and what a reader may see of one."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, exists, func, literal, select
from sqlalchemy.orm import Session, selectinload

from app.audit import record
from app.auth.models import User
from app.auth.policy import Reader, may_read_portion, visible_demarches
from app.db import today_utc, utcnow
from app.demarches.models import (
    Demarche,
    DemarcheStatus,
    DemarcheTag,
    DemarcheTarget,
    KeyDate,
    Objective,
    TalkingPoint,
    TaskingRole,
)
from app.demarches.schemas import (
    DemarcheIn,
    DemarcheOut,
    DemarcheSummary,
    DemarcheUpdate,
    KeyDateIn,
    KeyDateOut,
    TalkingPointIn,
    TalkingPointOut,
    TargetIn,
    TargetOut,
    TaskingBrief,
)
from app.errors import Conflict, Invalid, NotFound
from app.posts.models import Post
from app.taskings.models import Tasking, TaskingStatus

# -- reading ------------------------------------------------------------------


def _with_children(stmt: Select[Any], *, targets: bool = True) -> Select[Any]:
    # One query per child table, never one per row.
    stmt = stmt.options(
        selectinload(Demarche.objectives),
        selectinload(Demarche.talking_points),
        selectinload(Demarche.key_dates),
        selectinload(Demarche.tag_rows),
    )
    if targets:
        stmt = stmt.options(selectinload(Demarche.targets).joinedload(DemarcheTarget.post))
    return stmt


def get_visible(
    session: Session, demarche_id: int, *, actor: User, targets: bool = True
) -> Demarche:
    """The demarche if this actor may see it; otherwise the same 404 as a missing id.

    targets=False leaves its targets unloaded, for readers that only show them
    (target_rows): as objects, 200 targets and their posts cost some 5 ms.
    """
    demarche = session.scalar(
        _with_children(select(Demarche), targets=targets).where(
            Demarche.id == demarche_id, visible_demarches(actor)
        )
    )
    if demarche is None:
        raise NotFound(f"No demarche {demarche_id}.")
    return demarche


class TargetRow(NamedTuple):
    """A target post as a page shows it."""

    post_code: str
    post_name: str
    country: str
    role: TaskingRole
    due_date: date | None


def target_rows(session: Session, demarche_id: int) -> list[TargetRow]:
    """A demarche's targets, in the order they were given, as plain rows."""
    return [
        TargetRow(*row)
        for row in session.execute(
            select(
                Post.code,
                Post.name,
                DemarcheTarget.country,
                DemarcheTarget.role,
                DemarcheTarget.due_date,
            )
            .join(Post, Post.id == DemarcheTarget.post_id)
            .where(DemarcheTarget.demarche_id == demarche_id)
            .order_by(DemarcheTarget.id)
        )
    ]


@dataclass(frozen=True)
class DemarcheFilters:
    status: DemarcheStatus | None = None
    post: str | None = None
    tag: str | None = None
    deadline_before: date | None = None
    deadline_after: date | None = None
    q: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one this API handed out.") from exc


def _tag_list(dialect: str) -> Any:
    """A demarche's tags as one space-separated string in the row itself (tags hold no
    spaces), so that a page of demarches is one query."""
    if dialect == "postgresql":
        agg = func.string_agg(DemarcheTag.tag, literal(" "))
    else:
        agg = func.group_concat(DemarcheTag.tag, literal(" "))
    return (
        select(agg)
        .where(DemarcheTag.demarche_id == Demarche.id)
        .correlate(Demarche)
        .scalar_subquery()
        .label("tags")
    )


def list_visible(
    session: Session,
    *,
    actor: User,
    filters: DemarcheFilters,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[DemarcheSummary], str | None]:
    """Newest first, keyset-paginated on id so deep pages cost the same as the first.

    A list needs a few columns, not whole demarches: plain rows, with the tags
    aggregated in the same query, spare building some 200 ORM objects per page of 50.
    """
    params: dict[str, Any] = {"limit": limit + 1}
    if filters.status:
        params["status"] = filters.status
    if filters.post:
        params["post"] = filters.post.upper()
    if filters.tag:
        params["tag"] = filters.tag.upper()
    if filters.deadline_before:
        params["deadline_before"] = filters.deadline_before
    if filters.deadline_after:
        params["deadline_after"] = filters.deadline_after
    if filters.q:
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["q"] = f"%{escaped}%"
    if cursor:
        params["before_id"] = decode_cursor(cursor)
    stmt = _list_statement(Reader.of(actor), frozenset(params), session.get_bind().dialect.name)
    rows = session.execute(stmt, params).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    return [
        DemarcheSummary(
            id=r.id,
            subject=r.subject,
            classification=r.classification,
            status=r.status,
            deadline=r.deadline,
            tags=sorted(r.tags.split(" ")) if r.tags else [],
            issued_at=r.issued_at,
        )
        for r in rows
    ], next_cursor


@lru_cache(maxsize=1024)
def _list_statement(reader: Reader, given: frozenset[str], dialect: str) -> Select[Any]:
    """The list query for one kind of reader and one set of filters, built once: the
    filter values are bound parameters, so a hot list skips building and hashing it."""
    stmt = select(
        Demarche.id,
        Demarche.subject,
        Demarche.classification,
        Demarche.status,
        Demarche.deadline,
        Demarche.issued_at,
        _tag_list(dialect),
    ).where(visible_demarches(reader))
    if "status" in given:
        stmt = stmt.where(Demarche.status == bindparam("status"))
    if "post" in given:
        stmt = stmt.where(
            exists(
                select(DemarcheTarget.id)
                .join(Post, Post.id == DemarcheTarget.post_id)
                .where(DemarcheTarget.demarche_id == Demarche.id, Post.code == bindparam("post"))
            )
        )
    if "tag" in given:
        stmt = stmt.where(
            exists(
                select(DemarcheTag.tag).where(
                    DemarcheTag.demarche_id == Demarche.id, DemarcheTag.tag == bindparam("tag")
                )
            )
        )
    if "deadline_before" in given:
        stmt = stmt.where(Demarche.deadline < bindparam("deadline_before"))
    if "deadline_after" in given:
        stmt = stmt.where(Demarche.deadline > bindparam("deadline_after"))
    if "q" in given:
        stmt = stmt.where(Demarche.subject.ilike(bindparam("q"), escape="\\"))
    if "before_id" in given:
        stmt = stmt.where(Demarche.id < bindparam("before_id"))
    return stmt.order_by(Demarche.id.desc()).limit(bindparam("limit"))


def to_out(session: Session, d: Demarche, *, actor: User) -> DemarcheOut:
    points = [
        TalkingPointOut(
            position=p.position,
            text=p.text if may_read_portion(actor, p.classification) else None,
            classification=p.classification,
            use=p.use,
            withheld=not may_read_portion(actor, p.classification),
        )
        for p in d.talking_points
    ]
    taskings = session.execute(
        select(
            Tasking.id, Post.code, Tasking.country, Tasking.role, Tasking.due_date, Tasking.status
        )
        .join(Post, Post.id == Tasking.post_id)
        .where(Tasking.demarche_id == d.id)
        .order_by(Post.code, Tasking.country)
    ).all()
    author = session.scalar(select(User.full_name).where(User.id == d.author_id)) or ""
    return DemarcheOut(
        id=d.id,
        subject=d.subject,
        summary=d.summary,
        classification=d.classification,
        status=d.status,
        deadline=d.deadline,
        delivery_level=d.delivery_level,
        tags=d.tags,
        source_cable_id=d.source_cable_id,
        author=author,
        created_at=d.created_at,
        updated_at=d.updated_at,
        issued_at=d.issued_at,
        closed_at=d.closed_at,
        precedence=d.precedence.value,
        revision=d.revision,
        version=d.version,
        objectives=[o.text for o in d.objectives],
        talking_points=[p for p in points if not p.withheld] + [p for p in points if p.withheld],
        withheld_points=sum(p.withheld for p in points),
        key_dates=[KeyDateOut(date=k.on, what=k.what) for k in d.key_dates],
        targets=[
            TargetOut(
                post=t.post.code,
                post_name=t.post.name,
                country=t.country,
                role=t.role,
                due_date=t.due_date,
            )
            for t in d.targets
        ],
        taskings=[
            TaskingBrief(id=i, post=code, country=c, role=r, due_date=due, status=s.value)
            for i, code, c, r, due, s in taskings
        ],
    )


# -- writing ------------------------------------------------------------------


def snapshot(d: Demarche) -> dict[str, Any]:
    """The demarche as the audit trail records it, before and after a change."""
    return {
        "subject": d.subject,
        "summary": d.summary,
        "classification": d.classification,
        "status": d.status,
        "deadline": d.deadline,
        "delivery_level": d.delivery_level,
        "tags": d.tags,
        "objectives": [o.text for o in d.objectives],
        "talking_points": [
            {"text": p.text, "classification": p.classification, "use": p.use}
            for p in d.talking_points
        ],
        "key_dates": [{"date": k.on, "what": k.what} for k in d.key_dates],
        "targets": [
            {"post": t.post.code, "country": t.country, "role": t.role, "due_date": t.due_date}
            for t in d.targets
        ],
    }


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


def audit(
    session: Session,
    demarche: Demarche,
    action: str,
    *,
    actor: User,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event about the demarche itself (its taskings name their post)."""
    record(
        session,
        actor_id=actor.id,
        entity="demarche",
        entity_id=demarche.id,
        demarche_id=demarche.id,
        action=action,
        before=before,
        after=after,
    )


def create_draft(
    session: Session, data: DemarcheIn, *, actor: User, source_cable_id: int | None = None
) -> Demarche:
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
        after=snapshot(demarche),
    )
    return demarche


def update_draft(
    session: Session, demarche: Demarche, data: DemarcheUpdate, *, actor: User
) -> Demarche:
    if demarche.status != DemarcheStatus.DRAFT:
        raise Conflict(
            f"Demarche {demarche.id} is {demarche.status.value}: only a draft can be edited; "
            "an issued demarche changes by amendment.",
            current_state=demarche.status.value,
        )
    before = snapshot(demarche)
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
        after=snapshot(demarche),
    )
    return demarche


def issue(
    session: Session, demarche: Demarche, *, actor: User, today: date | None = None
) -> Demarche:
    """Issue a draft: one tasking per target, due on its own date or the deadline."""
    today = today or today_utc()
    if demarche.status != DemarcheStatus.DRAFT:
        raise Conflict(
            f"Demarche {demarche.id} is already {demarche.status.value}; it can be issued once.",
            current_state=demarche.status.value,
        )
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
    demarche.status = DemarcheStatus.ISSUED
    demarche.issued_at = utcnow()
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
    from app.taskings.service import audit_tasking  # taskings import demarches, not the reverse

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
    if demarche.status not in (DemarcheStatus.DRAFT, DemarcheStatus.ISSUED):
        raise Conflict(
            f"Demarche {demarche.id} is already {demarche.status.value}.",
            current_state=demarche.status.value,
        )
    before = {"status": demarche.status}
    demarche.status = DemarcheStatus.CANCELLED
    demarche.closed_at = utcnow()
    from app.taskings.service import withdraw_open  # taskings import demarches, not the reverse

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
    if demarche.status != DemarcheStatus.ISSUED:
        raise Conflict(
            f"Demarche {demarche.id} is {demarche.status.value}; only an issued one is closed.",
            current_state=demarche.status.value,
        )
    from app.taskings.service import withdraw_open  # taskings import demarches, not the reverse

    withdraw_open(session, demarche.id, actor=actor, reason=f"Demarche closed: {reason}")
    demarche.status = DemarcheStatus.CLOSED
    demarche.closed_at = utcnow()
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
