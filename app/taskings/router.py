from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.auth.models import User
from app.concurrency import etag, require_if_match, set_etag
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.http import model_response
from app.idempotency import remember, replay
from app.settings import Settings
from app.taskings import service, views
from app.taskings.models import CommitmentStatus, Tasking, TaskingStatus
from app.taskings.schemas import (
    AcknowledgeIn,
    CommitmentPage,
    CommitmentRow,
    CommitmentUpdate,
    DeliveryIn,
    DeliveryOut,
    ReasonIn,
    ResponseIn,
    ResponseOut,
    TaskingOut,
    TaskingPage,
)
from app.taskings.workflow import Action

router = APIRouter(tags=["taskings"])


def _to_move(
    session: Session, tasking_id: int, actor: User, request: Request, action: Action
) -> Tasking:
    """The tasking a workflow move acts on. Who first (403), then is your copy current
    (428, 412); the service then checks the state (409)."""
    t = service.get_visible(session, tasking_id, actor=actor, with_records=False)
    service.require_side(actor, t, action)
    require_if_match(request, "tasking", t)
    return t


def _answer(session: Session, t: Tasking, actor: User, settings: Settings) -> Response:
    """The moved tasking as it now stands (read back in the same transaction)."""
    session.flush()
    view = views.read(session, t.id, actor=actor, settings=settings)
    return model_response(view, headers={"ETag": etag("tasking", view.id, view.version)})


@router.get("/taskings", response_model=TaskingPage)
def list_taskings(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    demarche: int | None = None,
    post: Annotated[str | None, Query(max_length=32)] = None,
    status: TaskingStatus | None = None,
    overdue: bool | None = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    after: Annotated[int | None, Query(ge=0, description="Last id of the previous page")] = None,
):
    """Taskings you may see, filtered by demarche, post, state or overdue."""
    limit = min(limit or settings.default_page_size, settings.max_page_size)
    filters = service.TaskingFilters(
        demarche_id=demarche, post=post, status=status, overdue=overdue
    )
    items, more = views.read_page(
        session, actor=actor, settings=settings, filters=filters, limit=limit, after_id=after
    )
    page = TaskingPage(items=items, next_cursor=str(items[-1].id) if more else None, limit=limit)
    return model_response(page)


@router.get("/taskings/{tasking_id}", response_model=TaskingOut)
def get_tasking(
    tasking_id: int,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
):
    """One tasking with its deliveries, responses and the actions open to you. Sends an ETag."""
    view = views.read(session, tasking_id, actor=actor, settings=settings)
    return model_response(
        view,
        headers={"ETag": etag("tasking", view.id, view.version)},
    )


@router.post("/taskings/{tasking_id}/acknowledge", response_model=TaskingOut)
def acknowledge_tasking(
    tasking_id: int,
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    request: Request,
    data: AcknowledgeIn | None = None,
):
    """The post acknowledges the instruction (optionally with a planned date and officer)."""
    t = _to_move(session, tasking_id, actor, request, Action.ACKNOWLEDGE)
    service.acknowledge(session, t, data or AcknowledgeIn(), actor=actor)
    return _answer(session, t, actor, settings)


@router.post("/taskings/{tasking_id}/deliveries", status_code=201, response_model=DeliveryOut)
def log_delivery(
    tasking_id: int, data: DeliveryIn, session: SessionDep, actor: CurrentUser, request: Request
):
    """Log a delivery (a meeting, call, note...). Send Idempotency-Key to make retries safe."""
    if (replayed := replay(session, request, actor)) is not None:
        return replayed
    t = _to_move(session, tasking_id, actor, request, Action.DELIVER)
    delivery = service.deliver(session, t, data, actor=actor)
    body = DeliveryOut.model_validate(delivery).model_dump(mode="json")
    remember(session, request, actor, 201, body)
    return JSONResponse(body, status_code=201, headers={"ETag": etag("tasking", t.id, t.version)})


@router.post("/taskings/{tasking_id}/responses", status_code=201, response_model=ResponseOut)
def report_response(
    tasking_id: int, data: ResponseIn, session: SessionDep, actor: CurrentUser, request: Request
):
    """Report the host government's response. Send Idempotency-Key to make retries safe."""
    if (replayed := replay(session, request, actor)) is not None:
        return replayed
    t = _to_move(session, tasking_id, actor, request, Action.REPORT_RESPONSE)
    r = service.report_response(session, t, data, actor=actor)
    session.flush()
    body = ResponseOut.model_validate(r).model_dump(mode="json")
    remember(session, request, actor, 201, body)
    return JSONResponse(body, status_code=201, headers={"ETag": etag("response", r.id, r.version)})


