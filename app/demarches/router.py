"""The demarches API: reads through app/demarches/reads.py, writes through
WritableDemarche (404 → 403 → 428/412) and then the service (409 → 422). Every answer
is a schema written once by model_response, with the ETag of what it shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cables import matching, telegram
from app.concurrency import etag
from app.demarches import amendments, history, listing, reads, service
from app.demarches.guards import VisibleDemarche, writable
from app.demarches.models import Demarche, DemarcheStatus
from app.demarches.rules import DemarcheAction
from app.demarches.schemas import (
    AmendIn,
    AuditEventOut,
    CancelIn,
    CheckOut,
    CloseIn,
    DemarcheIn,
    DemarcheOut,
    DemarchePage,
    DemarcheUpdate,
    RevisionOut,
)
from app.deps import CurrentUser, DemarcheWriter, SessionDep, SettingsDep
from app.http import model_list_response, model_response, problems, sends_etag, sends_text
from app.limits import IsoDate, RecordId
from app.pagination import Cursor, Limit, page_size

router = APIRouter(prefix="/demarches", tags=["demarches"])

# A desk write on a demarche: 403 for another role, 409 from the wrong state; the rest
# (404, 412/428, 413, 422) every such route answers (app/openapi.py).
WRITE_ANSWERS = problems(403, 409) | sends_etag()


def _demarche(session: Session, demarche_id: int, actor: User, status_code: int = 200) -> Response:
    """The demarche as it now stands (a write's answer is read back in its transaction)."""
    session.flush()
    out = reads.read_out(session, demarche_id, actor=actor)
    return model_response(
        out, status_code=status_code, headers={"ETag": etag("demarche", out.id, out.version)}
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DemarcheOut,
    responses=problems(403) | sends_etag(201),
)
def create_demarche(data: DemarcheIn, session: SessionDep, actor: DemarcheWriter):
    """Create a draft demarche with its objectives, talking points, key dates and targets."""
    demarche = service.create_draft(session, data, actor=actor)
    return _demarche(session, demarche.id, actor, status_code=status.HTTP_201_CREATED)


@router.get("", response_model=DemarchePage)
def list_demarches(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    status: DemarcheStatus | None = None,
    post: Annotated[str | None, Query(max_length=32, description="Post code")] = None,
    tag: Annotated[str | None, Query(max_length=16)] = None,
    deadline_before: IsoDate | None = None,
    deadline_after: IsoDate | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description='Full text, as /search reads it: words, "a phrase", -excluded, a or b',
        ),
    ] = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """List the demarches you may see, newest first, filtered and paginated by cursor."""
    size = page_size(limit, settings)
    filters = listing.DemarcheFilters(
        status=status,
        post=post,
        tag=tag,
        deadline_before=deadline_before,
        deadline_after=deadline_after,
        q=q,
    )
    rows, next_cursor = listing.list_visible(
        session, actor=actor, filters=filters, limit=size, cursor=cursor
    )
    return model_response(DemarchePage(items=rows, next_cursor=next_cursor, limit=size))


@router.get("/{demarche_id}", response_model=DemarcheOut, responses=sends_etag())
def get_demarche(demarche_id: RecordId, session: SessionDep, actor: CurrentUser):
    """One demarche, with the talking points your clearance allows. Sends an ETag."""
    return _demarche(session, demarche_id, actor)


@router.patch("/{demarche_id}", response_model=DemarcheOut, responses=WRITE_ANSWERS)
def update_demarche(
    demarche: Annotated[Demarche, Depends(writable(DemarcheAction.EDIT))],
    data: DemarcheUpdate,
    session: SessionDep,
    actor: CurrentUser,
):
    """Edit a draft. Lists you send replace the draft's lists whole."""
    service.update_draft(session, demarche, data, actor=actor)
    return _demarche(session, demarche.id, actor)


