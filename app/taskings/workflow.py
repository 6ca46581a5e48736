"""The tasking workflow as data: one table of (action, from-states, to-state, who).

The API, the pages and the tests all read this table; nothing else decides
whether a move is allowed. See ../shared/DOMAIN.md, "The workflow".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.demarches.models import TaskingRole
from app.taskings.models import AWAITING_DELIVERY
from app.taskings.models import TaskingStatus as S


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


class Side(enum.StrEnum):
    """Who moves a tasking: the post it belongs to, or the desk that issued it."""

    POST = "post"
    DESK = "desk"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[S]
    target: S
    side: Side
    # Info addressees only read: they can acknowledge, and the desk can cancel.
    info_too: bool = False
    reason_required: bool = False


_OPEN_FOR_POST = frozenset({S.PENDING, S.ACKNOWLEDGED})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        Action.ACKNOWLEDGE, frozenset({S.PENDING}), S.ACKNOWLEDGED, Side.POST, info_too=True
    ),
    # Delivering again from `delivered` logs another meeting; the state stays.
    Transition(Action.DELIVER, _OPEN_FOR_POST | {S.DELIVERED}, S.DELIVERED, Side.POST),
    Transition(Action.REPORT_RESPONSE, frozenset({S.DELIVERED}), S.REPORTED, Side.POST),
    Transition(Action.MARK_UNABLE, _OPEN_FOR_POST, S.UNABLE, Side.POST, reason_required=True),
    Transition(
        Action.ADVISE_AGAINST, _OPEN_FOR_POST, S.ADVISED_AGAINST, Side.POST, reason_required=True
    ),
    Transition(Action.WAIVE, frozenset({S.ADVISED_AGAINST}), S.WAIVED, Side.DESK),
    Transition(Action.INSIST, frozenset({S.ADVISED_AGAINST}), S.PENDING, Side.DESK),
    Transition(Action.ACCEPT, frozenset({S.REPORTED}), S.CLOSED, Side.DESK),
    Transition(Action.REOPEN, frozenset({S.CLOSED}), S.REPORTED, Side.DESK, reason_required=True),
    Transition(
        Action.CANCEL,
        frozenset({S.PENDING, S.ACKNOWLEDGED, S.DELIVERED, S.REPORTED, S.ADVISED_AGAINST}),
        S.CANCELLED,
        Side.DESK,
        info_too=True,
    ),
)

BY_ACTION: dict[Action, Transition] = {t.action: t for t in TRANSITIONS}

__all__ = ["AWAITING_DELIVERY", "FINISHED", "TRANSITIONS", "Action", "Side", "Transition"]
# Nothing more will happen unless the desk reopens it.
FINISHED = frozenset({S.CLOSED, S.UNABLE, S.WAIVED, S.CANCELLED})


def transition_for(action: Action, status: S, role: TaskingRole) -> Transition | None:
    """The transition taking `action` from `status`, or None if the table forbids it."""
    t = BY_ACTION[action]
    if status not in t.sources:
        return None
    if role == TaskingRole.INFO and not t.info_too:
        return None
    return t


def allowed_actions(status: S, role: TaskingRole, side: Side | None = None) -> list[Action]:
    return [
        t.action
        for t in TRANSITIONS
        if transition_for(t.action, status, role) is not None and (side is None or t.side == side)
    ]
