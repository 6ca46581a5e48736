"""The one reader of taskings: every answer, page, inbox card and list shows a tasking
as the TaskingOut built here, and every write loads the tasking it moves through `load`.

Views are read as plain rows. GET a tasking is the API's hottest read: through the ORM,
with its post, demarche and records joined, each execution spent more setting up a
loader per entity than the query itself took (0.41-0.46 ms of CPU to read a closed
tasking and write its JSON, against 0.16 ms as rows). The rules a view goes through
(late, urgent, allowed moves, changes since seen) are the same functions a write's ORM
tasking goes through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, Select, bindparam, select
from sqlalchemy.orm import Session, joinedload

from app.audit import AuditEvent, jsonable
from app.auth.models import User
from app.auth.policy import Reader, own_post_only, visible_events, visible_taskings
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheRevision, DemarcheStatus
from app.errors import NotFound
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Post
from app.settings import Settings
from app.taskings.models import (
    Commitment,
    Delivery,
    Response,
    ResponseRevision,
    Tasking,
    TaskingStatus,
    days_late,
    is_late,
)
from app.taskings.overdue import is_unacknowledged_urgent, overdue_clause
from app.taskings.schemas import (
    CommitmentOut,
    DeliveryOut,
    ResponseOut,
    ResponseRevisionOut,
    TaskingOut,
)
from app.taskings.workflow import moves_for
from app.vocabulary import Precedence, TaskingRole


class DemarcheFacts(NamedTuple):
    id: int
    subject: str
    status: DemarcheStatus
    precedence: Precedence
    revision: int
    classification: Classification


class TaskingFacts(NamedTuple):
    """A tasking's own columns and its demarche's, named as on the ORM classes."""

    id: int
    demarche_id: int
    post_id: int
    country: str
    role: TaskingRole
    status: TaskingStatus
    due_date: date | None
    acknowledged_at: datetime | None
    planned_date: date | None
    officer: str | None
    reason: str | None
    seen_revision: int
    created_at: datetime
    version: int
    post_code: str
    post_name: str
    post_country: str
    post_time_zone: str
    demarche: DemarcheFacts


# The columns, in the order the rows are cut into facts and records.
_TASKING = (
    Tasking.id,
    Tasking.demarche_id,
    Tasking.post_id,
    Tasking.country,
    Tasking.role,
    Tasking.status,
    Tasking.due_date,
    Tasking.acknowledged_at,
    Tasking.planned_date,
    Tasking.officer,
    Tasking.reason,
    Tasking.seen_revision,
    Tasking.created_at,
    Tasking.version,
    Post.code,
    Post.name,
    Post.country,
    Post.time_zone,
)
_DEMARCHE = (
    Demarche.id,
    Demarche.subject,
    Demarche.status,
    Demarche.precedence,
    Demarche.revision,
    Demarche.classification,
)
_DELIVERY = tuple(getattr(Delivery, name) for name in DeliveryOut.model_fields)
# Revisions are not columns of a response: they come by a query of their own, when any.
_RESPONSE_FIELDS = tuple(
    f for f in ResponseOut.model_fields if f not in ("commitments", "revisions")
)
_RESPONSE = tuple(getattr(Response, name) for name in _RESPONSE_FIELDS)
_COMMITMENT = tuple(getattr(Commitment, name) for name in CommitmentOut.model_fields)

_T, _D = len(_TASKING), len(_TASKING) + len(_DEMARCHE)
_DL = _D + len(_DELIVERY)
_RS = _DL + len(_RESPONSE)


def _select(where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """The taskings matching where, one row per (delivery, response, commitment) of each:
    a tasking has a delivery or two and a response with a few commitments, so joining
    them costs a few rows where separate queries cost a round trip each."""
    return (
        select(*_TASKING, *_DEMARCHE, *_DELIVERY, *_RESPONSE, *_COMMITMENT)
        .select_from(Tasking)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .join(Post, Post.id == Tasking.post_id)
        .outerjoin(Delivery, Delivery.tasking_id == Tasking.id)
        .outerjoin(Response, Response.tasking_id == Tasking.id)
        .outerjoin(Commitment, Commitment.response_id == Response.id)
        .where(where)
        .order_by(Tasking.id, Delivery.id, Response.id, Commitment.id)
    )


@lru_cache(maxsize=256)
def _one(reader: Reader) -> Select[*tuple[Any, ...]]:
    """Built once per kind of reader, with the id bound: a built statement keeps its
    cache key, so a hot read skips building the policy's clauses and hashing them."""
    return _select(Tasking.id == bindparam("tasking_id")).where(visible_taskings(reader))


