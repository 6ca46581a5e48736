from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.auth.policy import Permission, require
from app.demarches import service
from app.demarches.models import DemarcheStatus
from app.demarches.schemas import CancelIn, DemarcheIn, DemarcheOut, DemarchePage, DemarcheUpdate
from app.deps import CurrentUser, SessionDep, SettingsDep

router = APIRouter(prefix="/demarches", tags=["demarches"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DemarcheOut)
def create_demarche(data: DemarcheIn, session: SessionDep, actor: CurrentUser, request: Request):
    """Create a draft demarche with its objectives, talking points, key dates and targets."""
    require(actor, Permission.WRITE_DEMARCHES, route=request.url.path)
    demarche = service.create_draft(session, data, actor=actor)
    return service.to_out(session, demarche, actor=actor)


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
    return DemarchePage(
        items=[service.to_summary(d) for d in rows], next_cursor=next_cursor, limit=limit
    )


@router.get("/{demarche_id}", response_model=DemarcheOut)
def get_demarche(demarche_id: int, session: SessionDep, actor: CurrentUser):
    """One demarche, with the talking points your clearance allows."""
    demarche = service.get_visible(session, demarche_id, actor=actor)
    return service.to_out(session, demarche, actor=actor)


@router.patch("/{demarche_id}", response_model=DemarcheOut)
def update_demarche(
    demarche_id: int,
    data: DemarcheUpdate,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
):
    """Edit a draft. Lists you send replace the draft's lists whole."""
    demarche = service.get_visible(session, demarche_id, actor=actor)
    require(actor, Permission.WRITE_DEMARCHES, route=request.url.path)
    service.update_draft(session, demarche, data, actor=actor)
    return service.to_out(session, demarche, actor=actor)


@router.post("/{demarche_id}/issue", response_model=DemarcheOut)
def issue_demarche(demarche_id: int, session: SessionDep, actor: CurrentUser, request: Request):
    """Issue a draft: each target post gets a tasking due on its date or the deadline."""
    demarche = service.get_visible(session, demarche_id, actor=actor)
    require(actor, Permission.WRITE_DEMARCHES, route=request.url.path)
    service.issue(session, demarche, actor=actor)
    return service.to_out(session, demarche, actor=actor)


@router.post("/{demarche_id}/cancel", response_model=DemarcheOut)
def cancel_demarche(
    demarche_id: int,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
    data: CancelIn | None = None,
):
    """Cancel a draft or issued demarche; its open taskings are cancelled with it."""
    demarche = service.get_visible(session, demarche_id, actor=actor)
    require(actor, Permission.WRITE_DEMARCHES, route=request.url.path)
    service.cancel(session, demarche, actor=actor, reason=data.reason if data else "")
    return service.to_out(session, demarche, actor=actor)
