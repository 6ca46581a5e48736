from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from app.auth.policy import Permission, require
from app.cables import drafting, ingest, matching, reads, review
from app.cables.models import Cable, CableKind, CableReply, ReplyStatus
from app.cables.schemas import (
    CableOut,
    CablePage,
    CableSummary,
    CableTextIn,
    ConfirmReplyIn,
    DraftOut,
    IngestOut,
    MatchReplyIn,
    RejectReplyIn,
    RematchOut,
    ReplyBrief,
    ReplyOut,
    ReplyPage,
)
from app.concurrency import IfMatch, require_version, set_etag
from app.demarches import reads as demarche_reads
from app.deps import CableIngester, CurrentUser, DemarcheWriter, SessionDep, SettingsDep
from app.errors import Invalid
from app.http import problems, sends_etag
from app.limits import RecordId
from app.pagination import Cursor, Limit, page_size

router = APIRouter(prefix="/cables", tags=["cables"])

_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {"schema": CableTextIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


async def cable_text(request: Request) -> str:
    """The cable from a text/plain body, JSON {"text": ...}, or a multipart `file` field."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("Send the cable as a multipart field named 'file'.")
        raw = await upload.read()
    elif ctype == "application/json" or ctype.endswith("+json"):
        try:
            return CableTextIn.model_validate_json(await request.body()).text
        except ValidationError as exc:
            raise Invalid(
                'Send JSON as {"text": "<the cable>"}.',
                errors=[
                    {"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
                    for e in exc.errors()
                ],
            ) from exc
    else:
        raw = await request.body()
    # Real cables carry stray bytes; a replacement character is better than a refusal.
    return raw.decode("utf-8", errors="replace")


CableText = Annotated[str, Depends(cable_text)]


def _brief(reply: CableReply | None) -> ReplyBrief | None:
    if reply is None:
        return None
    return ReplyBrief(
        id=reply.id, status=reply.status, demarche_id=reply.demarche_id, tasking_id=reply.tasking_id
    )


def _summary(c: Cable, codes: dict[int, str]) -> CableSummary:
    return CableSummary(
        id=c.id,
        ref_id=c.ref_id,
        kind=c.kind,
        dtg=c.dtg,
        originator=c.originator,
        sender_post=codes.get(c.post_id) if c.post_id is not None else None,
        transcribed=c.transcribed,
        sender_mismatch=c.sender_mismatch,
        classification=c.classification,
        subject=c.subject,
        received_at=c.received_at,
    )


def _out(session: Session, c: Cable, reply: CableReply | None) -> CableOut:
    return CableOut(
        **_summary(c, reads.sender_codes(session, [c])).model_dump(),
        precedence=c.precedence.value if c.precedence else None,
        captions=c.captions,
        tags=c.tags,
        parsed=c.parsed,
        raw_text=c.raw_text,
        reply=_brief(reply),
    )


def _reply_out(r: CableReply, c: Cable, codes: dict[int, str]) -> ReplyOut:
    sender = codes.get(c.post_id) if c.post_id is not None else None
    return ReplyOut(
        id=r.id,
        cable_id=c.id,
        cable_ref_id=c.ref_id,
        cable_subject=c.subject,
        originator=c.originator,
        sender_post=sender,
        transcribed=c.transcribed,
        sender_mismatch=c.sender_mismatch,
        warnings=reads.sender_notes(c, sender),
        status=r.status,
        demarche_id=r.demarche_id,
        tasking_id=r.tasking_id,
        suggestion=r.suggestion,
        evidence=r.evidence,
        note=r.note,
        created_at=r.created_at,
        reviewed_at=r.reviewed_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IngestOut,
    openapi_extra=_BODY_DOC,
    responses={
        200: {"description": "Already stored: the existing cable", "model": IngestOut},
        **problems(403),
    },
)
def ingest_cable(
    # Who is asking is settled before the body is read: no credentials, 401 first.
    session: SessionDep,
    actor: CableIngester,
    text: CableText,
    response: Response,
):
    """Store a cable (text, JSON or file upload); a report is matched to the tasking it answers."""
    got = ingest.ingest(session, text, actor=actor)
    if not got.created:
        response.status_code = status.HTTP_200_OK
    # The reply as its uploader reads it back: the same filter as GET /cables/{id}.
    out = _out(session, got.cable, reads.reply_of(session, got.cable, actor=actor))
    return IngestOut(
        **out.model_dump(),
        created=got.created,
        warnings=list(got.parsed.warnings) + reads.sender_notes(got.cable, out.sender_post),
    )


@router.get("", response_model=CablePage)
def list_cables(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    kind: CableKind | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Cables you may see, newest first, paginated by cursor."""
    size = page_size(limit, settings)
    rows, next_cursor = reads.list_visible(
        session, actor=actor, kind=kind, limit=size, cursor=cursor
    )
    codes = reads.sender_codes(session, rows)
    return CablePage(items=[_summary(c, codes) for c in rows], next_cursor=next_cursor, limit=size)


@router.get("/replies", response_model=ReplyPage)
def list_replies(
    session: SessionDep,
    actor: CurrentUser,
    settings: SettingsDep,
    status: ReplyStatus | None = None,
    flagged: bool | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
):
    """Report cables and their suggested delivery and response; ?status=unmatched for the
    queue, ?flagged=true for posts' reports whose FM line names another post."""
    size = page_size(limit, settings)
    rows, next_cursor = reads.list_replies(
        session, actor=actor, status=status, flagged=flagged, limit=size, cursor=cursor
    )
    codes = reads.sender_codes(session, [c for _, c in rows])
    return ReplyPage(
        items=[_reply_out(r, c, codes) for r, c in rows], next_cursor=next_cursor, limit=size
    )


def _reply_answer(session: Session, reply: CableReply) -> ReplyOut:
    session.flush()
    cable = session.get(Cable, reply.cable_id)
    assert cable is not None
    return _reply_out(reply, cable, reads.sender_codes(session, [cable]))


@router.post("/replies/unmatched/rematch", response_model=RematchOut, responses=problems(403))
def rematch_replies(session: SessionDep, actor: DemarcheWriter):
    """The desk matches again every unmatched reply it may see, and files the plain
    readouts of tasked posts: what came in before its instruction was issued or its
    post registered is matched now."""
    replies = matching.rematch(session, actor=actor)
    session.flush()
    return RematchOut(matched=[r.id for r in replies])


@router.get("/replies/{reply_id}", response_model=ReplyOut)
def get_reply(reply_id: RecordId, session: SessionDep, actor: CurrentUser):
    """One report cable's match and suggestion."""
    return _reply_answer(session, reads.get_reply(session, reply_id, actor=actor))


@router.post(
    "/replies/{reply_id}/confirm",
    response_model=ReplyOut,
    responses=problems(403, 409) | sends_etag(),
)
def confirm_reply(
    reply_id: RecordId,
    data: ConfirmReplyIn,
    session: SessionDep,
    actor: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
):
    """Log the (corrected) delivery and response on the tasking. Needs If-Match: the tasking's ETag."""
    reply = reads.get_reply(session, reply_id, actor=actor)
    tasking = review.reply_tasking(session, reply, actor=actor)
    require_version("tasking", tasking, if_match=if_match)
    review.confirm_reply(session, reply, tasking, data, actor=actor)
    out = _reply_answer(session, reply)
    set_etag(response, "tasking", tasking)
    return out


@router.post("/replies/{reply_id}/reject", response_model=ReplyOut, responses=problems(403, 409))
def reject_reply(reply_id: RecordId, data: RejectReplyIn, session: SessionDep, actor: CurrentUser):
    """Mark a reply's match or suggestion wrong, with a note; nothing is logged on a tasking."""
    reply = reads.get_reply(session, reply_id, actor=actor)
    review.reject_reply(session, reply, data.note, actor=actor)
    return _reply_answer(session, reply)


@router.post("/replies/{reply_id}/match", response_model=ReplyOut, responses=problems(403, 409))
def match_reply(reply_id: RecordId, data: MatchReplyIn, session: SessionDep, actor: CurrentUser):
    """The desk attaches an unmatched reply to the tasking it answers."""
    reply = reads.get_reply(session, reply_id, actor=actor)
    review.match_by_hand(session, reply, data.tasking_id, actor=actor)
    return _reply_answer(session, reply)


@router.get("/{cable_id}", response_model=CableOut)
def get_cable(cable_id: RecordId, session: SessionDep, actor: CurrentUser):
    """One cable: parsed fields and the raw text."""
    cable = reads.get_visible(session, cable_id, actor=actor)
    return _out(session, cable, reads.reply_of(session, cable, actor=actor))


@router.post(
    "/{cable_id}/draft-demarche",
    status_code=status.HTTP_201_CREATED,
    response_model=DraftOut,
    responses=problems(403, 409) | sends_etag(201),
)
def draft_demarche(
    cable_id: RecordId,
    session: SessionDep,
    actor: CurrentUser,
    request: Request,
    response: Response,
    again: Annotated[
        bool,
        Query(
            description="Draft a cable already drafted once more; without it such a cable "
            "answers 409 naming its drafts (existing_demarche_ids)."
        ),
    ] = False,
):
    """Draft a demarche from an instruction cable (409 if already drafted, unless ?again=true);
    addressees the registry lacks come back unresolved."""
    require(actor, Permission.WRITE_DEMARCHES, route=request.url.path)
    cable = reads.get_visible(session, cable_id, actor=actor)
    drafted = drafting.draft_demarche(session, cable, actor=actor, again=again)
    session.flush()
    set_etag(response, "demarche", drafted.demarche)
    session.flush()
    out = demarche_reads.read_out(session, drafted.demarche.id, actor=actor)
    return DraftOut(
        **out.model_dump(),
        unresolved=drafted.unresolved,
        collectives=[drafting.resolved_out(c) for c in drafted.collectives],
        warnings=drafted.warnings,
    )
