"""The desk's chasing pages: one tasking as the desk follows it up (its history, and a
form for each move the table allows it now), the list of a post's taskings, and the
extension of a due date.

A destructive move (the table's `destructive`: cancel, waive, insist) needs a reason,
which the post is shown, and an explicit confirmation; without JavaScript, so the
form carries a checkbox that the handler checks. Every form carries where the officer
came from (`next`: the overdue board or the demarche page, with its page and sort),
and a success lands back there with a sentence naming what changed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import has_inbox
from app.classification import highest
from app.db import today_utc
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError
from app.forms import field_errors
from app.limits import QueryText, RecordId
from app.settings import Settings
from app.taskings import guards, reads, service
from app.taskings.models import TaskingStatus
from app.taskings.schemas import ExtendIn
from app.taskings.workflow import BY_ACTION, Action, Side
from app.web import CsrfChecked, PageUser, render

router = APIRouter(include_in_schema=False)

# Where a desk form may send the officer back to, and which of its parameters it keeps:
# a page of this app only, never a URL someone else wrote into the form.
_BACK: dict[str, dict[str, str]] = {
    r"/overdue": {"sort": r"worst|region", "page": r"\d{1,9}"},
    r"/demarches/\d{1,12}": {"page": r"\d{1,9}", "tl": r"\d{1,9}"},
    r"/taskings": {
        "post": r"[A-Za-z0-9_-]{1,32}",
        "status": r"[a-z_]{1,20}",
        "overdue": r"1",
        "cursor": r"[A-Za-z0-9_=-]{1,200}",
    },
    r"/taskings/\d{1,12}": {},
    r"/inbox": {},
}

# How each desk move's button and confirmation read ({where}: the post, and its country).
WORDING: dict[Action, tuple[str, str]] = {
    Action.EXTEND: ("Move the due date", ""),
    Action.ACCEPT: ("Accept the report", ""),
    Action.WAIVE: ("Waive", "I confirm: {where} need not deliver, and is shown my reason."),
    Action.INSIST: ("Insist", "I confirm: {where} must deliver after all, and is shown my reason."),
    Action.CANCEL: (
        "Cancel the tasking",
        "I confirm: {where} stops work on this, and is shown my reason.",
    ),
    Action.REOPEN: ("Reopen", ""),
}


def back_to(target: str, default: str) -> str:
    """The page a form came from, with only the parameters that page reads; else default."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc:
        return default
    for path, params in _BACK.items():
        if re.fullmatch(path, parts.path):
            kept = [
                (k, v)
                for k, v in parse_qsl(parts.query)
                if k in params and re.fullmatch(params[k], v)
            ]
            return parts.path + (f"?{urlencode(kept)}" if kept else "")
    return default


def landing(back: str, action: Action, tasking_id: int) -> RedirectResponse:
    """Back where the officer was; that page names what changed (reads.notice_for)."""
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}done={action.value}&moved={tasking_id}", status_code=303)


def where(t: Any) -> str:
    return t.post if t.country == t.post_country else f"{t.post} for {t.country}"


def desk_tasking_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    tasking_id: int,
    *,
    back: str = "",
    status_code: int = 200,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    """One tasking as the desk chases it. `form` names the submitted form that `values`
    and `errors` belong to."""
    t = reads.read(session, tasking_id, actor=user, settings=settings)
    back = back_to(back, f"/demarches/{t.demarche_id}")
    desk_moves = [a for a in t.allowed_actions if BY_ACTION[a].side == Side.DESK]
    place = where(t)
    return render(
        request,
        "taskings/desk.html",
        status_code=status_code,
        banner=t.demarche_classification,
        t=t,
        where=place,
        back=back,
        back_label=_back_label(back),
        moves=[
            {
                "action": a,
                "label": WORDING[a][0],
                "confirm": WORDING[a][1].format(where=place),
                "destructive": BY_ACTION[a].destructive,
                "reason_required": BY_ACTION[a].reason_required,
            }
            for a in desk_moves
        ],
        history=reads.history(session, t, actor=user),
        today=today_utc(),
        form=form,
        values=values or {},
        errors=errors or {},
    )


