"""The taskings API: reads through app/taskings/reads.py and records.py, writes through
the guards (404 → 403 → 428/412) and then the service (409 → 422). Every answer is a
schema written once by model_response, with the ETag of what it shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from app.cables import telegram
from app.concurrency import etag
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.http import model_response, problems, sends_etag, sends_text
from app.idempotency import remember
from app.limits import QueryId, RecordId
from app.pagination import Cursor, Limit, page_size
from app.settings import Settings
from app.taskings import guards, reads, records, service
from app.taskings.guards import movable
from app.taskings.models import Commitment, CommitmentStatus, Tasking, TaskingStatus
from app.taskings.models import Response as ReportedResponse
from app.taskings.schemas import (
    AcknowledgeIn,
    CommitmentPage,
    CommitmentRow,
    CommitmentUpdate,
    DeliveryIn,
    DeliveryOut,
    ExtendIn,
    ReasonIn,
    ResponseIn,
    ResponseOut,
    TaskingOut,
    TaskingPage,
)
from app.taskings.workflow import Action

router = APIRouter(tags=["taskings"])

# A move on a tasking: 403 from the wrong side, 409 from the wrong state; the rest (404,
# 412/428, 413, 422) every such route answers (app/openapi.py).
MOVE_ANSWERS = problems(403, 409) | sends_etag()


def _tasking(session: Session, tasking_id: int, actor, settings: Settings) -> Response:
    """The tasking as it now stands (a write's answer is read back in its transaction)."""
    session.flush()
    view = reads.read(session, tasking_id, actor=actor, settings=settings)
    return model_response(view, headers={"ETag": etag("tasking", view.id, view.version)})


@router.get("/taskings", response_model=TaskingPage)
def list_taskings(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    demarche: QueryId = None,
    post: Annotated[str | None, Query(max_length=32)] = None,
    status: TaskingStatus | None = None,
    overdue: bool | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Taskings you may see, filtered by demarche, post, state or overdue, by cursor."""
    size = page_size(limit, settings)
    filters = reads.TaskingFilters(demarche_id=demarche, post=post, status=status, overdue=overdue)
    items, next_cursor = reads.read_page(
        session, actor=actor, settings=settings, filters=filters, limit=size, cursor=cursor
    )
    return model_response(TaskingPage(items=items, next_cursor=next_cursor, limit=size))


@router.get("/taskings/{tasking_id}", response_model=TaskingOut, responses=sends_etag())
def get_tasking(
    tasking_id: RecordId, session: SessionDep, actor: CurrentUser, settings: SettingsDep
):
    """One tasking with its deliveries, responses and the actions open to you. Sends an ETag."""
    view = reads.read(session, tasking_id, actor=actor, settings=settings)
    return model_response(view, headers={"ETag": etag("tasking", view.id, view.version)})


@router.post(
    "/taskings/{tasking_id}/acknowledge", response_model=TaskingOut, responses=MOVE_ANSWERS
)
def acknowledge_tasking(
    tasking: Annotated[Tasking, Depends(movable(Action.ACKNOWLEDGE))],
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    data: AcknowledgeIn | None = None,
):
    """The post acknowledges the instruction (optionally with a planned date and officer)."""
    service.acknowledge(session, tasking, data or AcknowledgeIn(), actor=actor)
    return _tasking(session, tasking.id, actor, settings)


@router.post(
    "/taskings/{tasking_id}/deliveries",
    status_code=201,
    response_model=DeliveryOut,
    responses=problems(403, 409) | sends_etag(201),
)
def log_delivery(
    target: Annotated[Tasking | Response, Depends(guards.movable_or_replayed(Action.DELIVER))],
    data: DeliveryIn,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
):
    """Log a delivery (a meeting, call, note...). Send Idempotency-Key to make retries safe."""
    if isinstance(target, Response):
        return target  # a retry, answered as the first time was
    delivery = service.deliver(session, target, data, actor=actor)
    out = DeliveryOut.model_validate(delivery)
    remember(session, request, actor, 201, out.model_dump(mode="json"))
    headers = {"ETag": etag("tasking", target.id, target.version)}
    return model_response(out, status_code=201, headers=headers)


@router.post(
    "/taskings/{tasking_id}/responses",
    status_code=201,
    response_model=ResponseOut,
    responses=problems(403, 409) | sends_etag(201),
)
def report_response(
    target: Annotated[
        Tasking | Response, Depends(guards.movable_or_replayed(Action.REPORT_RESPONSE))
    ],
    data: ResponseIn,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
):
    """Report the host government's response. Send Idempotency-Key to make retries safe."""
    if isinstance(target, Response):
        return target
    r = service.report_response(session, target, data, actor=actor)
    session.flush()
    out = records.response_out(r)
    remember(session, request, actor, 201, out.model_dump(mode="json"))
    return model_response(out, status_code=201, headers={"ETag": etag("response", r.id, r.version)})


def _reason_route(action: Action, summary: str) -> None:
    def move(
        tasking: Tasking,
        session: SessionDep,
        actor: CurrentUser,
        settings: SettingsDep,
        data: ReasonIn | None = None,
    ) -> Response:
        service.move_with_reason(
            session, tasking, action, actor=actor, reason=(data or ReasonIn()).reason
        )
        return _tasking(session, tasking.id, actor, settings)

    # This move's tasking (the annotation names it: a string one could not see `action`).
    move.__annotations__["tasking"] = Annotated[Tasking, Depends(movable(action))]
    move.__name__ = f"{action.value}_tasking"
    move.__doc__ = summary
    router.add_api_route(
        f"/taskings/{{tasking_id}}/{action.value.replace('_', '-')}",
        move,
        methods=["POST"],
        response_model=TaskingOut,
        responses=MOVE_ANSWERS,
        name=move.__name__,
    )


_reason_route(Action.MARK_UNABLE, "The post cannot deliver (a reason is required).")
_reason_route(Action.ADVISE_AGAINST, "The post advises that delivering would be counterproductive.")
_reason_route(
    Action.WAIVE, "The desk accepts the post's advice and waives the tasking (with a reason)."
)
_reason_route(Action.INSIST, "The desk insists, with a reason: the tasking goes back to pending.")
_reason_route(Action.ACCEPT, "The desk accepts the report and closes the tasking.")
_reason_route(Action.REOPEN, "The desk reopens a closed tasking (a reason is required).")
_reason_route(Action.CANCEL, "The desk cancels an open tasking (a reason is required).")


@router.post("/taskings/{tasking_id}/extend", response_model=TaskingOut, responses=MOVE_ANSWERS)
def extend_tasking(
    tasking: Annotated[Tasking, Depends(movable(Action.EXTEND))],
    data: ExtendIn,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
):
    """The desk moves a post's due date later, with a reason the post is shown. Needs If-Match."""
    service.extend(session, tasking, data, actor=actor)
    return _tasking(session, tasking.id, actor, settings)


@router.get(
    "/taskings/{tasking_id}/report-cable",
    response_class=PlainTextResponse,
    responses=sends_text("The post's reporting cable, as text"),
)
def get_report_cable(tasking_id: RecordId, session: SessionDep, actor: CurrentUser):
    """A reporting cable drafted from the tasking's deliveries and response, for the post
    to edit and send; it cites the instruction, so imported back it matches this tasking."""
    cable = telegram.report_cable(session, tasking_id, actor=actor)
    return PlainTextResponse(
        cable.text,
        headers={"Content-Disposition": f'attachment; filename="{cable.filename}"'},
    )


@router.get("/responses/{response_id}", response_model=ResponseOut, responses=sends_etag())
def get_response(response_id: RecordId, session: SessionDep, actor: CurrentUser):
    """One response with its earlier revisions. Sends an ETag."""
    r = records.load_response(session, response_id, actor=actor)
    return model_response(
        records.response_out(r), headers={"ETag": etag("response", r.id, r.version)}
    )


@router.put("/responses/{response_id}", response_model=ResponseOut, responses=MOVE_ANSWERS)
def revise_response(
    r: Annotated[ReportedResponse, Depends(guards.revisable_response)],
    data: ResponseIn,
    session: SessionDep,
    actor: CurrentUser,
):
    """Revise a response; the earlier text is kept as a revision. Needs If-Match."""
    service.revise_response(session, r, data, actor=actor)
    session.flush()
    return model_response(
        records.response_out(r), headers={"ETag": etag("response", r.id, r.version)}
    )


@router.get("/commitments", response_model=CommitmentPage, tags=["commitments"])
def list_commitments(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    status: CommitmentStatus | None = None,
    overdue: bool | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Host-government commitments across all demarches you may see, soonest due first."""
    size = page_size(limit, settings)
    items, next_cursor = records.list_commitments(
        session, actor=actor, status=status, overdue=overdue, limit=size, cursor=cursor
    )
    return model_response(CommitmentPage(items=items, next_cursor=next_cursor, limit=size))


@router.patch(
    "/commitments/{commitment_id}",
    response_model=CommitmentRow,
    tags=["commitments"],
    responses=problems(403) | sends_etag(),
)
def update_commitment(
    c: Annotated[Commitment, Depends(guards.followable_commitment)],
    data: CommitmentUpdate,
    session: SessionDep,
    actor: CurrentUser,
):
    """Follow up a commitment: fulfilled, broken or dropped. Needs If-Match."""
    service.update_commitment(session, c, data, actor=actor)
    session.flush()
    return model_response(
        records.commitment_out(c), headers={"ETag": etag("commitment", c.id, c.version)}
    )
