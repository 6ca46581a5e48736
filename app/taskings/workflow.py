"""The tasking workflow as data: one table of (action, from-states, to-state, who, form).

The API, the pages, the demarche's own moves, the benchmark's data generator and the
tests all read this table, and `check` and `apply` are the only way a tasking's state
changes: nothing else decides whether a move is allowed. See ../shared/DOMAIN.md,
"The workflow".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.auth.policy import Side, deny, side_for
from app.db import utcnow
from app.demarches.models import DemarcheStatus
from app.demarches.rules import hold, settle
from app.errors import Conflict, Invalid
from app.taskings.models import AWAITING_DELIVERY, FINISHED, OPEN_STATUSES, Tasking
from app.taskings.models import TaskingStatus as S
from app.taskings.overdue import TaskingState
from app.vocabulary import TaskingRole


class Action(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    DELIVER = "deliver"
    REPORT_RESPONSE = "report_response"
    MARK_UNABLE = "mark_unable"
    ADVISE_AGAINST = "advise_against"
    WAIVE = "waive"
    INSIST = "insist"
    ACCEPT = "accept"
    REOPEN = "reopen"
    CANCEL = "cancel"
    # The desk gives a post more time: the due date moves, the state stays.
    EXTEND = "extend"
    # The demarche's own: cancelled, closed or amended, it takes its open taskings back,
    # and an amendment that targets a post again revives its tasking.
    WITHDRAW = "withdraw"
    REVIVE = "revive"


class Form(enum.StrEnum):
    """Which form a move takes on the pages."""

    ACKNOWLEDGE = "acknowledge"
    DELIVER = "deliver"
    RESPOND = "respond"
    REASON = "reason"  # a reason box, and a button
    EXTEND = "extend"  # a new due date, a reason box, and a button
    NONE = "none"  # never a person's move


_ISSUED = frozenset({DemarcheStatus.ISSUED})
_ANY_DEMARCHE = frozenset(DemarcheStatus)


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[S]
    # None: the move leaves the state where it is (an extension).
    target: S | None
    side: Side
    form: Form = Form.REASON
    # Info addressees only read: they can acknowledge, and the desk can cancel.
    info_too: bool = False
    reason_required: bool = False
    # A demarche that is not issued holds its taskings still.
    demarche_states: frozenset[DemarcheStatus] = _ISSUED
    # The word the audit trail records it under.
    audit_as: str = ""
    # Undoes or overrules the post's work: the pages ask for a reason and an explicit
    # confirmation, and the post is shown the reason.
    destructive: bool = False

    def to(self, status: S) -> S:
        """The state this move leaves a tasking in, from `status`."""
        return status if self.target is None else self.target


_OPEN_FOR_POST = AWAITING_DELIVERY

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        Action.ACKNOWLEDGE,
        frozenset({S.PENDING}),
        S.ACKNOWLEDGED,
        Side.POST,
        form=Form.ACKNOWLEDGE,
        info_too=True,
    ),
    # Delivering again from `delivered` logs another meeting; the state stays.
    Transition(
        Action.DELIVER, _OPEN_FOR_POST | {S.DELIVERED}, S.DELIVERED, Side.POST, form=Form.DELIVER
    ),
    Transition(
        Action.REPORT_RESPONSE, frozenset({S.DELIVERED}), S.REPORTED, Side.POST, form=Form.RESPOND
    ),
    Transition(Action.MARK_UNABLE, _OPEN_FOR_POST, S.UNABLE, Side.POST, reason_required=True),
    Transition(
        Action.ADVISE_AGAINST, _OPEN_FOR_POST, S.ADVISED_AGAINST, Side.POST, reason_required=True
    ),
    # The desk's answers to the post's advice: the post is told why, either way.
    Transition(
        Action.WAIVE,
        frozenset({S.ADVISED_AGAINST}),
        S.WAIVED,
        Side.DESK,
        reason_required=True,
        destructive=True,
    ),
    Transition(
        Action.INSIST,
        frozenset({S.ADVISED_AGAINST}),
        S.PENDING,
        Side.DESK,
        reason_required=True,
        destructive=True,
    ),
    Transition(Action.ACCEPT, frozenset({S.REPORTED}), S.CLOSED, Side.DESK),
    # Reopening a tasking of a closed demarche reopens the demarche too.
    Transition(
        Action.REOPEN,
        frozenset({S.CLOSED}),
        S.REPORTED,
        Side.DESK,
        reason_required=True,
        demarche_states=frozenset({DemarcheStatus.ISSUED, DemarcheStatus.CLOSED}),
    ),
    Transition(
        Action.CANCEL,
        frozenset({S.PENDING, S.ACKNOWLEDGED, S.DELIVERED, S.REPORTED, S.ADVISED_AGAINST}),
        S.CANCELLED,
        Side.DESK,
        info_too=True,
        reason_required=True,
        destructive=True,
    ),
    # More time for a post that still owes its delivery; the post sees the new date and why.
    Transition(
        Action.EXTEND,
        AWAITING_DELIVERY,
        None,
        Side.DESK,
        form=Form.EXTEND,
        reason_required=True,
    ),
    Transition(
        Action.WITHDRAW,
        OPEN_STATUSES,
        S.CANCELLED,
        Side.DEMARCHE,
        form=Form.NONE,
        info_too=True,
        demarche_states=_ANY_DEMARCHE,
        audit_as="cancel",
    ),
    Transition(
        Action.REVIVE,
        FINISHED,
        S.PENDING,
        Side.DEMARCHE,
        form=Form.NONE,
        info_too=True,
        demarche_states=_ANY_DEMARCHE,
    ),
)

BY_ACTION: dict[Action, Transition] = {t.action: t for t in TRANSITIONS}
# The moves people make (each an API route and a page form); the demarche's are not.
PEOPLES_MOVES: tuple[Action, ...] = tuple(t.action for t in TRANSITIONS if t.side != Side.DEMARCHE)


def transition_for(action: Action, status: S, role: TaskingRole) -> Transition | None:
    """The transition taking `action` from `status`, or None if the table forbids it."""
    t = BY_ACTION[action]
    if status not in t.sources:
        return None
    if role == TaskingRole.INFO and not t.info_too:
        return None
    return t


def allowed_actions(status: S, role: TaskingRole, side: Side | None = None) -> list[Action]:
    """The people's moves from this state (the demarche's own are never offered)."""
    return [
        t.action
        for t in TRANSITIONS
        if t.side != Side.DEMARCHE
        and transition_for(t.action, status, role) is not None
        and (side is None or t.side == side)
    ]


def moves_for(actor: User, tasking: TaskingState) -> list[Action]:
    """The moves this actor may make on this tasking now."""
    return moves_of(
        actor,
        post_id=tasking.post_id,
        status=tasking.status,
        role=tasking.role,
        demarche_status=tasking.demarche.status,
    )


def moves_of(
    actor: User, *, post_id: int, status: S, role: TaskingRole, demarche_status: DemarcheStatus
) -> list[Action]:
    """moves_for, from a tasking's columns: their side's moves from its state that its
    demarche's state allows."""
    side = side_for(actor, post_id)
    if side is None:
        return []
    return [
        a
        for a in allowed_actions(status, role, side)
        if demarche_status in BY_ACTION[a].demarche_states
    ]


