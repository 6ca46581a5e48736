"""What the demarche page reads: the demarche with its texts, and a page of its taskings.

As ORM objects the page took eleven statements for these: the demarche, one per
child table, its author, the taskings, their responses and their last events. It
only shows them, so each part is one statement of plain rows here: the demarche's
texts come aggregated into its own row, and each tasking brings its latest response
and latest event. The statements are built once per kind of reader (the values are
bound), as the demarche list's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import JSON, ColumnElement, Select, and_, bindparam, func, select, type_coerce
from sqlalchemy.orm import Session

from app.audit import AuditEvent
from app.auth.models import User
from app.auth.policy import Reader, may_read_portion, visible_demarches
from app.classification import Classification
from app.db import today_utc
from app.demarches.history import visible_events
from app.demarches.models import (
    Demarche,
    DemarcheStatus,
    DemarcheTag,
    KeyDate,
    Objective,
    PointUse,
    TalkingPoint,
    TaskingRole,
)
from app.errors import NotFound
from app.posts.models import Post
from app.taskings.models import Position, Response, Tasking, TaskingStatus, days_late
from app.taskings.service import own_post_only
from app.vocabulary import Precedence

# -- the demarche and its texts -------------------------------------------------------


class PointLine(NamedTuple):
    position: int
    text: str
    classification: Classification
    use: PointUse


class KeyDateLine(NamedTuple):
    on: date
    what: str


@dataclass(frozen=True, slots=True)
class DemarcheSheet:
    """A demarche as its page shows it to one reader: talking points above the reader's
    clearance are left out here, and only counted (withheld), so no template can show
    them by mistake."""

    id: int
    subject: str
    summary: str
    classification: Classification
    status: DemarcheStatus
    precedence: Precedence
    deadline: date | None
    delivery_level: str | None
    issued_at: datetime | None
    revision: int
    version: int
    author: str
    tags: list[str]
    objectives: list[str]
    talking_points: list[PointLine]
    withheld: int  # talking points above the reader's clearance
    key_dates: list[KeyDateLine]


def _json_rows(dialect: str, *columns: Any) -> ColumnElement[Any]:
    """The rows of a child table as one JSON array of arrays, in the parent's row."""
    if dialect == "postgresql":
        return func.json_agg(func.json_build_array(*columns))
    return func.json_group_array(func.json_array(*columns))


def _children(dialect: str, fk: Any, *columns: Any) -> ColumnElement[Any]:
    rows = select(_json_rows(dialect, *columns)).where(fk == Demarche.id).scalar_subquery()
    return type_coerce(rows, JSON)


_SHEET_COLUMNS: tuple[Any, ...] = (
    Demarche.id,
    Demarche.subject,
    Demarche.summary,
    Demarche.classification,
    Demarche.status,
    Demarche.precedence,
    Demarche.deadline,
    Demarche.delivery_level,
    Demarche.issued_at,
    Demarche.revision,
    Demarche.version,
)


@lru_cache(maxsize=256)
def _sheet_statement(reader: Reader, dialect: str) -> Select[Any]:
    texts: tuple[Any, ...] = (
        User.full_name.label("author"),
        _children(dialect, DemarcheTag.demarche_id, DemarcheTag.tag).label("tags"),
        _children(dialect, Objective.demarche_id, Objective.position, Objective.text).label(
            "objectives"
        ),
        _children(
            dialect,
            TalkingPoint.demarche_id,
            TalkingPoint.position,
            TalkingPoint.text,
            TalkingPoint.classification,
            TalkingPoint.use,
        ).label("points"),
        _children(dialect, KeyDate.demarche_id, KeyDate.on, KeyDate.id, KeyDate.what).label(
            "key_dates"
        ),
    )
    return (
        select(*_SHEET_COLUMNS, *texts)
        .join(User, User.id == Demarche.author_id)
        .where(Demarche.id == bindparam("demarche_id"), visible_demarches(reader))
    )


