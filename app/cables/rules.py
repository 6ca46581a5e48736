"""The review of a post's reply cable, as a table: which action moves a reply from
which statuses to which. The service checks every move here before writing, and
the reply page offers exactly the actions this table (and the policy) allows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.auth.models import User
from app.auth.policy import may_match_reply_by_hand, may_review_reply
from app.errors import Conflict

from .models import CableReply, ReplyStatus

S = ReplyStatus


class ReplyAction(enum.StrEnum):
    CONFIRM = "confirm"  # log the (corrected) delivery and response on the tasking
    REJECT = "reject"  # the match or the suggestion is wrong
    MATCH_BY_HAND = "match_by_hand"  # the desk attaches the reply to a tasking


@dataclass(frozen=True, slots=True)
class Transition:
    action: ReplyAction
    sources: frozenset[ReplyStatus]
    target: ReplyStatus


TRANSITIONS: tuple[Transition, ...] = (
    Transition(ReplyAction.CONFIRM, frozenset({S.MATCHED}), S.CONFIRMED),
    Transition(ReplyAction.REJECT, frozenset({S.MATCHED, S.UNMATCHED}), S.REJECTED),
    # A rejected match may be put right by hand; only a confirmed reply is settled.
    Transition(
        ReplyAction.MATCH_BY_HAND, frozenset({S.UNMATCHED, S.MATCHED, S.REJECTED}), S.MATCHED
    ),
)

BY_ACTION: dict[ReplyAction, Transition] = {t.action: t for t in TRANSITIONS}


def allowed_actions(status: ReplyStatus) -> list[ReplyAction]:
    return [t.action for t in TRANSITIONS if status in t.sources]


def check(reply: CableReply, action: ReplyAction) -> ReplyStatus:
    """The status `action` moves the reply to; 409 with the allowed actions if it may not."""
    t = BY_ACTION[action]
    if reply.status not in t.sources:
        allowed = allowed_actions(reply.status)
        raise Conflict(
            f"Cable reply {reply.id} is {reply.status.value}: it cannot be "
            f"{_done(action)}. Allowed from {reply.status.value}: "
            f"{', '.join(a.value.replace('_', ' ') for a in allowed) or 'nothing'}.",
            current_state=reply.status.value,
            allowed_actions=[a.value for a in allowed],
        )
    return t.target


def actions_for(actor: User, reply: CableReply, tasking_post_id: int | None) -> list[ReplyAction]:
    """What this reader may do to this reply now: the table, narrowed by the policy."""
    out = []
    for action in allowed_actions(reply.status):
        if action == ReplyAction.MATCH_BY_HAND:
            ok = may_match_reply_by_hand(actor)
        elif action == ReplyAction.CONFIRM:
            ok = reply.tasking_id is not None and may_review_reply(actor, tasking_post_id)
        else:
            ok = may_review_reply(actor, tasking_post_id)
        if ok:
            out.append(action)
    return out


def _done(action: ReplyAction) -> str:
    return {
        ReplyAction.CONFIRM: "confirmed",
        ReplyAction.REJECT: "rejected",
        ReplyAction.MATCH_BY_HAND: "matched by hand",
    }[action]