def actions_by_form(form: Form, side: Side | None = None) -> tuple[Action, ...]:
    """The moves that take this form (of this side), in the table's order."""
    return tuple(
        t.action for t in TRANSITIONS if t.form == form and (side is None or t.side == side)
    )


def check(
    tasking: Tasking, action: Action, *, actor: User, from_post_cable: bool = False
) -> Transition:
    """The transition for this move, or the precise refusal: 403 (not your side), then
    409 (not from this state, or not while the demarche is not issued). Writes nothing.

    The desk may record the post's own moves from the post's report cable: the cable
    is the post's act, the desk officer only transcribes it.
    """
    t = BY_ACTION[action]
    side = side_for(actor, tasking.post_id)
    if side != t.side and not (from_post_cable and t.side == Side.POST and side == Side.DESK):
        who = "the tasked post" if t.side == Side.POST else "the desk"
        raise deny(actor, f"Only {who} may {action.value.replace('_', ' ')} this tasking.")
    demarche_status = tasking.demarche.status
    if demarche_status not in t.demarche_states:
        raise Conflict(
            f"Demarche {tasking.demarche_id} is {demarche_status.value}; "
            "its taskings can no longer move.",
            current_state=tasking.status.value,
            allowed_actions=[],
        )
    if transition_for(action, tasking.status, tasking.role) is None:
        allowed = allowed_actions(tasking.status, tasking.role)
        raise Conflict(
            f"Cannot {action.value.replace('_', ' ')} a {tasking.role.value} tasking that is "
            f"{tasking.status.value}. Allowed from {tasking.status.value}: "
            f"{', '.join(a.value for a in allowed) or 'nothing'}.",
            current_state=tasking.status.value,
            allowed_actions=[a.value for a in allowed],
        )
    return t


