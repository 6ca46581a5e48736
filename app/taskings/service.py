"""The tasking workflow's service functions. Each checks the transition table, writes the
change and its audit event, and flushes; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.audit import jsonable, record
from app.auth.models import Role, User
from app.auth.policy import (
    Permission,
    Reader,
    allows,
    deny,
    may_read_portion,
    sees_every_demarche,
    visible_demarches,
)
from app.classification import Classification
from app.db import today_utc, utcnow
from app.demarches.models import (
    Demarche,
    DemarcheRevision,
    DemarcheStatus,
    TalkingPoint,
    TaskingRole,
)
from app.errors import Conflict, Invalid, NotFound
from app.posts.models import Post
from app.settings import Settings
from app.taskings.models import (
    OPEN_STATUSES,
    Commitment,
    CommitmentStatus,
    Delivery,
    Response,
    ResponseRevision,
    Tasking,
    TaskingStatus,
)
from app.taskings.schemas import AcknowledgeIn, CommitmentUpdate, DeliveryIn, ResponseIn
from app.taskings.workflow import (
    BY_ACTION,
    FINISHED,
    Action,
    Side,
    Transition,
    allowed_actions,
    transition_for,
)
from app.vocabulary import Precedence

URGENT = (Precedence.FLASH, Precedence.NIACT_IMMEDIATE)


# -- seeing -------------------------------------------------------------------


def visible_taskings(actor: User | Reader) -> ColumnElement[bool]:
    """Taskings of visible demarches; a post officer sees only their own post's.

    A correlated EXISTS on the tasking's own demarche: a key lookup per tasking,
    where an IN over every visible demarche made the database read them all.
    """
    if sees_every_demarche(actor):
        return own_post_only(actor)  # every tasking has its demarche (a foreign key)
    clause = exists(
        select(Demarche.id)
        .where(Demarche.id == Tasking.demarche_id, visible_demarches(actor))
        # Its own demarches, even inside a query that joins demarches too.
        .correlate_except(Demarche)
    )
    return and_(clause, own_post_only(actor))


def own_post_only(actor: User | Reader) -> ColumnElement[bool]:
    """A post officer's restriction alone, for queries whose demarches are already visible."""
    return Tasking.post_id == actor.post_id if actor.role == Role.POST_OFFICER else true()


def get_visible(
    session: Session, tasking_id: int, *, actor: User, with_records: bool = True
) -> Tasking:
    """The tasking if this actor may see it, else the 404 of a missing one.

    with_records brings its deliveries and responses (with their commitments) in the
    same query: a tasking has a delivery or two and a response, so joining them costs
    a few rows where separate queries cost a round trip each. Writes pass False.
    """
    stmt = _tasking_by_id(Reader.of(actor), with_records)
    result = session.execute(stmt, {"tasking_id": tasking_id})
    tasking = result.unique().scalar_one_or_none() if with_records else result.scalar()
    if tasking is None:
        raise NotFound(f"No tasking {tasking_id}.")
    if with_records:
        _load_revisions(session, tasking.responses)
    return tasking


@lru_cache(maxsize=1024)
def _tasking_by_id(reader: Reader, with_records: bool) -> Select[Any]:
    """Built once per kind of reader: a built statement also keeps its cache key, so
    a hot read skips both building the policy's clauses and hashing them."""
    stmt = select(Tasking).options(
        # Only what a tasking's view and its workflow read; an amended demarche's
        # other fields load when its changes are listed (rare).
        joinedload(Tasking.post, innerjoin=True).load_only(Post.code, Post.name),
        joinedload(Tasking.demarche, innerjoin=True).load_only(
            Demarche.subject,
            Demarche.status,
            Demarche.precedence,
            Demarche.classification,
            Demarche.revision,
            Demarche.version,
        ),
    )
    if with_records:
        stmt = stmt.options(
            joinedload(Tasking.deliveries),
            joinedload(Tasking.responses).joinedload(Response.commitments),
        )
    return stmt.where(Tasking.id == bindparam("tasking_id"), visible_taskings(reader))