@router.post("/{demarche_id}/issue", response_model=DemarcheOut, responses=WRITE_ANSWERS)
def issue_demarche(
    demarche: Annotated[Demarche, Depends(writable(DemarcheAction.ISSUE))],
    session: SessionDep,
    actor: CurrentUser,
):
    """Issue a draft: each target post gets a tasking due on its date or the deadline."""
    service.issue(session, demarche, actor=actor)
    # The reports on it that came in before it was issued are matched now.
    matching.rematch_demarche(session, demarche, actor=actor)
    return _demarche(session, demarche.id, actor)


@router.post("/{demarche_id}/cancel", response_model=DemarcheOut, responses=WRITE_ANSWERS)
def cancel_demarche(
    demarche: Annotated[Demarche, Depends(writable(DemarcheAction.CANCEL))],
    session: SessionDep,
    actor: CurrentUser,
    data: CancelIn | None = None,
):
    """Cancel a draft or issued demarche; its open taskings are cancelled with it."""
    service.cancel(session, demarche, actor=actor, reason=data.reason if data else "")
    return _demarche(session, demarche.id, actor)


@router.post("/{demarche_id}/amend", response_model=DemarcheOut, responses=WRITE_ANSWERS)
def amend_demarche(
    demarche: Annotated[Demarche, Depends(writable(DemarcheAction.AMEND))],
    data: AmendIn,
    session: SessionDep,
    actor: CurrentUser,
):
    """Amend an issued demarche (points, deadline, targets) as a new numbered revision."""
    amendments.amend(session, demarche, data, actor=actor)
    matching.rematch_demarche(session, demarche, actor=actor)
    return _demarche(session, demarche.id, actor)


@router.post("/{demarche_id}/close", response_model=DemarcheOut, responses=WRITE_ANSWERS)
def close_demarche(
    demarche: Annotated[Demarche, Depends(writable(DemarcheAction.CLOSE))],
    data: CloseIn,
    session: SessionDep,
    actor: CurrentUser,
):
    """Close an issued demarche with a reason; taskings still open are cancelled."""
    service.close(session, demarche, actor=actor, reason=data.reason)
    return _demarche(session, demarche.id, actor)


@router.get("/{demarche_id}/check", response_model=CheckOut)
def check_demarche(demarche_id: RecordId, session: SessionDep, actor: CurrentUser):
    """The completeness check: what stops the draft being issued, and what it had better fix."""
    demarche = reads.load(session, demarche_id, actor=actor)
    found = service.check_draft(session, demarche, actor=actor)
    return model_response(
        CheckOut(
            demarche_id=demarche.id,
            status=demarche.status,
            complete=found.complete,
            errors=[e.as_dict() for e in found.errors],
            warnings=[w.as_dict() for w in found.warnings],
        )
    )


@router.get(
    "/{demarche_id}/cable",
    response_class=PlainTextResponse,
    responses=sends_text("The instruction cable, as text") | problems(403),
)
def get_instruction_cable(demarche_id: RecordId, session: SessionDep, actor: CurrentUser):
    """The demarche's instruction cable in telegram format; 403 where a portion of it is
    above your clearance (a cable goes whole or not at all)."""
    cable = telegram.instruction_cable(session, demarche_id, actor=actor)
    return PlainTextResponse(
        cable.text,
        headers={"Content-Disposition": f'attachment; filename="{cable.filename}"'},
    )


@router.get("/{demarche_id}/revisions", response_model=list[RevisionOut])
def list_revisions(demarche_id: VisibleDemarche, session: SessionDep, actor: CurrentUser):
    """Earlier texts of an amended demarche, oldest first (revision 0 is as issued)."""
    return model_list_response(history.revisions(session, demarche_id, actor=actor))


@router.get("/{demarche_id}/timeline", response_model=list[AuditEventOut])
def get_timeline(demarche_id: VisibleDemarche, session: SessionDep, actor: CurrentUser):
    """Every recorded change to the demarche and its taskings, in order, with who did it."""
    return model_list_response(history.timeline(session, demarche_id, actor=actor))
