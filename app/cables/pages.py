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
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.cables import drafting, ingest, reads, review, rules
from app.cables.models import CableKind, CableReply, ReplyStatus
from app.cables.schemas import CollectiveResolved, ConfirmReplyIn
from app.classification import Classification, from_marking, highest
from app.concurrency import require_version
from app.dashboards.queries import PAGE_SIZE
from app.demarches import guards as demarche_guards
from app.demarches import reads as demarche_reads
from app.demarches import service as demarches
from app.demarches.schemas import DemarcheUpdate, TargetIn
from app.deps import SessionDep, SettingsDep
from app.errors import Conflict, DomainError, Invalid, NotFound, PayloadTooLarge
from app.limits import ID_MAX, RecordId
from app.posts.models import Post
from app.taskings import reads as tasking_reads
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
def import_cable(request: Request, session: SessionDep, user: PageCableIngester) -> HTMLResponse:
    return _import_page(request, session, user)


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
        drafted = drafting.draft_demarche(session, ingested.cable, actor=user)
        session.flush()
    except DomainError as exc:
        session.rollback()
        return _import_page(
            request, session, user, status_code=exc.status, error=exc.detail, text=raw
        )
    return _draft_page(
        request,
        session,
        user,
        drafted.demarche.id,
        raw=ingested.cable.raw_text,
        unresolved=[
            u.model_dump() if hasattr(u, "model_dump") else vars(u) for u in drafted.unresolved
        ],
        warnings=drafted.warnings,
        collectives=[drafting.resolved_out(c) for c in drafted.collectives],
    )


def _draft_page(
    request: Request,
    session: Session,
    user: User,
    demarche_id: int,
    *,
    raw: str,
    unresolved: list[dict[str, Any]],
    warnings: list[str],
    collectives: list[CollectiveResolved] | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    # The draft as its one reader shows it: points above the reader's clearance withheld.
    d = demarche_reads.sheet(session, demarche_id, actor=user, with_targets=True)
    posts = [
        (code, name)
        for code, name in session.execute(
            select(Post.code, Post.name).where(Post.active.is_(True)).order_by(Post.code)
        )
    ]
    return render(
        request,
        "cables/draft.html",
        status_code=status_code,
        banner=highest([d.classification] + [p.classification for p in d.talking_points]),
        d=d,
        raw=raw,
        unresolved=unresolved,
        warnings=warnings,
        posts=posts,
        collectives=collectives or [],
        error=error,
    )


@router.post("/cables/drafts/{demarche_id}/targets", dependencies=[CsrfChecked])
def add_targets(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    user: PageUser,
    version: Annotated[int, Form()],
    posts: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Fix the addressees the registry could not place: add posts to the draft."""
    # 404, then 403; a stale form is said on the draft's page.
    d = demarche_guards.to_write(
        session, demarche_id, actor=user, route=request.url.path, skip_version=True
    )
    require_version("demarche", d, form_version=version)  # 412 when stale
    have = [
        TargetIn(post=t.post.code, role=t.role, countries=[t.country], due_date=t.due_date)
        for t in d.targets
    ]
    codes = {t.post for t in have}
    extra = [TargetIn(post=c) for c in dict.fromkeys(posts or []) if c.upper() not in codes]
    demarches.update_draft(session, d, DemarcheUpdate(targets=have + extra), actor=user)
    return RedirectResponse(f"/demarches/{demarche_id}?done=created", status_code=303)


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
        ingested = ingest.ingest(session, raw, actor=user)
        session.flush()
    except DomainError as exc:
        session.rollback()
        return _import_page(
            request, session, user, status_code=exc.status, error=exc.detail, text=raw
        )
    if ingested.reply is None:
        error = (
            "This cable reads as an instruction, not a post's reply."
            if ingested.cable.kind != CableKind.REPORT
            else "This cable is already held, with no reply of it for you to review."
        )
        session.rollback()  # refused: nothing of it is kept
        return _import_page(request, session, user, status_code=422, text=raw, error=error)
    return RedirectResponse(f"/cables/replies/{ingested.reply.id}", status_code=303)


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
        return _reply_page(
            request,
            session,
            user,
            reply,
            values=values,
            errors={"form": exc.detail},
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
        if not tasking_id.strip().isdigit() or int(tasking_id) > ID_MAX:
            raise Invalid("Give the number of the tasking this reply answers.")
        review.match_by_hand(session, reply, int(tasking_id), actor=user)
        session.flush()
    except (Conflict, Invalid, NotFound) as exc:
        session.rollback()
        reply = reads.get_reply(session, reply_id, actor=user)
        return _reply_page(
            request, session, user, reply, errors={"form": exc.detail}, status_code=exc.status
        )
    return RedirectResponse(f"/cables/replies/{reply_id}", status_code=303)
