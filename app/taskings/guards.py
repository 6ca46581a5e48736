"""Load-or-refuse for every write on a tasking, in the one refusal order that the API
and the pages share: 404 (not visible) → 403 (not your side) → 428/412 (not the version
you read) → then the workflow's 409 (not from this state) → then 422 (what was typed).

The API declares `Depends(movable(action))`; a page handler calls `to_move` with the
version its form was read at, so that it can show a refusal beside the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Request, Response
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import require_follow_up, require_side
from app.concurrency import IfMatch, require_version
from app.deps import CurrentUser, SessionDep
from app.idempotency import replay
from app.limits import RecordId
from app.taskings import reads, records
from app.taskings.models import Commitment, Tasking
from app.taskings.models import Response as ReportedResponse
from app.taskings.workflow import BY_ACTION, Action, check


def to_move(
    session: Session,
    tasking_id: int,
    *,
    actor: User,
    action: Action,
    if_match: str | None = None,
    form_version: int | None = None,
) -> Tasking:
    """The tasking this move acts on, once it passed 404, 403 and 428/412."""
    tasking = reads.load(session, tasking_id, actor=actor)
    require_side(actor, tasking.post_id, BY_ACTION[action].side, action.value.replace("_", " "))
    require_version("tasking", tasking, if_match=if_match, form_version=form_version)
    return tasking


def to_move_now(
    session: Session, tasking_id: int, *, actor: User, action: Action, form_version: int
) -> Tasking:
    """to_move, then the workflow's 409: for a page, which parses what was typed (422)
    only for a move that could be made."""
    tasking = to_move(session, tasking_id, actor=actor, action=action, form_version=form_version)
    check(tasking, action, actor=actor)
    return tasking


# Declared so that the OpenAPI names it; app/idempotency.py reads it from the request.
IdempotencyKey = Annotated[
    str | SkipJsonSchema[None],
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        description="Any 1 to 128 characters: a retry with the same key gets the first answer",
    ),
]


def movable(action: Action) -> Callable[..., Tasking]:
    """The API's dependency for a tasking this move acts on: `Annotated[Tasking,
    Depends(movable(Action.ACKNOWLEDGE))]` runs to_move with the request's If-Match."""

    def movable_tasking(
        tasking_id: RecordId, session: SessionDep, actor: CurrentUser, if_match: IfMatch = None
    ) -> Tasking:
        return to_move(session, tasking_id, actor=actor, action=action, if_match=if_match)

    return movable_tasking


def movable_or_replayed(action: Action) -> Callable[..., Tasking | Response]:
    """movable(action) for a POST that takes an Idempotency-Key: a retry of a key
    already answered gets that answer (before the tasking's version, which the first
    try moved on, is checked); a new one gets the tasking, once it passed 404, 403 and
    428/412. As a dependency, before the body is read: a refusal comes before a 422."""

    def movable_or_replay(
        tasking_id: RecordId,
        session: SessionDep,
        actor: CurrentUser,
        request: Request,
        if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Tasking | Response:
        if (replayed := replay(session, request, actor)) is not None:
            return replayed
        return to_move(session, tasking_id, actor=actor, action=action, if_match=if_match)

    return movable_or_replay


def revisable_response(
    response_id: RecordId, session: SessionDep, actor: CurrentUser, if_match: IfMatch = None
) -> ReportedResponse:
    """The response a revision replaces, once it passed 404, 403 and 428/412."""
    response = records.load_response(session, response_id, actor=actor)
    require_follow_up(actor, response.tasking.post_id)
    require_version("response", response, if_match=if_match)
    return response


def followable_commitment(
    commitment_id: RecordId, session: SessionDep, actor: CurrentUser, if_match: IfMatch = None
) -> Commitment:
    """The commitment a follow-up changes, once it passed 404, 403 and 428/412."""
    commitment = records.load_commitment(session, commitment_id, actor=actor)
    require_follow_up(actor, commitment.response.tasking.post_id)
    require_version("commitment", commitment, if_match=if_match)
    return commitment