def read(session: Session, tasking_id: int, *, actor: User, settings: Settings) -> TaskingOut:
    """The tasking as this actor sees it, or the 404 of a missing one."""
    # On the connection: through the session, the ORM would still wrap the rows of a
    # select of mapped columns in its own result machinery (a third of this read's time).
    # Writes flush before reading their answer back (see the router).
    rows = session.connection().execute(_one(Reader.of(actor)), {"tasking_id": tasking_id}).all()
    if not rows:
        raise NotFound(f"No tasking {tasking_id}.")
    return _views(session, rows, actor=actor, settings=settings)[0]


@lru_cache(maxsize=256)
def _listed(reader: Reader) -> Select[Any]:
    return _select(Tasking.id.in_(bindparam("ids", expanding=True))).where(own_post_only(reader))


def read_listed(
    session: Session, ids: Sequence[int], *, actor: User, settings: Settings
) -> list[TaskingOut]:
    """The views of taskings a listing chose through the policy's filters (the inbox's
    page), in the listing's order. Only the post restriction is applied again: the
    demarche's visibility was the listing's, and a second test cost the page a third
    of its SQL time."""
    if not ids:
        return []
    rows = session.connection().execute(_listed(Reader.of(actor)), {"ids": list(ids)}).all()
    views = {v.id: v for v in _views(session, rows, actor=actor, settings=settings)}
    return [views[i] for i in ids if i in views]


@dataclass(frozen=True)
class TaskingFilters:
    demarche_id: int | None = None
    post: str | None = None
    status: TaskingStatus | None = None
    overdue: bool | None = None


