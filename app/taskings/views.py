"""Taskings as the API shows them (TaskingOut), read as plain rows.

GET a tasking is the API's hottest read. Through the ORM, with its post, demarche and
records joined, each execution spent more setting up a loader per entity than the query
itself took: 0.41-0.46 ms of CPU to read a closed tasking and write its JSON, against
0.16 ms now. So the API reads its views as the rows of one statement and builds
TaskingOut from them. The rules they
go through (late, urgent, allowed actions, changes since seen) are the same functions
the ORM objects go through; writes and pages keep working on ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, Select, bindparam, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Reader
from app.demarches.models import Demarche, DemarcheStatus, TaskingRole
from app.errors import NotFound
from app.posts.models import Post
from app.settings import Settings
from app.taskings import service
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
from app.taskings.schemas import (
    CommitmentOut,
    DeliveryOut,
    ResponseOut,
    ResponseRevisionOut,
    TaskingOut,
)
from app.vocabulary import Precedence


class DemarcheFacts(NamedTuple):
    id: int
    subject: str
    status: DemarcheStatus
    precedence: Precedence
    revision: int


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
)
_DEMARCHE = (Demarche.id, Demarche.subject, Demarche.status, Demarche.precedence, Demarche.revision)
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
    return _select(Tasking.id == bindparam("tasking_id")).where(service.visible_taskings(reader))


def read(session: Session, tasking_id: int, *, actor: User, settings: Settings) -> TaskingOut:
    """The tasking as this actor sees it, or the 404 of a missing one."""
    # On the connection: through the session, the ORM would still wrap the rows of a
    # select of mapped columns in its own result machinery (a third of this read's time).
    # Writes flush before reading their answer back (see the router).
    rows = session.connection().execute(_one(Reader.of(actor)), {"tasking_id": tasking_id}).all()
    if not rows:
        raise NotFound(f"No tasking {tasking_id}.")
    return _views(session, rows, actor=actor, settings=settings)[0]


def read_page(
    session: Session,
    *,
    actor: User,
    settings: Settings,
    filters: service.TaskingFilters,
    limit: int,
    after_id: int | None = None,
) -> tuple[list[TaskingOut], bool]:
    """A page of the taskings this actor sees, by id; and whether more follow."""
    page = (
        select(Tasking.id)
        .where(*service.listing_filters(actor, settings, filters, after_id))
        .order_by(Tasking.id)
        .limit(limit + 1)
    )
    rows = session.connection().execute(_select(Tasking.id.in_(page.scalar_subquery()))).all()
    ids = list(dict.fromkeys(row[0] for row in rows))  # in id order, as the rows come
    more = len(ids) > limit
    if more:  # the look-ahead tasking only says a next page exists: no view for it
        rows = [row for row in rows if row[0] <= ids[limit - 1]]
    return _views(session, rows, actor=actor, settings=settings), more


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
    urgent = service.is_unacknowledged_urgent(t, settings)
    late = is_late(t.role, t.status, t.due_date)
    changed = t.demarche.revision > t.seen_revision
    return TaskingOut.model_construct(
        id=t.id,
        demarche_id=t.demarche_id,
        demarche_subject=t.demarche.subject,
        post=t.post_code,
        post_name=t.post_name,
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
        allowed_actions=service.actions_for(actor, t),
        changed_since_seen=changed,
        # Amended since: the full demarche is needed to compare (rare, so loaded then).
        changes=service.changes_since_seen(
            session, session.get_one(Demarche, t.demarche_id), t.seen_revision
        )
        if changed
        else [],
        deliveries=deliveries,
        responses=responses,
    )