def sheet(session: Session, demarche_id: int, *, actor: User) -> DemarcheSheet:
    """The demarche with its author and texts in one statement, if this actor may see it;
    otherwise the same 404 as a missing id."""
    stmt = _sheet_statement(Reader.of(actor), session.get_bind().dialect.name)
    row = session.execute(stmt, {"demarche_id": demarche_id}).one_or_none()
    if row is None:
        raise NotFound(f"No demarche {demarche_id}.")
    # An aggregate over no rows is NULL on PostgreSQL and [] on SQLite; JSON keeps no
    # order of its own, so each list is sorted here as its relationship orders it.
    points = [
        PointLine(position, text, Classification(level), PointUse(use))
        for position, text, level, use in sorted(row.points or ())
    ]
    readable = [p for p in points if may_read_portion(actor, p.classification)]
    return DemarcheSheet(
        id=row.id,
        subject=row.subject,
        summary=row.summary,
        classification=row.classification,
        status=row.status,
        precedence=row.precedence,
        deadline=row.deadline,
        delivery_level=row.delivery_level,
        issued_at=row.issued_at,
        revision=row.revision,
        version=row.version,
        author=row.author or "",
        tags=sorted(tag for (tag,) in row.tags or ()),
        objectives=[text for _, text in sorted(row.objectives or ())],
        talking_points=readable,
        withheld=len(points) - len(readable),
        key_dates=[
            KeyDateLine(date.fromisoformat(on), what) for on, _, what in sorted(row.key_dates or ())
        ],
    )


# -- a page of its taskings -------------------------------------------------------------


class TaskingLine(NamedTuple):
    """A tasking as the demarche page lists it, with its latest response and event."""

    id: int
    version: int
    post_id: int
    post_code: str
    post_country: str
    country: str
    role: TaskingRole
    status: TaskingStatus
    due_date: date | None
    position: Position | None
    last_action: str | None
    last_actor: str | None
    last_at: datetime | None
    days_late: int


@lru_cache(maxsize=256)
def _taskings_statement(reader: Reader) -> Select[Any]:
    # The demarche is visible already (sheet() found it): only the post restriction is left.
    shown = (
        select(
            Tasking.id,
            Tasking.version,
            Tasking.post_id,
            Post.code.label("post_code"),
            Post.country.label("post_country"),
            Tasking.country,
            Tasking.role,
            Tasking.status,
            Tasking.due_date,
        )
        .join(Post, Post.id == Tasking.post_id)
        .where(Tasking.demarche_id == bindparam("demarche_id"), own_post_only(reader))
        .order_by(Post.code, Tasking.country)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("shown")
    )
    latest_position = (
        select(Response.position)
        .where(Response.tasking_id == shown.c.id)
        .order_by(Response.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # One pass over the demarche's events (an index range) finds every tasking's last.
    last_events = (
        select(AuditEvent.entity_id, func.max(AuditEvent.id).label("id"))
        .where(AuditEvent.demarche_id == bindparam("demarche_id"), AuditEvent.entity == "tasking")
        .group_by(AuditEvent.entity_id)
        .subquery("last_events")
    )
    return (
        select(
            shown,
            latest_position.label("position"),
            AuditEvent.action,
            User.username,
            AuditEvent.at,
        )
        .outerjoin(last_events, last_events.c.entity_id == shown.c.id)
        .outerjoin(AuditEvent, and_(AuditEvent.id == last_events.c.id, visible_events(reader)))
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(shown.c.post_code, shown.c.country)
    )


def tasking_lines(
    session: Session, demarche_id: int, *, actor: User, limit: int, offset: int = 0
) -> list[TaskingLine]:
    """A page of the demarche's taskings this actor may see, by post and country, in one
    statement. The caller has checked that the actor may see the demarche."""
    rows = session.execute(
        _taskings_statement(Reader.of(actor)),
        {"demarche_id": demarche_id, "limit": limit, "offset": offset},
    )
    today = today_utc()
    return [
        TaskingLine._make((*row, days_late(row.role, row.status, row.due_date, today)))
        for row in rows
    ]
