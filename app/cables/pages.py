"""Importing cables in the browser: an instruction becomes a draft demarche, a post's
reply is matched to its tasking and its suggested delivery and response confirmed.

Thin over the same reads and commands as POST /api/v1/cables and the reply review API:
cables.reads loads, cables.ingest / drafting / review act, cables.rules says what is offered.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import has_reply_import
from app.cables import drafting, ingest, matching, reads, review, rules
from app.cables.models import CableKind, CableReply, ReplyStatus
from app.cables.rules import ReplyAction
from app.cables.schemas import ConfirmReplyIn
from app.classification import Classification, from_marking, highest
from app.dashboards.queries import PAGE_SIZE
from app.demarches import reads as demarche_reads
from app.deps import SessionDep, SettingsDep
from app.errors import Conflict, DomainError, Invalid, NotFound, PayloadTooLarge
from app.limits import ID_MAX, QueryText, RecordId
from app.taskings import reads as tasking_reads
from app.taskings import records as tasking_records
from app.taskings.models import DeliveryLevel, DeliveryMethod, Position
from app.web import CsrfChecked, PageCableIngester, PageDemarcheWriter, PageUser, render

router = APIRouter(include_in_schema=False)


def _import_page(
    request: Request,
    session: Session,
    user: User,
    *,
    error: str = "",
    text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    unmatched, _ = reads.list_replies(
        session, actor=user, status=ReplyStatus.UNMATCHED, limit=PAGE_SIZE
    )
    # Posts' reports whose FM line names another post: filed as the uploader's, for the
    # desk to check (the queue shows only what the reader may see, like every list).
    flagged, _ = reads.list_replies(session, actor=user, status=None, flagged=True, limit=PAGE_SIZE)
    codes = reads.sender_codes(session, [c for _, c in unmatched + flagged])
    return render(
        request,
        "cables/import.html",
        status_code=status_code,
        banner=max(
            (from_marking(c.classification) for _, c in unmatched + flagged),
            default=Classification.UNCLASSIFIED,
            key=lambda c: c.rank,
        ),
        unmatched=unmatched,
        flagged=flagged,
        senders=codes,
        error=error,
        text=text,
    )


def _text_of(text: str, upload: UploadFile | None, *, limit: int) -> str:
    """The pasted text, or the chosen file's; a file over the limit is refused, readably.

    Read from the spooled file synchronously: these handlers are plain `def`, run in
    the thread pool, so neither this read nor the parse holds up the event loop.
    """
    if upload is None or not upload.filename:
        return text
    raw = upload.file.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(
            f"The file is larger than {limit // 1024} KiB, more than any cable: "
            "check that it is the cable's text."
        )
    return raw.decode("utf-8", errors="replace")


@router.get("/cables/import", name="import_cable")
def import_cable(request: Request, session: SessionDep, user: PageCableIngester) -> Response:
    if has_reply_import(user):  # a post files replies only: its own page, no instruction form
        return RedirectResponse("/cables/import/reply", status_code=303)
    return _import_page(request, session, user)


@router.get("/cables/import/instruction", include_in_schema=False)
def import_bookmark(user: PageUser) -> RedirectResponse:
    """A bookmark or reload of an import's address: the import page, not a bare 405."""
    return RedirectResponse("/cables/import", status_code=303)


