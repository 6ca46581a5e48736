from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Permission, require
from app.concurrency import etag, require_if_match
from app.demarches import amendments, history, service
from app.demarches.models import Demarche, DemarcheStatus
from app.demarches.schemas import (
    AmendIn,
    AuditEventOut,
    CancelIn,
    CloseIn,
    DemarcheIn,
    DemarcheOut,
    DemarchePage,
    DemarcheUpdate,
    RevisionOut,
)
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.http import model_response

router = APIRouter(prefix="/demarches", tags=["demarches"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DemarcheOut)
def create_demarche(data: DemarcheIn, session: SessionDep, actor: CurrentUser, request: Request):
    """Create a draft demarche with its objectives, talking points, key dates and targets."""
    require(actor, Permission.WRITE_DEMARCHES, route=request.url.path)
    demarche = service.create_draft(session, data, actor=actor)
    return _answer(session, demarche, actor, status_code=status.HTTP_201_CREATED)


def _answer(session, demarche, actor, status_code: int = 200) -> Response:
    session.flush()
    return model_response(
        service.to_out(session, demarche, actor=actor),
        status_code=status_code,
        headers={"ETag": etag("demarche", demarche.id, demarche.version)},
    )


@router.get("", response_model=DemarchePage)
def list_demarches(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    status: DemarcheStatus | None = None,
    post: Annotated[str | None, Query(max_length=32, description="Post code")] = None,
    tag: Annotated[str | None, Query(max_length=16)] = None,
    deadline_before: date | None = None,
    deadline_after: date | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the subject")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
):
    """List the demarches you may see, newest first, filtered and paginated by cursor."""
    limit = min(limit or settings.default_page_size, settings.max_page_size)
    filters = service.DemarcheFilters(
        status=status,
        post=post,
        tag=tag,
        deadline_before=deadline_before,
        deadline_after=deadline_after,
        q=q,
    )
    rows, next_cursor = service.list_visible(
        session, actor=actor, filters=filters, limit=limit, cursor=cursor
    )
    return model_response(DemarchePage(items=rows, next_cursor=next_cursor, limit=limit))


def _to_write(session: Session, demarche_id: int, actor: User, request: Request) -> Demarche:
    """The demarche a desk write acts on: visible (404), yours to write (403), and your
    copy current (If-Match: 428, 412), in that order."""
    demarche = service.get_visible(session, demarche_id, actor=actor)
    require(actor, Permission.WRITE_DEMARCHES, route=request.url.path)
    require_if_match(request, "demarche", demarche)
    return demarche


@router.get("/{demarche_id}", response_model=DemarcheOut)
def get_demarche(demarche_id: int, session: SessionDep, actor: CurrentUser):
    """One demarche, with the talking points your clearance allows. Sends an ETag."""
    demarche = service.get_visible(session, demarche_id, actor=actor)
    return _answer(session, demarche, actor)


@router.patch("/{demarche_id}", response_model=DemarcheOut)
def update_demarche(
    demarche_id: int,
    data: DemarcheUpdate,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
):
    """Edit a draft. Lists you send replace the draft's lists whole."""
    demarche = _to_write(session, demarche_id, actor, request)
    service.update_draft(session, demarche, data, actor=actor)
    return _answer(session, demarche, actor)


@router.post("/{demarche_id}/issue", response_model=DemarcheOut)
def issue_demarche(demarche_id: int, session: SessionDep, actor: CurrentUser, request: Request):
    """Issue a draft: each target post gets a tasking due on its date or the deadline."""
    demarche = _to_write(session, demarche_id, actor, request)
    service.issue(session, demarche, actor=actor)
    return _answer(session, demarche, actor)


@router.post("/{demarche_id}/cancel", response_model=DemarcheOut)
def cancel_demarche(
    demarche_id: int,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
    data: CancelIn | None = None,
):
    """Cancel a draft or issued demarche; its open taskings are cancelled with it."""
    demarche = _to_write(session, demarche_id, actor, request)
    service.cancel(session, demarche, actor=actor, reason=data.reason if data else "")
    return _answer(session, demarche, actor)


@router.post("/{demarche_id}/amend", response_model=DemarcheOut)
def amend_demarche(
    demarche_id: int,
    data: AmendIn,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
):
    """Amend an issued demarche (points, deadline, targets) as a new numbered revision."""
    demarche = _to_write(session, demarche_id, actor, request)
    amendments.amend(session, demarche, data, actor=actor)
    return _answer(session, demarche, actor)


@router.post("/{demarche_id}/close", response_model=DemarcheOut)
def close_demarche(
    demarche_id: int,
    data: CloseIn,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
):
    """Close an issued demarche with a reason; taskings still open are cancelled."""
    demarche = _to_write(session, demarche_id, actor, request)
    service.close(session, demarche, actor=actor, reason=data.reason)
    return _answer(session, demarche, actor)


@router.get("/{demarche_id}/revisions", response_model=list[RevisionOut])
def list_revisions(demarche_id: int, session: SessionDep, actor: CurrentUser):
    """Earlier texts of an amended demarche, oldest first (revision 0 is as issued)."""
    demarche = service.get_visible(session, demarche_id, actor=actor, targets=False)
    return history.revisions(session, demarche.id, actor=actor)


@router.get("/{demarche_id}/timeline", response_model=list[AuditEventOut])
def get_timeline(demarche_id: int, session: SessionDep, actor: CurrentUser):
    """Every recorded change to the demarche and its taskings, in order, with who did it."""
    demarche = service.get_visible(session, demarche_id, actor=actor, targets=False)
    return history.timeline(session, demarche, actor=actor)
