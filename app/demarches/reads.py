"""The one reader of a demarche: its page, its API answer (DemarcheOut) and every
export read it as the DemarcheSheet built here, and its tasking rows as TaskingLines;
a write loads the demarche it changes through `load`.

As ORM objects the page took eleven statements: the demarche, one per child table,
its author, the taskings, their responses and their last events. It only shows them,
so each part is one statement of plain rows here: the demarche's texts come aggregated
into its own row, and each tasking brings its latest response and latest event. The
statements are built once per kind of reader (the values are bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import JSON, ColumnElement, Select, and_, bindparam, func, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from app.audit import AuditEvent
from app.auth.models import User
from app.auth.policy import Reader, own_post_only, visible_demarches, visible_events, withhold
from app.classification import Classification
from app.db import today_utc
from app.demarches.models import (
    Demarche,
    DemarcheStatus,
    DemarcheTag,
    DemarcheTarget,
    KeyDate,
    Objective,
    PointUse,
    TalkingPoint,
)
from app.demarches.schemas import (
    DemarcheOut,
    KeyDateOut,
    ObjectiveOut,
    TalkingPointOut,
    TargetOut,
    TaskingBrief,
)
from app.errors import NotFound
from app.posts.models import Post
from app.taskings.models import Position, Response, Tasking, TaskingStatus, days_late
from app.vocabulary import Precedence, TaskingRole

# -- the demarche and its texts -------------------------------------------------------


class PointLine(NamedTuple):
    position: int
    text: str
    classification: Classification
    use: PointUse


class WithheldPoint(NamedTuple):
    """A talking point above the reader's clearance: where it stands, never its text."""

    position: int
    classification: Classification
    use: PointUse


class ObjectiveLine(NamedTuple):
    position: int
    text: str
    classification: Classification


class WithheldObjective(NamedTuple):
    """An objective above the reader's clearance: where it stands, never its text."""

    position: int
    classification: Classification


class KeyDateLine(NamedTuple):
    on: date
    what: str
    classification: Classification


class TargetLine(NamedTuple):
    """A target post, in the order the targets were given."""

    post_code: str
    post_name: str
    country: str
    role: TaskingRole
    due_date: date | None


@dataclass(frozen=True, slots=True)
class DemarcheSheet:
    """A demarche as one reader may see it: portions above the reader's clearance (the
    summary, objectives, talking points, key dates) are left out here, their text never
    read into it, so no page, answer or export can show them by mistake."""

    id: int
    subject: str
    summary: str  # "" when withheld
    summary_classification: Classification
    summary_withheld: bool
    classification: Classification
    status: DemarcheStatus
    precedence: Precedence
    deadline: date | None
    delivery_level: str | None
    source_cable_id: int | None
    created_at: datetime
    updated_at: datetime
    issued_at: datetime | None
    closed_at: datetime | None
    revision: int
    version: int
    author: str
    tags: list[str]
    objectives: list[ObjectiveLine]
    withheld_objectives: list[WithheldObjective]
    talking_points: list[PointLine]
    withheld_points: list[WithheldPoint]
    key_dates: list[KeyDateLine]
    # The marks of the key dates withheld: their dates are withheld too.
    withheld_key_dates: list[Classification]
    # Read when asked for (a draft's page, the amend form, the API): an issued demarche's
    # page shows its taskings instead, and 200 targets cost every view.
    targets: list[TargetLine] | None

    @property
    def withheld(self) -> int:
        """How many talking points are above the reader's clearance."""
        return len(self.withheld_points)

    @property
    def withheld_portions(self) -> int:
        """How many portions of every kind are above the reader's clearance."""
        return (
            int(self.summary_withheld)
            + len(self.withheld_objectives)
            + len(self.withheld_points)
            + len(self.withheld_key_dates)
        )

    @property
    def marks(self) -> list[Classification]:
        """The marks of what the reader reads of it (a page's banner is their highest)."""
        return (
            [self.classification]
            + ([] if self.summary_withheld or not self.summary else [self.summary_classification])
            + [o.classification for o in self.objectives]
            + [p.classification for p in self.talking_points]
            + [k.classification for k in self.key_dates]
        )


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
    Demarche.summary_classification,
    Demarche.classification,
    Demarche.status,
    Demarche.precedence,
    Demarche.deadline,
    Demarche.delivery_level,
    Demarche.source_cable_id,
    Demarche.created_at,
    Demarche.updated_at,
    Demarche.issued_at,
    Demarche.closed_at,
    Demarche.revision,
    Demarche.version,
)