def _reason_route(action: Action, summary: str):
    def move(
        tasking_id: int,
        session: SessionDep,
        actor: CurrentUser,
        settings: SettingsDep,
        request: Request,
        data: ReasonIn | None = None,
    ) -> Response:
        t = _to_move(session, tasking_id, actor, request, action)
        service.move_with_reason(
            session, t, action, actor=actor, reason=(data or ReasonIn()).reason
        )
        return _answer(session, t, actor, settings)

    move.__name__ = f"{action.value}_tasking"
    move.__doc__ = summary
    router.add_api_route(
        f"/taskings/{{tasking_id}}/{action.value.replace('_', '-')}",
        move,
        methods=["POST"],
        response_model=TaskingOut,
        name=move.__name__,
    )


_reason_route(Action.MARK_UNABLE, "The post cannot deliver (a reason is required).")
_reason_route(Action.ADVISE_AGAINST, "The post advises that delivering would be counterproductive.")
_reason_route(Action.WAIVE, "The desk accepts the post's advice and waives the tasking.")
_reason_route(Action.INSIST, "The desk insists: the tasking goes back to pending.")
_reason_route(Action.ACCEPT, "The desk accepts the report and closes the tasking.")
_reason_route(Action.REOPEN, "The desk reopens a closed tasking (a reason is required).")
_reason_route(Action.CANCEL, "The desk cancels an open tasking.")


@router.get("/responses/{response_id}", response_model=ResponseOut)
def get_response(response_id: int, session: SessionDep, actor: CurrentUser, response: Response):
    """One response with its earlier revisions. Sends an ETag."""
    r = service.get_visible_response(session, response_id, actor=actor)
    set_etag(response, "response", r)
    return r


@router.put("/responses/{response_id}", response_model=ResponseOut)
def revise_response(
    response_id: int,
    data: ResponseIn,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
    response: Response,
):
    """Revise a response; the earlier text is kept as a revision. Needs If-Match."""
    r = service.get_visible_response(session, response_id, actor=actor)
    service.require_follow_up_side(actor, r.tasking)
    require_if_match(request, "response", r)
    service.revise_response(session, r, data, actor=actor)
    session.flush()
    set_etag(response, "response", r)
    return r


@router.get("/commitments", response_model=CommitmentPage, tags=["commitments"])
def list_commitments(
    session: SessionDep,
    actor: CurrentUser,
    status: CommitmentStatus | None = None,
    overdue: bool | None = None,
):
    """Host-government commitments across all demarches you may see, soonest due first."""
    rows = service.list_commitments(session, actor=actor, status=status, overdue=overdue)
    from app.db import today_utc

    today = today_utc()
    return CommitmentPage(
        items=[
            CommitmentRow(
                id=c.id,
                text=c.text,
                due_date=c.due_date,
                status=c.status,
                version=c.version,
                tasking_id=t.id,
                demarche_id=t.demarche_id,
                post=code,
                overdue=c.status == CommitmentStatus.OPEN
                and c.due_date is not None
                and c.due_date < today,
            )
            for c, t, code in rows
        ]
    )


@router.patch("/commitments/{commitment_id}", response_model=CommitmentRow, tags=["commitments"])
def update_commitment(
    commitment_id: int,
    data: CommitmentUpdate,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
    response: Response,
):
    """Follow up a commitment: fulfilled, broken or dropped. Needs If-Match."""
    c = service.get_visible_commitment(session, commitment_id, actor=actor)
    service.require_follow_up_side(actor, c.response.tasking)
    require_if_match(request, "commitment", c)
    service.update_commitment(session, c, data, actor=actor)
    session.flush()
    set_etag(response, "commitment", c)
    t = c.response.tasking
    return CommitmentRow(
        id=c.id,
        text=c.text,
        due_date=c.due_date,
        status=c.status,
        version=c.version,
        tasking_id=t.id,
        demarche_id=t.demarche_id,
        post=t.post.code,
        overdue=False,
    )