def _listing_filters(
    actor: User, settings: Settings, filters: TaskingFilters, after_id: int | None
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a list of taskings: what this actor sees, as filtered."""
    clauses = [visible_taskings(actor)]
    if filters.demarche_id is not None:
        clauses.append(Tasking.demarche_id == filters.demarche_id)
    if filters.post:
        clauses.append(
            Tasking.post_id.in_(select(Post.id).where(Post.code == filters.post.upper()))
        )
    if filters.status:
        clauses.append(Tasking.status == filters.status)
    if filters.overdue is not None:
        clause = overdue_clause(settings)
        clauses.append(clause if filters.overdue else ~clause)
    if after_id is not None:
        clauses.append(Tasking.id > after_id)
    return clauses


def read_page(
    session: Session,
    *,
    actor: User,
    settings: Settings,
    filters: TaskingFilters,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[TaskingOut], str | None]:
    """A page of the taskings this actor sees, by id, and the cursor of the next page."""
    (after_id,) = decode_cursor(cursor, int) if cursor else (None,)
    page = (
        select(Tasking.id)
        .where(*_listing_filters(actor, settings, filters, after_id))
        .order_by(Tasking.id)
        .limit(limit + 1)
    )
    rows = session.connection().execute(_select(Tasking.id.in_(page.scalar_subquery()))).all()
    ids = list(dict.fromkeys(row[0] for row in rows))  # in id order, as the rows come
    more = len(ids) > limit
    if more:  # the look-ahead tasking only says a next page exists: no view for it
        rows = [row for row in rows if row[0] <= ids[limit - 1]]
    items = _views(session, rows, actor=actor, settings=settings)
    return items, encode_cursor(items[-1].id) if more else None


def _views(
    session: Session, rows: Sequence[Row[Any]], *, actor: User, settings: Settings
) -> list[TaskingOut]:
    """Cut the rows (ordered by tasking, then record ids) into one view per tasking."""
    taskings: dict[int, tuple[TaskingFacts, dict[int, DeliveryOut], dict[int, dict[str, Any]]]]
    taskings = {}
    for row in rows:
        tid = row[0]
        if tid not in taskings:
            facts = TaskingFacts._make((*row[:_T], DemarcheFacts._make(row[_T:_D])))
            taskings[tid] = (facts, {}, {})
        _, deliveries, responses = taskings[tid]
        if row[_D] is not None and row[_D] not in deliveries:
            deliveries[row[_D]] = DeliveryOut.model_construct(
                **dict(zip(DeliveryOut.model_fields, row[_D:_DL], strict=True))
            )
        if row[_DL] is not None:
            response = responses.get(row[_DL])
            if response is None:
                response = dict(zip(_RESPONSE_FIELDS, row[_DL:_RS], strict=True))
                response["commitments"] = {}
                responses[row[_DL]] = response
            if row[_RS] is not None:
                response["commitments"][row[_RS]] = CommitmentOut.model_construct(
                    **dict(zip(CommitmentOut.model_fields, row[_RS:], strict=True))
                )
    earlier = _revisions(
        session,
        [r["id"] for _, _, rs in taskings.values() for r in rs.values() if r["version"] > 1],
    )
    return [
        _view(
            session,
            facts,
            list(deliveries.values()),
            [
                ResponseOut.model_construct(
                    **{
                        **r,
                        "commitments": list(r["commitments"].values()),
                        "revisions": earlier.get(r["id"], []),
                    }
                )
                for r in responses.values()
            ],
            actor=actor,
            settings=settings,
        )
        for facts, deliveries, responses in taskings.values()
    ]


def _revisions(
    session: Session, response_ids: Iterable[int]
) -> dict[int, list[ResponseRevisionOut]]:
    """Earlier texts of the revised responses (version > 1): usually none to read."""
    ids = list(response_ids)
    found: dict[int, list[ResponseRevisionOut]] = {}
    if not ids:
        return found
    for rev in session.scalars(
        select(ResponseRevision)
        .where(ResponseRevision.response_id.in_(ids))
        .order_by(ResponseRevision.response_id, ResponseRevision.version)
    ):
        found.setdefault(rev.response_id, []).append(ResponseRevisionOut.model_validate(rev))
    return found


def _view(
    session: Session,
    t: TaskingFacts,
    deliveries: list[DeliveryOut],
    responses: list[ResponseOut],
    *,
    actor: User,
    settings: Settings,
) -> TaskingOut:
    urgent = is_unacknowledged_urgent(t, settings)
    late = is_late(t.role, t.status, t.due_date)
    changed = t.demarche.revision > t.seen_revision
    return TaskingOut.model_construct(
        id=t.id,
        demarche_id=t.demarche_id,
        demarche_subject=t.demarche.subject,
        demarche_classification=t.demarche.classification,
        demarche_precedence=t.demarche.precedence,
        post=t.post_code,
        post_name=t.post_name,
        post_country=t.post_country,
        post_time_zone=t.post_time_zone,
        country=t.country,
        role=t.role,
        status=t.status,
        due_date=t.due_date,
        overdue=late or urgent,
        days_late=days_late(t.role, t.status, t.due_date),
        unacknowledged_urgent=urgent,
        acknowledged_at=t.acknowledged_at,
        planned_date=t.planned_date,
        officer=t.officer,
        reason=t.reason,
        version=t.version,
        allowed_actions=moves_for(actor, t),
        changed_since_seen=changed,
        # Amended since: the full demarche is needed to compare (rare, so loaded then).
        changes=changes_since_seen(session, t.demarche_id, t.seen_revision) if changed else [],
        deliveries=deliveries,
        responses=responses,
    )


# -- what a write loads, and what a view adds -------------------------------------------


@lru_cache(maxsize=256)
def _to_write(reader: Reader) -> Select[Any]:
    """Built once per kind of reader: a built statement also keeps its cache key."""
    return (
        select(Tasking)
        .options(
            # Only what the workflow reads of them.
            joinedload(Tasking.post, innerjoin=True).load_only(
                Post.code, Post.name, Post.time_zone
            ),
            joinedload(Tasking.demarche, innerjoin=True).load_only(
                Demarche.subject,
                Demarche.status,
                Demarche.precedence,
                Demarche.classification,
                Demarche.revision,
                Demarche.version,
            ),
        )
        .where(Tasking.id == bindparam("tasking_id"), visible_taskings(reader))
    )


def load(session: Session, tasking_id: int, *, actor: User) -> Tasking:
    """The tasking a write moves, if this actor may see it, else the 404 of a missing one.
    Its records are not loaded: a write adds to them and never reads them."""
    tasking = session.scalar(_to_write(Reader.of(actor)), {"tasking_id": tasking_id})
    if tasking is None:
        raise NotFound(f"No tasking {tasking_id}.")
    return tasking


def changes_since_seen(session: Session, demarche_id: int, seen_revision: int) -> list[str]:
    """Which parts of the demarche its amendments changed since the post last acted (on
    revision seen_revision). Rare, so the whole demarche is loaded then to compare."""
    demarche = session.get_one(Demarche, demarche_id)
    if demarche.revision <= seen_revision:
        return []
    then = session.scalar(
        select(DemarcheRevision.content).where(
            DemarcheRevision.demarche_id == demarche.id,
            DemarcheRevision.number == seen_revision,
        )
    )
    if then is None:
        return ["demarche"]
    now = jsonable(demarche.snapshot())
    return sorted(k for k in now if k not in ("status",) and then.get(k) != now[k])


# -- what happened to one tasking, and why --------------------------------------------


class TaskingEvent(NamedTuple):
    """One move on a tasking as its pages list it: who, when, and the reason given."""

    at: datetime
    action: str
    actor: str | None
    reason: str | None
    due_before: date | None
    due_after: date | None


def history(session: Session, t: TaskingOut, *, actor: User) -> list[TaskingEvent]:
    """The moves on a tasking the actor has read (through `read`), oldest first: what the
    post is shown of the desk's decisions and why, and the desk of the post's."""
    rows = session.execute(
        select(AuditEvent.at, AuditEvent.action, User.username, AuditEvent.before, AuditEvent.after)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.demarche_id == t.demarche_id,  # the timeline's index
            AuditEvent.entity == "tasking",
            AuditEvent.entity_id == t.id,
            visible_events(actor),
        )
        .order_by(AuditEvent.id)
    )
    out = []
    for at, action, username, before, after in rows:
        before, after = before or {}, after or {}
        moved = before.get("due_date") != after.get("due_date") and action != "create"
        out.append(
            TaskingEvent(
                at=at,
                action=action,
                actor=username,
                reason=after.get("reason") if after.get("reason") != before.get("reason") else None,
                due_before=_day(before.get("due_date")) if moved else None,
                due_after=_day(after.get("due_date")) if moved else None,
            )
        )
    return out


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# What the desk's moves did, as the page it lands back on says it ("SUVA for Tonga: waived").
_MOVED = {
    "waive": "waived",
    "insist": "told to deliver after all (back to pending)",
    "cancel": "cancelled",
    "reopen": "reopened",
    "accept": "report accepted, tasking closed",
}


def moved_notice(t: TaskingOut, action: str) -> str:
    """The sentence naming what a desk move changed, read from the tasking as it now is."""
    where = t.post if t.country == t.post_country else f"{t.post} for {t.country}"
    if action == "extend":
        return f"{where}: due date moved to {t.due_date.isoformat() if t.due_date else 'none'}."
    return f"{where}: {_MOVED.get(action, t.status.value.replace('_', ' '))}."


def notice_for(
    session: Session, tasking_id: int | None, action: str, *, actor: User, settings: Settings
) -> str:
    """moved_notice for the page a desk move lands back on (`?done=waive&moved=12`), or
    "" when there is nothing to say (not a desk move, or a tasking out of sight)."""
    if tasking_id is None or (action not in _MOVED and action != "extend"):
        return ""
    try:
        return moved_notice(read(session, tasking_id, actor=actor, settings=settings), action)
    except NotFound:
        return ""