@router.post("/cables/import/instruction", dependencies=[CsrfChecked])
def import_instruction(
    request: Request,
    session: SessionDep,
    user: PageDemarcheWriter,
    settings: SettingsDep,
    text: Annotated[str, Form(max_length=2_000_000)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    raw = ""
    cable = None
    try:
        raw = _text_of(text, file, limit=settings.max_cable_bytes)
        if not raw.strip():
            return _import_page(
                request,
                session,
                user,
                status_code=422,
                error="Paste the cable's text or choose a file.",
            )
        ingested = ingest.ingest(session, raw, actor=user)
        cable = ingested.cable
        drafted = drafting.draft_demarche(session, cable, actor=user)
        session.flush()
    except Conflict as exc:
        session.rollback()
        if cable is None:  # refused while storing the cable: said on the import page
            return _import_page(
                request, session, user, status_code=exc.status, error=exc.detail, text=raw
            )
        # Drafted before: the officer chooses (the cable was held already, so the
        # rollback loses nothing of it).
        return _duplicate_page(request, session, user, cable.id, exc)
    except DomainError as exc:
        session.rollback()
        return _import_page(
            request, session, user, status_code=exc.status, error=exc.detail, text=raw
        )
    # Post/redirect/get: the draft is corrected on its own page, beside the cable's text;
    # a reload there reads it again and never drafts another.
    return RedirectResponse(f"/demarches/{drafted.demarche.id}/edit?done=drafted", status_code=303)


def _duplicate_page(
    request: Request, session: Session, user: User, cable_id: int, exc: Conflict
) -> HTMLResponse:
    cable = reads.get_visible(session, cable_id, actor=user)
    existing = [
        demarche_reads.sheet(session, i, actor=user)
        for i in exc.extra.get("existing_demarche_ids", [])
    ]
    return render(
        request,
        "cables/duplicate.html",
        status_code=409,
        banner=highest([from_marking(cable.classification), *(d.classification for d in existing)]),
        cable=cable,
        existing=existing,
    )


@router.get("/cables/{cable_id}/draft", include_in_schema=False)
def draft_bookmark(cable_id: RecordId, user: PageUser) -> RedirectResponse:
    """A bookmark of a "Draft again" answer: the import page."""
    return RedirectResponse("/cables/import", status_code=303)


@router.post("/cables/{cable_id}/draft", dependencies=[CsrfChecked])
def draft_again(
    request: Request,
    cable_id: RecordId,
    session: SessionDep,
    user: PageDemarcheWriter,
    again: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Draft a held cable: the explicit "Draft again" of a cable drafted before."""
    cable = reads.get_visible(session, cable_id, actor=user)
    try:
        drafted = drafting.draft_demarche(session, cable, actor=user, again=again == "1")
        session.flush()
    except Conflict as exc:
        session.rollback()
        return _duplicate_page(request, session, user, cable_id, exc)
    except DomainError as exc:
        session.rollback()
        return _import_page(request, session, user, status_code=exc.status, error=exc.detail)
    return RedirectResponse(f"/demarches/{drafted.demarche.id}/edit?done=drafted", status_code=303)


def _reply_import_page(
    request: Request,
    session: Session,
    user: User,
    *,
    after: str = "",
    error: str = "",
    text: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The reply form alone, and the replies still matched to nothing, a page at a time
    (newest first; `after` is the cursor the previous page handed out)."""
    unmatched, more = reads.list_replies(
        session, actor=user, status=ReplyStatus.UNMATCHED, limit=PAGE_SIZE, cursor=after or None
    )
    return render(
        request,
        "cables/reply_import.html",
        status_code=status_code,
        banner=max(
            (from_marking(c.classification) for _, c in unmatched),
            default=Classification.UNCLASSIFIED,
            key=lambda c: c.rank,
        ),
        unmatched=unmatched,
        senders=reads.sender_codes(session, [c for _, c in unmatched]),
        next_cursor=more,
        paged=bool(after),
        error=error,
        text=text,
    )


@router.get("/cables/import/reply", name="import_reply_page")
def import_reply_page(
    request: Request, session: SessionDep, user: PageCableIngester, after: QueryText = ""
) -> HTMLResponse:
    return _reply_import_page(request, session, user, after=after)


def _reply_page(
    request: Request,
    session: Session,
    user: User,
    reply: CableReply,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    cable = reads.get_visible(session, reply.cable_id, actor=user)
    tasking = (
        tasking_reads.load(session, reply.tasking_id, actor=user)
        if reply.tasking_id is not None
        else None
    )
    # What this reader may do now: the review table narrowed by the policy, so the
    # page offers exactly the moves the service would accept.
    actions = rules.actions_for(user, reply, tasking.post_id if tasking else None)
    sender = reads.sender_codes(session, [cable]).get(cable.post_id or 0)
    s = dict(reply.suggestion or {})
    if isinstance(s.get("commitments"), list):
        s["commitments"] = "\n".join(map(str, s["commitments"]))
    window = tasking_records.delivery_window(session, tasking.id) if tasking else None
    if window and not s.get("delivered_on"):
        s["delivered_on"] = window.last.isoformat()  # today at post, not on the server
    candidates = (
        reads.match_candidates(session, reply, cable, actor=user)
        if ReplyAction.MATCH_BY_HAND in actions
        else []
    )
    return render(
        request,
        "cables/reply.html",
        status_code=status_code,
        banner=from_marking(cable.classification),
        reply=reply,
        cable=cable,
        sender=sender,
        sender_notes=reads.sender_notes(cable, sender),
        tasking=tasking,
        window=window,
        candidates=candidates,
        actions=[a.value for a in actions],
        v=values or s,
        errors=errors or {},
        levels=list(DeliveryLevel),
        methods=list(DeliveryMethod),
        positions=list(Position),
    )


@router.post("/cables/import/reply", dependencies=[CsrfChecked])
def import_reply(
    request: Request,
    session: SessionDep,
    user: PageCableIngester,
    settings: SettingsDep,
    text: Annotated[str, Form(max_length=2_000_000)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    raw = ""
    try:
        raw = _text_of(text, file, limit=settings.max_cable_bytes)
        if not raw.strip():
            raise Invalid("Paste the reply cable's text or choose its file.")
        ingested = ingest.ingest(session, raw, actor=user)
        session.flush()
    except DomainError as exc:
        session.rollback()
        # Every refusal is said on the page the form came from, as typed (a cable above
        # the reader's clearance too: a readable 403, not an error page).
        return _reply_import_page(
            request, session, user, status_code=exc.status, error=exc.detail, text=raw
        )
    if ingested.reply is None:
        error = (
            _NOT_A_REPLY[ingested.cable.kind]
            if ingested.cable.kind != CableKind.REPORT
            else "This cable is already held, with no reply of it for you to review."
        )
        session.rollback()  # refused: nothing of it is kept
        return _reply_import_page(request, session, user, status_code=422, text=raw, error=error)
    return RedirectResponse(f"/cables/replies/{ingested.reply.id}", status_code=303)


_NOT_A_REPLY = {
    CableKind.INSTRUCTION: (
        "This cable reads as an instruction from headquarters, not a post's reply: nothing "
        "was filed. Paste the cable your post sent back, the one that cites the "
        "instruction in its REF: line."
    ),
    CableKind.OTHER: (
        "This cable reads as neither an instruction nor a report of a delivery: nothing "
        "was filed. Paste the reply that cites the instruction in its REF: line."
    ),
}


@router.get("/cables/replies/{reply_id}", name="cable_reply")
def show_reply(request: Request, reply_id: RecordId, session: SessionDep, user: PageUser):
    reply = reads.get_reply(session, reply_id, actor=user)
    return _reply_page(request, session, user, reply)


@router.post("/cables/replies/{reply_id}/confirm", dependencies=[CsrfChecked])
def confirm_reply(
    request: Request,
    reply_id: RecordId,
    session: SessionDep,
    user: PageUser,
    delivered_on: Annotated[str, Form()] = "",
    delivered_by: Annotated[str, Form(max_length=400)] = "",
    recipient_name: Annotated[str, Form(max_length=400)] = "",
    recipient_title: Annotated[str, Form(max_length=400)] = "",
    recipient_office: Annotated[str, Form(max_length=400)] = "",
    level: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
    summary: Annotated[str, Form(max_length=20_000)] = "",
    commitments: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    reply = reads.get_reply(session, reply_id, actor=user)
    # Who may confirm is settled before the form is read: a refusal is a 403, not a form error.
    try:
        tasking = review.reply_tasking(session, reply, actor=user)
    except Conflict as exc:
        return _reply_page(
            request, session, user, reply, errors={"form": exc.detail}, status_code=exc.status
        )
    values = {
        "delivered_on": delivered_on,
        "delivered_by": delivered_by,
        "recipient_name": recipient_name,
        "recipient_title": recipient_title,
        "recipient_office": recipient_office,
        "level": level,
        "method": method,
        "position": position,
        "summary": summary,
        "commitments": commitments,
    }
    try:
        data = ConfirmReplyIn.model_validate(
            {
                "delivery": {
                    "delivered_on": delivered_on or None,
                    "delivered_by": delivered_by,
                    "recipient_name": recipient_name,
                    "recipient_title": recipient_title,
                    "recipient_office": recipient_office,
                    "level": level,
                    "method": method,
                },
                "response": {
                    "position": position,
                    "summary": summary,
                    "commitments": [
                        {"text": c.strip()} for c in commitments.splitlines() if c.strip()
                    ],
                },
            }
        )
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors():
            name = next((str(p) for p in reversed(e["loc"]) if isinstance(p, str)), "form")
            errors.setdefault(name, e["msg"].removeprefix("Value error, "))
        return _reply_page(
            request, session, user, reply, values=values, errors=errors, status_code=422
        )
    try:
        review.confirm_reply(session, reply, tasking, data, actor=user)
        session.flush()
    except DomainError as exc:
        session.rollback()
        reply = reads.get_reply(session, reply_id, actor=user)
        named = exc.extra.get("errors")
        field = str(named[0]["field"]) if isinstance(named, list) and named else "form"
        return _reply_page(
            request,
            session,
            user,
            reply,
            values=values,
            errors={field: exc.detail},
            status_code=exc.status,
        )
    return RedirectResponse(f"/demarches/{tasking.demarche_id}?done=moved", status_code=303)


@router.post("/cables/replies/{reply_id}/reject", dependencies=[CsrfChecked])
def reject_reply(
    request: Request,
    reply_id: RecordId,
    session: SessionDep,
    user: PageUser,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    reply = reads.get_reply(session, reply_id, actor=user)
    try:
        if not note.strip():
            raise Invalid("Say why the match or the suggestion is wrong.")
        review.reject_reply(session, reply, note.strip(), actor=user)
        session.flush()
    except (Conflict, Invalid) as exc:
        session.rollback()
        reply = reads.get_reply(session, reply_id, actor=user)
        return _reply_page(
            request, session, user, reply, errors={"form": exc.detail}, status_code=exc.status
        )
    return RedirectResponse(f"/cables/replies/{reply_id}", status_code=303)


@router.post("/cables/replies/unmatched/rematch", dependencies=[CsrfChecked])
def rematch_replies(session: SessionDep, user: PageDemarcheWriter) -> Response:
    """The desk's "Match again": every unmatched reply it may see, matched again."""
    matching.rematch(session, actor=user)
    session.flush()
    return RedirectResponse("/cables/import#h-unmatched", status_code=303)


@router.post("/cables/replies/{reply_id}/match", dependencies=[CsrfChecked])
def match_reply(
    request: Request,
    reply_id: RecordId,
    session: SessionDep,
    user: PageUser,
    tasking_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    reply = reads.get_reply(session, reply_id, actor=user)
    try:
        # A number past the id columns is no tasking's (and PostgreSQL would not look).
        chosen = tasking_id.strip()
        # ASCII digits only: "²" is a digit to isdigit() and no number to int().
        if not (chosen.isascii() and chosen.isdigit()) or int(chosen) > ID_MAX:
            raise Invalid("Choose the tasking this reply answers.")
        review.match_by_hand(session, reply, int(chosen), actor=user)
        session.flush()
    except (Conflict, Invalid, NotFound) as exc:
        session.rollback()
        reply = reads.get_reply(session, reply_id, actor=user)
        return _reply_page(
            request, session, user, reply, errors={"form": exc.detail}, status_code=exc.status
        )
    return RedirectResponse(f"/cables/replies/{reply_id}", status_code=303)