def _targets(dialect: str) -> ColumnElement[Any]:
    rows = (
        select(
            _json_rows(
                dialect,
                DemarcheTarget.id,
                Post.code,
                Post.name,
                DemarcheTarget.country,
                DemarcheTarget.role,
                DemarcheTarget.due_date,
            )
        )
        .join(Post, Post.id == DemarcheTarget.post_id)
        .where(DemarcheTarget.demarche_id == Demarche.id)
        .scalar_subquery()
    )
    return type_coerce(rows, JSON)


@lru_cache(maxsize=256)
def _sheet_statement(reader: Reader, dialect: str, with_targets: bool) -> Select[Any]:
    texts: tuple[Any, ...] = (
        User.full_name.label("author"),
        _children(dialect, DemarcheTag.demarche_id, DemarcheTag.tag).label("tags"),
        _children(
            dialect,
            Objective.demarche_id,
            Objective.position,
            Objective.text,
            Objective.classification,
        ).label("objectives"),
        _children(
            dialect,
            TalkingPoint.demarche_id,
            TalkingPoint.position,
            TalkingPoint.text,
            TalkingPoint.classification,
            TalkingPoint.use,
        ).label("points"),
        _children(
            dialect,
            KeyDate.demarche_id,
            KeyDate.on,
            KeyDate.id,
            KeyDate.what,
            KeyDate.classification,
        ).label("key_dates"),
    )
    if with_targets:
        texts += (_targets(dialect).label("targets"),)
    return (
        select(*_SHEET_COLUMNS, *texts)
        .join(User, User.id == Demarche.author_id)
        .where(Demarche.id == bindparam("demarche_id"), visible_demarches(reader))
    )


def sheet(
    session: Session, demarche_id: int, *, actor: User, with_targets: bool = False
) -> DemarcheSheet:
    """The demarche with its author and texts in one statement, if this actor may see it;
    otherwise the same 404 as a missing id."""
    stmt = _sheet_statement(Reader.of(actor), session.get_bind().dialect.name, with_targets)
    row = session.execute(stmt, {"demarche_id": demarche_id}).one_or_none()
    if row is None:
        raise NotFound(f"No demarche {demarche_id}.")
    # An aggregate over no rows is NULL on PostgreSQL and [] on SQLite; JSON keeps no
    # order of its own, so each list is sorted here as its relationship orders it.
    # Every portion kind passes the one withholding rule; what it withholds keeps only
    # its place and mark.
    points, withheld_points = withhold(
        actor,
        [
            PointLine(position, text, Classification(level), PointUse(use))
            for position, text, level, use in sorted(row.points or ())
        ],
        lambda p: p.classification,
    )
    objectives, withheld_objectives = withhold(
        actor,
        [
            ObjectiveLine(position, text, Classification(level))
            for position, text, level in sorted(row.objectives or ())
        ],
        lambda o: o.classification,
    )
    key_dates, withheld_dates = withhold(
        actor,
        [
            KeyDateLine(date.fromisoformat(on), what, Classification(level))
            for on, _, what, level in sorted(row.key_dates or ())
        ],
        lambda k: k.classification,
    )
    summary, withheld_summary = withhold(
        actor, [row.summary], lambda _: Classification(row.summary_classification)
    )
    return DemarcheSheet(
        id=row.id,
        subject=row.subject,
        summary=summary[0] if summary else "",
        summary_classification=row.summary_classification,
        summary_withheld=bool(withheld_summary),
        classification=row.classification,
        status=row.status,
        precedence=row.precedence,
        deadline=row.deadline,
        delivery_level=row.delivery_level,
        source_cable_id=row.source_cable_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        issued_at=row.issued_at,
        closed_at=row.closed_at,
        revision=row.revision,
        version=row.version,
        author=row.author or "",
        tags=sorted(tag for (tag,) in row.tags or ()),
        objectives=objectives,
        withheld_objectives=[
            WithheldObjective(o.position, o.classification) for o in withheld_objectives
        ],
        talking_points=points,
        withheld_points=[
            WithheldPoint(p.position, p.classification, p.use) for p in withheld_points
        ],
        key_dates=key_dates,
        withheld_key_dates=[k.classification for k in withheld_dates],
        targets=[
            TargetLine(code, name, country, TaskingRole(role), _date(due))
            for _, code, name, country, role, due in sorted(row.targets or ())
        ]
        if with_targets
        else None,
    )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# -- a page of its taskings -------------------------------------------------------------

