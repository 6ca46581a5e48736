"""The tasking workflow's commands. Each goes through the transition table
(app/taskings/workflow.py), writes the change and its audit event, and flushes; the
caller commits. What a tasking shows is read by app/taskings/reads.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import jsonable
from app.auth.models import User
from app.auth.policy import Side, require_follow_up
from app.db import today_utc, utcnow
from app.demarches.models import Objective, TalkingPoint
from app.errors import Invalid
from app.notifications.models import Kind
from app.notifications.outbox import to_desk, to_post
from app.taskings.models import (
    Commitment,
    Delivery,
    ObjectiveStance,
    Response,
    ResponseRevision,
    Tasking,
)
from app.taskings.records import delivery_window
from app.taskings.schemas import (
    AcknowledgeIn,
    CommitmentUpdate,
    DeliveryIn,
    ExtendIn,
    ResponseIn,
)
from app.taskings.workflow import (
    Action,
    apply,
    audit_tasking,
    check,
    check_revise,
    snapshot,
)


def acknowledge(session: Session, tasking: Tasking, data: AcknowledgeIn, *, actor: User) -> Tasking:
    check(tasking, Action.ACKNOWLEDGE, actor=actor)
    tasking.planned_date = data.planned_date or tasking.planned_date
    tasking.officer = data.officer or tasking.officer
    tasking.acknowledged_at = utcnow()
    apply(session, tasking, Action.ACKNOWLEDGE, actor=actor)
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
    check(tasking, Action.DELIVER, actor=actor, from_post_cable=bool(from_post_cable))
    refused = delivery_window(session, tasking.id).refusal(data.delivered_on)
    if refused:
        raise Invalid(refused, errors=[{"field": "delivered_on", "message": refused}])
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
    apply(
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


def _stances(session: Session, tasking: Tasking, data: ResponseIn) -> list[ObjectiveStance]:
    """The response's stances, one per objective the demarche numbers."""
    if not data.stances:
        return []
    given = [s.objective_position for s in data.stances]
    if len(set(given)) != len(given):
        raise Invalid("Give each objective one stance.", field="stances")
    positions = set(
        session.scalars(
            select(Objective.position).where(Objective.demarche_id == tasking.demarche_id)
        )
    )
    unknown = sorted(set(given) - positions)
    if unknown:
        raise Invalid(
            f"No objective numbered {', '.join(map(str, unknown))} on this demarche "
            f"(it has {len(positions)}).",
            field="stances",
        )
    return [
        ObjectiveStance(objective_position=s.objective_position, stance=s.stance)
        for s in sorted(data.stances, key=lambda s: s.objective_position)
    ]


def _response_content(r: Response) -> dict[str, Any]:
    # Stances only when given: the records of responses without them read as before.
    stances = {"stances": {s.objective_position: s.stance for s in r.stances}} if r.stances else {}
    return stances | {
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
    check(tasking, Action.REPORT_RESPONSE, actor=actor, from_post_cable=bool(from_post_cable))
    response = Response(
        tasking=tasking,
        created_by_id=actor.id,
        position=data.position,
        summary=data.summary,
        follow_up_needed=data.follow_up_needed,
        reporting_cable_ref=data.reporting_cable_ref,
        commitments=[Commitment(text=c.text, due_date=c.due_date) for c in data.commitments],
        stances=_stances(session, tasking, data),
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
    apply(
        session,
        tasking,
        Action.REPORT_RESPONSE,
        actor=actor,
        from_post_cable=from_post_cable,
        extra={"response_id": response.id, "position": response.position},
    )
    to_desk(session, Kind.RESPONSE_REPORTED, tasking)
    return response


def revise_response(
    session: Session, response: Response, data: ResponseIn, *, actor: User
) -> Response:
    """Replace a response's text, keeping the earlier one as a revision."""
    tasking = response.tasking
    side = require_follow_up(actor, tasking.post_id)
    check_revise(tasking)
    before = _response_content(response)
    stances = _stances(session, tasking, data)
    if response.stances:
        # Gone before their successors take the same numbers (a flush inserts first). The
        # response's own row is not written yet: its version moves once, below.
        response.stances = []
        session.flush()
    response.stances = stances
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


def move_with_reason(
    session: Session, tasking: Tasking, action: Action, *, actor: User, reason: str = ""
) -> Tasking:
    """The moves that carry only a reason: unable, advise against, waive, insist, accept,
    reopen, cancel."""
    apply(session, tasking, action, actor=actor, reason=reason)
    told = _TOLD_THE_POST.get(action)
    if told is not None:
        to_post(session, told, tasking)
    return tasking


# The desk's moves its post must hear of.
_TOLD_THE_POST = {
    Action.WAIVE: Kind.WAIVED,
    Action.INSIST: Kind.INSISTED,
    Action.CANCEL: Kind.CANCELLED,
}


def extend(session: Session, tasking: Tasking, data: ExtendIn, *, actor: User) -> Tasking:
    """The desk gives the post until a later date; the reason is the post's to read."""
    check(tasking, Action.EXTEND, actor=actor)  # the state (409) before what was typed (422)
    today = today_utc()
    if tasking.due_date is not None and data.due_date <= tasking.due_date:
        raise Invalid(
            f"Give a date after the current due date ({tasking.due_date.isoformat()}).",
            field="due_date",
        )
    if data.due_date < today:
        raise Invalid(
            f"Give a date from today ({today.isoformat()}) on: an extension into the past "
            "leaves the post overdue.",
            field="due_date",
        )
    before = snapshot(tasking)
    tasking.due_date = data.due_date
    apply(session, tasking, Action.EXTEND, actor=actor, reason=data.reason, before=before)
    to_post(session, Kind.EXTENDED, tasking)
    return tasking


def update_commitment(
    session: Session, commitment: Commitment, data: CommitmentUpdate, *, actor: User
) -> Commitment:
    tasking = commitment.response.tasking
    require_follow_up(actor, tasking.post_id)
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