# A reported response may be revised (by the post or the desk) while the tasking stands
# reported or closed, and its demarche is issued or closed: not once cancelled.
REVISABLE = frozenset({S.REPORTED, S.CLOSED})
REVISABLE_WHILE = frozenset({DemarcheStatus.ISSUED, DemarcheStatus.CLOSED})


def check_revise(tasking: Tasking) -> None:
    """409 unless the tasking's response may be revised now. Writes nothing."""
    if tasking.demarche.status not in REVISABLE_WHILE:
        raise Conflict(
            f"Demarche {tasking.demarche_id} is {tasking.demarche.status.value}; "
            "its responses can no longer be revised.",
            current_state=tasking.status.value,
            allowed_actions=[],
        )
    if tasking.status not in REVISABLE:
        raise Conflict(
            f"The tasking is {tasking.status.value}; a response is revised once reported.",
            current_state=tasking.status.value,
            allowed_actions=[a.value for a in allowed_actions(tasking.status, tasking.role)],
        )


def snapshot(t: Tasking) -> dict[str, Any]:
    """A tasking as the audit trail records it, before and after a move."""
    return {
        "status": t.status,
        "due_date": t.due_date,
        "planned_date": t.planned_date,
        "officer": t.officer,
        "reason": t.reason,
    }


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


def apply(
    session: Session,
    tasking: Tasking,
    action: Action,
    *,
    actor: User,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
    from_post_cable: str | None = None,
    before: dict[str, Any] | None = None,
) -> Transition:
    """Check the table, then change the state and write the audit event, and flush. A
    move into or out of a finished state may close or reopen the demarche.

    from_post_cable: the ref id of the post's report cable the move is transcribed from.
    before: the snapshot taken before the caller changed the tasking's own fields (a
    new due date), so that the audit event records both sides of the change.
    """
    if _may_settle(tasking.status, action):
        # Before the check and the write: the demarche as it now stands, held until
        # commit, so that a concurrent last move cannot settle from a stale count.
        hold(session, tasking.demarche)
    t = check(tasking, action, actor=actor, from_post_cable=bool(from_post_cable))
    if from_post_cable:
        extra = {**(extra or {}), "from_cable": from_post_cable}
    if t.reason_required and not (reason or "").strip():
        raise Invalid(
            f"Give a reason to {action.value.replace('_', ' ')}: the "
            f"{'post' if t.side == Side.DESK else 'desk'} is shown it.",
            field="reason",
        )
    before = before or snapshot(tasking)
    was = tasking.status
    tasking.status = t.to(was)
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
        t.audit_as or action.value,
        actor=actor,
        before=before,
        after={**snapshot(tasking), **(extra or {})},
    )
    if _may_settle(was, action):
        settle(session, tasking.demarche, actor=actor)
    return t


def _may_settle(status: S, action: Action) -> bool:
    # Only a move into or out of a finished state can close or reopen the demarche.
    return status in FINISHED or BY_ACTION[action].to(status) in FINISHED


def withdraw(session: Session, tasking: Tasking, *, actor: User, reason: str) -> None:
    """The demarche takes an open tasking back (cancelled, closed, or the post removed by
    amendment); a finished one stays as it is."""
    t = transition_for(Action.WITHDRAW, tasking.status, tasking.role)
    if t is None:
        return
    audit_tasking(
        session,
        tasking,
        t.audit_as,
        actor=actor,
        before={"status": tasking.status},
        after={"status": t.to(tasking.status), "reason": reason},
    )
    tasking.status = t.to(tasking.status)
    tasking.reason = reason


def revive(tasking: Tasking) -> bool:
    """An amendment targets a post again: its finished tasking starts over. The caller
    records it (as the amendment's new tasking). False if there was nothing to revive."""
    t = transition_for(Action.REVIVE, tasking.status, tasking.role)
    if t is None:
        return False
    tasking.status = t.to(tasking.status)
    return True