_ALL = 2**31 - 1  # no LIMIT that both databases take as "all"


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
    session: Session, demarche_id: int, *, actor: User, limit: int | None, offset: int = 0
) -> list[TaskingLine]:
    """A page of the demarche's taskings this actor may see, by post and country, in one
    statement. The caller has checked that the actor may see the demarche."""
    rows = session.execute(
        _taskings_statement(Reader.of(actor)),
        {"demarche_id": demarche_id, "limit": _ALL if limit is None else limit, "offset": offset},
    )
    today = today_utc()
    return [
        TaskingLine._make((*row, days_late(row.role, row.status, row.due_date, today)))
        for row in rows
    ]


def to_out(session: Session, d: DemarcheSheet, *, actor: User) -> DemarcheOut:
    """The API's demarche: the sheet (read with its targets) and its tasking rows."""
    assert d.targets is not None, "read the sheet with_targets for the API"
    points = [
        TalkingPointOut(
            position=p.position, text=p.text, classification=p.classification, use=p.use
        )
        for p in d.talking_points
    ] + [
        TalkingPointOut(
            position=p.position,
            text=None,
            classification=p.classification,
            use=p.use,
            withheld=True,
        )
        for p in d.withheld_points
    ]
    objectives = [
        ObjectiveOut(position=o.position, text=o.text, classification=o.classification)
        for o in d.objectives
    ] + [
        ObjectiveOut(position=o.position, text=None, classification=o.classification, withheld=True)
        for o in d.withheld_objectives
    ]
    return DemarcheOut(
        id=d.id,
        subject=d.subject,
        summary=None if d.summary_withheld else d.summary,
        summary_classification=d.summary_classification,
        summary_withheld=d.summary_withheld,
        classification=d.classification,
        status=d.status,
        deadline=d.deadline,
        delivery_level=d.delivery_level,
        tags=d.tags,
        source_cable_id=d.source_cable_id,
        author=d.author,
        created_at=d.created_at,
        updated_at=d.updated_at,
        issued_at=d.issued_at,
        closed_at=d.closed_at,
        precedence=d.precedence.value,
        revision=d.revision,
        version=d.version,
        objectives=sorted(objectives, key=lambda o: o.position),
        talking_points=sorted(points, key=lambda p: p.position),
        withheld_points=d.withheld,
        withheld_portions=d.withheld_portions,
        key_dates=[
            KeyDateOut(date=k.on, what=k.what, classification=k.classification) for k in d.key_dates
        ]
        + [
            KeyDateOut(date=None, what=None, classification=level, withheld=True)
            for level in d.withheld_key_dates
        ],
        targets=[
            TargetOut(
                post=t.post_code,
                post_name=t.post_name,
                country=t.country,
                role=t.role,
                due_date=t.due_date,
            )
            for t in d.targets
        ],
        taskings=[
            TaskingBrief(
                id=t.id,
                post=t.post_code,
                country=t.country,
                role=t.role,
                due_date=t.due_date,
                status=t.status.value,
            )
            for t in tasking_lines(session, d.id, actor=actor, limit=None)
        ],
    )


def read_out(session: Session, demarche_id: int, *, actor: User) -> DemarcheOut:
    """GET a demarche: the same sheet the page reads, as the API answers it."""
    return to_out(session, sheet(session, demarche_id, actor=actor, with_targets=True), actor=actor)


# -- what a write loads -----------------------------------------------------------------


def load(session: Session, demarche_id: int, *, actor: User) -> Demarche:
    """The demarche a write changes, with its texts and targets, if this actor may see
    it; otherwise the same 404 as a missing id."""
    demarche = session.scalar(
        select(Demarche)
        .options(
            # One query per child table, never one per row.
            selectinload(Demarche.objectives),
            selectinload(Demarche.talking_points),
            selectinload(Demarche.key_dates),
            selectinload(Demarche.tag_rows),
            selectinload(Demarche.targets).joinedload(DemarcheTarget.post),
        )
        .where(Demarche.id == demarche_id, visible_demarches(actor))
    )
    if demarche is None:
        raise NotFound(f"No demarche {demarche_id}.")
    return demarche


def require_visible(session: Session, demarche_id: int, *, actor: User) -> None:
    """404 unless this actor may see the demarche (for reads of its parts)."""
    found = session.scalar(
        select(Demarche.id).where(Demarche.id == demarche_id, visible_demarches(actor))
    )
    if found is None:
        raise NotFound(f"No demarche {demarche_id}.")