def _load_revisions(session: Session, responses: list[Response]) -> None:
    """Earlier texts: only a revised response (version > 1) has any to load."""
    earlier: dict[int, list[ResponseRevision]] = {r.id: [] for r in responses}
    revised = [r.id for r in responses if r.version > 1]
    if revised:
        for rev in session.scalars(
            select(ResponseRevision)
            .where(ResponseRevision.response_id.in_(revised))
            .order_by(ResponseRevision.version)
        ):
            earlier[rev.response_id].append(rev)
    for r in responses:
        set_committed_value(r, "revisions", earlier[r.id])


def urgent_cutoff(settings: Settings, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(hours=settings.urgent_ack_hours)


class DemarcheState(Protocol):
    """What the workflow rules read of a tasking's demarche."""

    @property
    def status(self) -> DemarcheStatus: ...
    @property
    def precedence(self) -> Precedence: ...
    @property
    def revision(self) -> int: ...


class TaskingState(Protocol):
    """What the workflow rules read of a tasking: an ORM Tasking, or one read as rows
    (app/taskings/views.py), is judged by the same functions."""

    @property
    def post_id(self) -> int: ...
    @property
    def role(self) -> TaskingRole: ...
    @property
    def status(self) -> TaskingStatus: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def demarche(self) -> DemarcheState: ...


def is_unacknowledged_urgent(tasking: TaskingState, settings: Settings) -> bool:
    return (
        tasking.demarche.precedence in URGENT
        and tasking.demarche.status == DemarcheStatus.ISSUED
        and tasking.role == TaskingRole.ACTION
        and tasking.status == TaskingStatus.PENDING
        and tasking.created_at <= urgent_cutoff(settings)
    )


def overdue_clause(settings: Settings) -> ColumnElement[bool]:
    """SQL for 'overdue': late, or urgent and unacknowledged past the window."""
    return overdue_on(today_utc(), urgent_cutoff(settings))


def overdue_on(
    today: date | ColumnElement[date],
    cutoff: datetime | ColumnElement[datetime],
    *,
    demarche_joined: bool = False,
) -> ColumnElement[bool]:
    """overdue_clause() for a given day and urgent cut-off, which may be bound parameters
    (for a statement built once).

    demarche_joined: the query already joins the tasking's demarche (and keeps it to
    issued ones), so the urgent test reads its precedence directly instead of a subquery.
    """
    # Only action posts of demarches still open: an info post's old FLASH stays unread forever.
    urgent_demarche = (
        Demarche.precedence.in_(URGENT)
        if demarche_joined
        else Tasking.demarche_id.in_(
            select(Demarche.id).where(
                Demarche.precedence.in_(URGENT), Demarche.status == DemarcheStatus.ISSUED
            )
        )
    )
    urgent = and_(
        Tasking.status == TaskingStatus.PENDING,
        Tasking.role == TaskingRole.ACTION,
        Tasking.created_at <= cutoff,
        urgent_demarche,
    )
    return or_(Tasking.late_on(today), urgent)


@dataclass(frozen=True)
class TaskingFilters:
    demarche_id: int | None = None
    post: str | None = None
    status: TaskingStatus | None = None
    overdue: bool | None = None


def listing_filters(
    actor: User, settings: Settings, filters: TaskingFilters, after_id: int | None = None
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


def side_of(actor: User, tasking: TaskingState) -> Side | None:
    """Which side of the workflow this actor may move for this tasking, if any."""
    return _side_for(actor, tasking.post_id)


def _side_for(actor: User, post_id: int) -> Side | None:
    if allows(actor, Permission.ACT_FOR_POST) and actor.post_id == post_id:
        return Side.POST
    if allows(actor, Permission.MANAGE_TASKINGS):
        return Side.DESK
    return None


def require_follow_up_side(actor: User, tasking: Tasking) -> Side:
    """Responses and commitments are followed up by the tasked post or the desk."""
    side = side_of(actor, tasking)
    if side is None:
        raise deny(actor, "Only the tasked post or the desk may follow this up.")
    return side


def actions_for(actor: User, tasking: TaskingState) -> list[Action]:
    return moves_for(
        actor,
        post_id=tasking.post_id,
        status=tasking.status,
        role=tasking.role,
        demarche_status=tasking.demarche.status,
    )


def moves_for(
    actor: User,
    *,
    post_id: int,
    status: TaskingStatus,
    role: TaskingRole,
    demarche_status: DemarcheStatus,
) -> list[Action]:
    """The moves this actor may make on a tasking in this state: actions_for, for pages
    that read a tasking's columns without its demarche."""
    side = _side_for(actor, post_id)
    if side is None:
        return []
    return [
        a
        for a in allowed_actions(status, role, side)
        if demarche_status == DemarcheStatus.ISSUED
        or (a == Action.REOPEN and demarche_status == DemarcheStatus.CLOSED)
    ]


def changes_since_seen(session: Session, demarche: Demarche, seen_revision: int) -> list[str]:
    """Which parts of the demarche its amendments changed since this post last acted
    (on revision seen_revision, the tasking's own)."""
    if demarche.revision <= seen_revision:
        return []
    from app.demarches.service import snapshot  # demarches import taskings, not the reverse

    then = session.scalar(
        select(DemarcheRevision.content).where(
            DemarcheRevision.demarche_id == demarche.id,
            DemarcheRevision.number == seen_revision,
        )
    )
    if then is None:
        return ["demarche"]
    now = jsonable(snapshot(demarche))
    return sorted(k for k in now if k not in ("status",) and then.get(k) != now[k])


@dataclass(frozen=True)
class PointChoice:
    """A talking point as the delivery form offers it: its number always, its text only
    if the reader is cleared for it (a post ticks what it delivered, read or not)."""

    position: int
    text: str | None
    classification: Classification | None


def points_to_deliver(session: Session, tasking: Tasking, *, actor: User) -> list[PointChoice]:
    """The demarche's talking points in order, text withheld above the actor's clearance."""
    rows = session.execute(
        select(TalkingPoint.position, TalkingPoint.text, TalkingPoint.classification)
        .where(TalkingPoint.demarche_id == tasking.demarche_id)
        .order_by(TalkingPoint.position)
    )
    return [
        PointChoice(position, text, marking)
        if may_read_portion(actor, marking)
        else PointChoice(position, None, None)
        for position, text, marking in rows
    ]


# -- moving -------------------------------------------------------------------


def audit_tasking(
    session: Session,
    tasking: Tasking,
    action: str,
    *,
    actor: User,
    entity: str = "tasking",
    entity_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An audit event about a tasking or one of its records, always naming its post:
    the post's timeline shows its own lines and never another post's."""
    record(
        session,
        actor_id=actor.id,
        entity=entity,
        entity_id=tasking.id if entity_id is None else entity_id,
        demarche_id=tasking.demarche_id,
        post_id=tasking.post_id,
        action=action,
        before=before,
        after=after,
    )


def snapshot(t: Tasking) -> dict[str, Any]:
    return {
        "status": t.status,
        "due_date": t.due_date,
        "planned_date": t.planned_date,
        "officer": t.officer,
        "reason": t.reason,
    }


def require_side(
    actor: User, tasking: Tasking, action: Action, *, from_post_cable: bool = False
) -> None:
    """403 unless this actor is on the side of the workflow that takes this action.

    The desk may record the post's own moves from the post's report cable: the cable
    is the post's act, the desk officer only transcribes it.
    """
    expected = BY_ACTION[action].side
    side = side_of(actor, tasking)
    if from_post_cable and expected == Side.POST and side == Side.DESK:
        return
    if side != expected:
        who = "the tasked post" if expected == Side.POST else "the desk"
        raise deny(actor, f"Only {who} may {action.value.replace('_', ' ')} this tasking.")


def check_move(
    tasking: Tasking, action: Action, *, actor: User, from_post_cable: bool = False
) -> Transition:
    """The transition for this move, or the precise refusal: 403, then 409. Writes nothing."""
    require_side(actor, tasking, action, from_post_cable=from_post_cable)
    t = transition_for(action, tasking.status, tasking.role)
    # A closed demarche's taskings stay still, except a reopen, which reopens it too.
    if tasking.demarche.status != DemarcheStatus.ISSUED and not (
        action == Action.REOPEN and tasking.demarche.status == DemarcheStatus.CLOSED
    ):
        raise Conflict(
            f"Demarche {tasking.demarche_id} is {tasking.demarche.status.value}; "
            "its taskings can no longer move.",
            current_state=tasking.status.value,
            allowed_actions=[],
        )
    if t is None:
        allowed = allowed_actions(tasking.status, tasking.role)
        raise Conflict(
            f"Cannot {action.value.replace('_', ' ')} a {tasking.role.value} tasking that is "
            f"{tasking.status.value}. Allowed from {tasking.status.value}: "
            f"{', '.join(a.value for a in allowed) or 'nothing'}.",
            current_state=tasking.status.value,
            allowed_actions=[a.value for a in allowed],
        )
    return t


def _move(
    session: Session,
    tasking: Tasking,
    action: Action,
    *,
    actor: User,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
    from_post_cable: str | None = None,
) -> Transition:
    """Check the table, then change the state and write the audit event."""
    t = check_move(tasking, action, actor=actor, from_post_cable=bool(from_post_cable))
    if from_post_cable:
        extra = {**(extra or {}), "from_cable": from_post_cable}
    if t.reason_required and not (reason or "").strip():
        raise Invalid(f"Give a reason to {action.value.replace('_', ' ')}.")
    before = snapshot(tasking)
    was = tasking.status
    tasking.status = t.target
    if reason and reason.strip():
        tasking.reason = reason.strip()
    # Touch the row even when the state stays (another delivery): the version bump is
    # what lets If-Match and the version check catch a concurrent writer.
    tasking.updated_at = utcnow()
    if t.side == Side.POST:
        tasking.seen_revision = tasking.demarche.revision
    session.flush()
    audit_tasking(
        session,
        tasking,
        action.value,
        actor=actor,
        before=before,
        after={**snapshot(tasking), **(extra or {})},
    )
    # Only a move into or out of a finished state can close or reopen the demarche.
    if was in FINISHED or t.target in FINISHED:
        settle_demarche(session, tasking.demarche, actor=actor)
    return t


def settle_demarche(session: Session, demarche: Demarche, *, actor: User) -> None:
    """A demarche closes itself when no action tasking is open, and reopens with one."""
    open_action = session.scalar(
        select(Tasking.id)
        .where(
            Tasking.demarche_id == demarche.id,
            Tasking.role == TaskingRole.ACTION,
            Tasking.status.not_in(FINISHED),
        )
        .limit(1)
    )
    if demarche.status == DemarcheStatus.ISSUED and open_action is None:
        demarche.status = DemarcheStatus.CLOSED
        demarche.closed_at = utcnow()
        change = ("close", DemarcheStatus.ISSUED, "no action tasking is open")
    elif demarche.status == DemarcheStatus.CLOSED and open_action is not None:
        demarche.status = DemarcheStatus.ISSUED
        demarche.closed_at = None
        change = ("reopen", DemarcheStatus.CLOSED, "a tasking was reopened")
    else:
        return
    session.flush()
    record(
        session,
        actor_id=actor.id,
        entity="demarche",
        entity_id=demarche.id,
        demarche_id=demarche.id,
        action=change[0],
        before={"status": change[1]},
        after={"status": demarche.status, "reason": change[2]},
    )


def withdraw(session: Session, tasking: Tasking, *, actor: User, reason: str) -> None:
    """The demarche itself takes an open tasking back (cancelled, closed, or the post
    removed by amendment). Not a move of the post's or the desk's on the tasking, so
    not in the transition table, but audited the same way."""
    if tasking.status not in OPEN_STATUSES:
        return
    audit_tasking(
        session,
        tasking,
        "cancel",
        actor=actor,
        before={"status": tasking.status},
        after={"status": TaskingStatus.CANCELLED, "reason": reason},
    )
    tasking.status = TaskingStatus.CANCELLED
    tasking.reason = reason


def withdraw_open(session: Session, demarche_id: int, *, actor: User, reason: str) -> None:
    """withdraw() every open tasking of a demarche."""
    for tasking in session.scalars(
        select(Tasking).where(Tasking.demarche_id == demarche_id, Tasking.status.in_(OPEN_STATUSES))
    ):
        withdraw(session, tasking, actor=actor, reason=reason)


def acknowledge(session: Session, tasking: Tasking, data: AcknowledgeIn, *, actor: User) -> Tasking:
    check_move(tasking, Action.ACKNOWLEDGE, actor=actor)
    tasking.planned_date = data.planned_date or tasking.planned_date
    tasking.officer = data.officer or tasking.officer
    tasking.acknowledged_at = utcnow()
    _move(session, tasking, Action.ACKNOWLEDGE, actor=actor)
    return tasking


def deliver(
    session: Session,
    tasking: Tasking,
    data: DeliveryIn,
    *,
    actor: User,
    from_post_cable: str | None = None,
) -> Delivery:
    """Log one approach to the host government; several may be logged.

    from_post_cable: the ref id of the post's report cable this is transcribed from,
    which lets a desk officer record it.
    """
    check_move(tasking, Action.DELIVER, actor=actor, from_post_cable=bool(from_post_cable))
    wanted = set(data.points)
    positions = (
        set(
            session.scalars(
                select(TalkingPoint.position).where(TalkingPoint.demarche_id == tasking.demarche_id)
            )
        )
        if wanted
        else set()
    )
    unknown = sorted(wanted - positions)
    if unknown:
        raise Invalid(
            f"No talking point numbered {', '.join(map(str, unknown))} on this demarche "
            f"(it has {len(positions)})."
        )
    # Setting the many-to-one adds it to the tasking's collection if that is loaded,
    # and does not load it if not (writes never read the earlier deliveries).
    delivery = Delivery(
        tasking=tasking,
        created_by_id=actor.id,
        **data.model_dump(exclude={"points"}),
        points=sorted(set(data.points)),
    )
    session.add(delivery)
    session.flush()
    _move(
        session,
        tasking,
        Action.DELIVER,
        actor=actor,
        from_post_cable=from_post_cable,
        extra={
            "delivery_id": delivery.id,
            "recipient": delivery.recipient_name,
            "level": delivery.level,
            "method": delivery.method,
            "delivered_on": delivery.delivered_on,
        },
    )
    return delivery


def _response_content(r: Response) -> dict[str, Any]:
    return {
        "position": r.position,
        "summary": r.summary,
        "follow_up_needed": r.follow_up_needed,
        "reporting_cable_ref": r.reporting_cable_ref,
        "commitments": [
            {"text": c.text, "due_date": c.due_date, "status": c.status} for c in r.commitments
        ],
    }


def report_response(
    session: Session,
    tasking: Tasking,
    data: ResponseIn,
    *,
    actor: User,
    from_post_cable: str | None = None,
) -> Response:
    """Record what the host government said; a later change is a revision, not a new report."""
    check_move(tasking, Action.REPORT_RESPONSE, actor=actor, from_post_cable=bool(from_post_cable))
    response = Response(
        tasking=tasking,
        created_by_id=actor.id,
        position=data.position,
        summary=data.summary,
        follow_up_needed=data.follow_up_needed,
        reporting_cable_ref=data.reporting_cable_ref,
        commitments=[Commitment(text=c.text, due_date=c.due_date) for c in data.commitments],
    )
    session.add(response)
    session.flush()
    audit_tasking(
        session,
        tasking,
        "create",
        actor=actor,
        entity="response",
        entity_id=response.id,
        after=_response_content(response),
    )
    _move(
        session,
        tasking,
        Action.REPORT_RESPONSE,
        actor=actor,
        from_post_cable=from_post_cable,
        extra={"response_id": response.id, "position": response.position},
    )
    return response


def revise_response(
    session: Session, response: Response, data: ResponseIn, *, actor: User
) -> Response:
    """Replace a response's text, keeping the earlier one as a revision."""
    tasking = response.tasking
    side = require_follow_up_side(actor, tasking)
    if tasking.status not in (TaskingStatus.REPORTED, TaskingStatus.CLOSED):
        raise Conflict(
            f"The tasking is {tasking.status.value}; a response is revised once reported.",
            current_state=tasking.status.value,
            allowed_actions=[a.value for a in allowed_actions(tasking.status, tasking.role)],
        )
    before = _response_content(response)
    # Appended to the loaded collection, so the answer to this request lists it too.
    response.revisions.append(
        ResponseRevision(version=response.version, content=jsonable(before), revised_by_id=actor.id)
    )
    response.position = data.position
    response.summary = data.summary
    response.follow_up_needed = data.follow_up_needed
    response.reporting_cable_ref = data.reporting_cable_ref
    response.commitments = [Commitment(text=c.text, due_date=c.due_date) for c in data.commitments]
    response.updated_at = utcnow()
    session.flush()
    audit_tasking(
        session,
        tasking,
        "revise",
        actor=actor,
        entity="response",
        entity_id=response.id,
        before=before,
        after=_response_content(response),
    )
    if side == Side.POST:
        tasking.seen_revision = tasking.demarche.revision
    return response


def get_visible_response(session: Session, response_id: int, *, actor: User) -> Response:
    response = session.scalar(
        select(Response)
        .join(Tasking, Tasking.id == Response.tasking_id)
        .where(Response.id == response_id, visible_taskings(actor))
        .options(selectinload(Response.commitments), selectinload(Response.revisions))
    )
    if response is None:
        raise NotFound(f"No response {response_id}.")
    return response


def move_with_reason(
    session: Session, tasking: Tasking, action: Action, *, actor: User, reason: str = ""
) -> Tasking:
    """The moves that carry only a reason: unable, advise against, waive, insist, accept,
    reopen, cancel."""
    _move(session, tasking, action, actor=actor, reason=reason)
    return tasking


# -- commitments --------------------------------------------------------------


def list_commitments(
    session: Session, *, actor: User, status: CommitmentStatus | None, overdue: bool | None
) -> list[tuple[Commitment, Tasking, str]]:
    stmt = (
        select(Commitment, Tasking, Post.code)
        .join(Response, Response.id == Commitment.response_id)
        .join(Tasking, Tasking.id == Response.tasking_id)
        .join(Post, Post.id == Tasking.post_id)
        .where(visible_taskings(actor))
    )
    if status:
        stmt = stmt.where(Commitment.status == status)
    late = and_(Commitment.status == CommitmentStatus.OPEN, Commitment.due_date < today_utc())
    if overdue is not None:
        stmt = stmt.where(late if overdue else ~late)
    rows = session.execute(stmt.order_by(Commitment.due_date, Commitment.id).limit(1000)).all()
    return [(c, t, code) for c, t, code in rows]


def get_visible_commitment(session: Session, commitment_id: int, *, actor: User) -> Commitment:
    c = session.scalar(
        select(Commitment)
        .join(Response, Response.id == Commitment.response_id)
        .join(Tasking, Tasking.id == Response.tasking_id)
        .where(Commitment.id == commitment_id, visible_taskings(actor))
    )
    if c is None:
        raise NotFound(f"No commitment {commitment_id}.")
    return c


def update_commitment(
    session: Session, commitment: Commitment, data: CommitmentUpdate, *, actor: User
) -> Commitment:
    tasking = commitment.response.tasking
    require_follow_up_side(actor, tasking)
    before = {"status": commitment.status}
    commitment.status = data.status
    session.flush()
    audit_tasking(
        session,
        tasking,
        "update",
        actor=actor,
        entity="commitment",
        entity_id=commitment.id,
        before=before,
        after={"status": commitment.status},
    )
    return commitment