def _back_label(back: str) -> str:
    if back.startswith("/overdue"):
        return "Back to the overdue board"
    if back.startswith("/taskings/"):
        return "Back to the tasking"
    if back.startswith("/taskings"):
        return "Back to the list of taskings"
    return "Back to the demarche"


@router.get("/taskings", name="tasking_list")
def list_taskings_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    post: QueryText = "",
    status: QueryText = "",
    overdue: QueryText = "",
    cursor: QueryText = "",
) -> HTMLResponse:
    """A post's taskings (or any filter of them): where the overdue board's posts link."""
    try:
        state = TaskingStatus(status) if status else None
    except ValueError:
        state = None  # a stale bookmark: show them all
    filters = reads.TaskingFilters(
        post=post.strip()[:32].upper() or None,
        status=state,
        overdue=True if overdue == "1" else None,
    )
    try:
        items, next_cursor = reads.read_page(
            session, actor=user, settings=settings, filters=filters, limit=50, cursor=cursor or None
        )
    except DomainError:
        items, next_cursor = reads.read_page(
            session, actor=user, settings=settings, filters=filters, limit=50
        )
    here = {
        k: v
        for k, v in (
            ("post", filters.post),
            ("status", status if state else ""),
            ("overdue", "1" if filters.overdue else ""),
        )
        if v
    }
    return render(
        request,
        "taskings/list.html",
        banner=highest([t.demarche_classification for t in items]),
        items=items,
        filters=filters,
        statuses=list(TaskingStatus),
        here=f"/taskings?{urlencode(here)}" if here else "/taskings",
        next_link=f"/taskings?{urlencode({**here, 'cursor': next_cursor})}" if next_cursor else "",
        today=today_utc(),
    )


@router.get("/taskings/{tasking_id}", name="desk_tasking")
def show_desk_tasking(
    request: Request,
    tasking_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    next: QueryText = "",
) -> Response:
    if has_inbox(user):
        # A post works on its tasking from its inbox's page; one out of its sight is a 404.
        reads.load(session, tasking_id, actor=user)
        return RedirectResponse(f"/inbox/{tasking_id}", status_code=303)
    return desk_tasking_page(request, session, settings, user, tasking_id, back=next)


@router.post("/taskings/{tasking_id}/extend", dependencies=[CsrfChecked])
def extend_tasking(
    request: Request,
    tasking_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Annotated[int, Form()],
    due_date: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    next: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """The desk gives the post until a later date (the same service as the API)."""
    values = {"due_date": due_date, "reason": reason}

    def refused(errors: dict[str, str], status_code: int, rollback: bool = False) -> HTMLResponse:
        if rollback:
            session.rollback()
        return desk_tasking_page(
            request,
            session,
            settings,
            user,
            tasking_id,
            back=next,
            status_code=status_code,
            form=Action.EXTEND.value,
            values=values,
            errors=errors,
        )

    # 404 as an error page; then 403, a stale form and the state beside the form.
    t = reads.load(session, tasking_id, actor=user)
    try:
        t = guards.to_move_now(
            session, tasking_id, actor=user, action=Action.EXTEND, form_version=version
        )
    except DomainError as exc:
        return refused({"form": exc.detail}, exc.status)
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "Give a reason: the post is shown it beside the new date."
    try:
        data = ExtendIn.model_validate({"due_date": due_date or None, "reason": reason})
    except ValidationError as exc:
        found = field_errors(exc)
        if "due_date" in found:
            errors["due_date"] = "Give the new due date as YYYY-MM-DD."
        errors = {**{k: v for k, v in found.items() if k != "due_date"}, **errors}
    if errors:
        return refused(errors, 422)
    try:
        service.extend(session, t, data, actor=user)
        session.flush()
    except DomainError as exc:
        field = str(exc.extra.get("field", "form"))
        return refused({field: exc.detail}, exc.status, rollback=True)
    return landing(back_to(next, f"/demarches/{t.demarche_id}"), Action.EXTEND, tasking_id)
