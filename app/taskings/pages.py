"""The post's inbox, the page of one tasking, and the tasking moves made from them.

The inbox lists what the post must do, with a summary and links; the forms live on
the tasking's own page. Each form carries the tasking version it was read at; a
stale one is refused with a readable message and nothing saved. A refusal
re-renders the tasking page with what was typed and a message beside each field;
a success returns to the inbox, which says what was done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.policy import deny
from app.dashboards.queries import highest
from app.db import today_utc
from app.demarches.pages import STALE, field_errors, show_page
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError, Invalid
from app.settings import Settings
from app.taskings import service
from app.taskings.inbox import inbox
from app.taskings.models import (
    DeliveryLevel,
    DeliveryMethod,
    Position,
    Tasking,
)
from app.taskings.schemas import AcknowledgeIn, DeliveryIn, ResponseIn
from app.taskings.workflow import Action
from app.web import CsrfChecked, PageUser, render

router = APIRouter(include_in_schema=False)

# The moves that carry only a reason; the others have their own forms.
REASON_MOVES = {
    Action.MARK_UNABLE,
    Action.ADVISE_AGAINST,
    Action.WAIVE,
    Action.INSIST,
    Action.ACCEPT,
    Action.REOPEN,
    Action.CANCEL,
}
_COMMITMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(.+)$")

# Twenty summaries a page; what a post fills in is on each tasking's own page.
INBOX_PAGE_SIZE = 20


def _require_post_officer(user: User, path: str) -> None:
    """The inbox and its tasking pages: a role that never has one is refused before any
    lookup, so the answer is the same for every id."""
    if user.role != Role.POST_OFFICER or user.post_id is None:
        raise deny(
            user,
            "The inbox lists what a post must do; it is for post officers. "
            "Desk officers follow taskings from each demarche's page and the overdue board.",
            reason="inbox without a post",
            route=path,
        )


def inbox_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    *,
    page: int = 1,
    done_tasking: int | None = None,
) -> HTMLResponse:
    _require_post_officer(user, request.url.path)
    found = inbox(session, actor=user, settings=settings, page=page, per_page=INBOX_PAGE_SIZE)
    taskings = found.taskings
    cards = [
        {
            "t": t,
            "actions": service.actions_for(user, t),
            "urgent": service.is_unacknowledged_urgent(t, settings),
            "overdue": t.is_late or service.is_unacknowledged_urgent(t, settings),
            "changed": t.demarche.revision > t.seen_revision,
        }
        for t in taskings
    ]
    done = request.query_params.get("done", "")
    return render(
        request,
        "taskings/inbox.html",
        banner=highest([t.demarche.classification for t in taskings]),
        cards=cards,
        total=found.total,
        page=found.page,
        pages=found.pages,
        today=today_utc(),
        notice=_DONE.get(done, ""),
        done_tasking=done_tasking if done in _DONE else None,
    )


_DONE = {
    "acknowledge": "Acknowledged.",
    "deliver": "Delivery logged. Report the response when you have it.",
    "respond": "Response reported to the desk.",
    "moved": "Tasking updated.",
}


@router.get("/inbox", name="inbox")
def show_inbox(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    page: int = 1,
    tasking: int | None = None,
) -> HTMLResponse:
    return inbox_page(request, session, settings, user, page=page, done_tasking=tasking)


def tasking_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    tasking_id: int,
    *,
    status_code: int = 200,
    form: str = "",
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    """One tasking as its post works on it: where it stands, what was delivered, and
    the forms for the moves the post may make now. `form` names the submitted form
    that `values` and `errors` belong to."""
    _require_post_officer(user, request.url.path)
    t = service.get_visible(session, tasking_id, actor=user)
    actions = service.actions_for(user, t)
    points = service.points_to_deliver(session, t, actor=user) if Action.DELIVER in actions else []
    urgent = service.is_unacknowledged_urgent(t, settings)
    return render(
        request,
        "taskings/tasking.html",
        status_code=status_code,
        banner=highest(
            [t.demarche.classification]
            + [p.classification for p in points if p.classification is not None]
        ),
        t=t,
        actions=actions,
        points=points,
        urgent=urgent,
        overdue=t.is_late or urgent,
        changes=service.changes_since_seen(session, t.demarche, t.seen_revision),
        today=today_utc(),
        form=form,
        values=values or {},
        errors=errors or {},
        levels=list(DeliveryLevel),
        methods=list(DeliveryMethod),
        positions=list(Position),
    )


@router.get("/inbox/{tasking_id}", name="tasking")
def show_tasking(
    request: Request, tasking_id: int, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    return tasking_page(request, session, settings, user, tasking_id)


def _load(session: Session, user: User, tasking_id: int) -> Tasking:
    return service.get_visible(session, tasking_id, actor=user)


@dataclass
class Attempt:
    """One submitted tasking form: enough to show it again, as typed, with what went wrong."""

    request: Request
    session: Session
    settings: Settings
    user: User
    tasking_id: int
    kind: str
    values: dict[str, Any]

    def refuse(
        self, errors: dict[str, str], status_code: int, *, rollback: bool = False
    ) -> HTMLResponse:
        if rollback:
            self.session.rollback()
        return tasking_page(
            self.request,
            self.session,
            self.settings,
            self.user,
            self.tasking_id,
            status_code=status_code,
            form=self.kind,
            values=self.values,
            errors=errors,
        )


def _stale(t: Tasking, version: int) -> str | None:
    if version != t.version:
        return STALE.format(kind="tasking", read=version, now=t.version)
    return None


@router.post("/inbox/{tasking_id}/acknowledge", dependencies=[CsrfChecked])
def acknowledge(
    request: Request,
    tasking_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Annotated[int, Form()],
    planned_date: Annotated[str, Form()] = "",
    officer: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"planned_date": planned_date, "officer": officer}
    t = _load(session, user, tasking_id)
    attempt = Attempt(request, session, settings, user, tasking_id, "acknowledge", values)
    if msg := _stale(t, version):
        return attempt.refuse(errors={"form": msg}, status_code=409)
    try:
        data = AcknowledgeIn.model_validate(
            {"planned_date": planned_date or None, "officer": officer or None}
        )
    except ValidationError as exc:
        return attempt.refuse(errors=field_errors(exc), status_code=422)
    try:
        service.acknowledge(session, t, data, actor=user)
        session.flush()
    except DomainError as exc:
        return attempt.refuse(
            errors={"form": exc.detail},
            status_code=exc.status,
            rollback=True,
        )
    return _done("acknowledge", tasking_id)


@router.post("/inbox/{tasking_id}/deliver", dependencies=[CsrfChecked])
def deliver(
    request: Request,
    tasking_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Annotated[int, Form()],
    delivered_on: Annotated[str, Form()] = "",
    delivered_by: Annotated[str, Form(max_length=400)] = "",
    recipient_name: Annotated[str, Form(max_length=400)] = "",
    recipient_title: Annotated[str, Form(max_length=400)] = "",
    recipient_office: Annotated[str, Form(max_length=400)] = "",
    level: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "",
    points: Annotated[list[str] | None, Form()] = None,
    notes: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    values: dict[str, Any] = {
        "delivered_on": delivered_on,
        "delivered_by": delivered_by,
        "recipient_name": recipient_name,
        "recipient_title": recipient_title,
        "recipient_office": recipient_office,
        "level": level,
        "method": method,
        "points": points or [],
        "notes": notes,
    }
    t = _load(session, user, tasking_id)
    attempt = Attempt(request, session, settings, user, tasking_id, "deliver", values)
    if msg := _stale(t, version):
        return attempt.refuse(errors={"form": msg}, status_code=409)
    try:
        data = DeliveryIn.model_validate({**values, "delivered_on": delivered_on or None})
    except ValidationError as exc:
        return attempt.refuse(errors=_errors(exc), status_code=422)
    try:
        service.deliver(session, t, data, actor=user)
        session.flush()
    except DomainError as exc:
        field = "points" if isinstance(exc, Invalid) and "talking point" in exc.detail else "form"
        return attempt.refuse(
            errors={field: exc.detail},
            status_code=exc.status,
            rollback=True,
        )
    return _done("deliver", tasking_id)


def _errors(exc: ValidationError) -> dict[str, str]:
    """field_errors, with plainer words for a choice or a date the form sent wrong."""
    out = field_errors(exc)
    for e in exc.errors():
        name = str(e["loc"][0]) if e["loc"] else "form"
        if e["type"] == "enum":
            out[name] = "Choose one of the options."
        elif e["type"] in ("date_from_datetime_parsing", "date_parsing", "date_type"):
            out[name] = "Give a date as YYYY-MM-DD."
    return out


@router.post("/inbox/{tasking_id}/respond", dependencies=[CsrfChecked])
def respond(
    request: Request,
    tasking_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Annotated[int, Form()],
    position: Annotated[str, Form()] = "",
    summary: Annotated[str, Form(max_length=20_000)] = "",
    commitments: Annotated[str, Form(max_length=20_000)] = "",
    follow_up_needed: Annotated[str, Form()] = "",
    reporting_cable_ref: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {
        "position": position,
        "summary": summary,
        "commitments": commitments,
        "follow_up_needed": follow_up_needed,
        "reporting_cable_ref": reporting_cable_ref,
    }
    t = _load(session, user, tasking_id)
    attempt = Attempt(request, session, settings, user, tasking_id, "respond", values)
    if msg := _stale(t, version):
        return attempt.refuse(errors={"form": msg}, status_code=409)
    promised = []
    for line in (x.strip() for x in commitments.splitlines()):
        if not line:
            continue
        m = _COMMITMENT.match(line)
        promised.append({"text": m.group(2), "due_date": m.group(1)} if m else {"text": line})
    try:
        data = ResponseIn.model_validate(
            {
                "position": position,
                "summary": summary,
                "commitments": promised,
                "follow_up_needed": bool(follow_up_needed),
                "reporting_cable_ref": reporting_cable_ref or None,
            }
        )
    except ValidationError as exc:
        return attempt.refuse(errors=_errors(exc), status_code=422)
    try:
        service.report_response(session, t, data, actor=user)
        session.flush()
    except DomainError as exc:
        return attempt.refuse(
            errors={"form": exc.detail},
            status_code=exc.status,
            rollback=True,
        )
    return _done("respond", tasking_id)


def _done(what: str, tasking_id: int) -> RedirectResponse:
    """Every tasking form returns to the inbox, which says what was done and links back."""
    return RedirectResponse(f"/inbox?done={what}&tasking={tasking_id}", status_code=303)


def _safe_next(target: str) -> str:
    return target if re.fullmatch(r"/(inbox|demarches/\d+)", target or "") else "/inbox"


@router.post("/taskings/{tasking_id}/move", dependencies=[CsrfChecked])
def move_tasking(
    request: Request,
    tasking_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Annotated[int, Form()],
    action: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=4000)] = "",
    next: Annotated[str, Form()] = "/inbox",
) -> Response:
    """Moves that carry only a reason (unable, advise against, accept, reopen, ...)."""
    back = _safe_next(next)
    t = _load(session, user, tasking_id)

    def refused(
        message: str, status_code: int, rollback: bool = False, field: str = "form"
    ) -> HTMLResponse:
        if rollback:
            session.rollback()
        # The desk's forms live on the demarche page, a post's on its tasking page: only
        # a post officer has the latter, so anyone else is answered on the former.
        if back.startswith("/demarches/") or user.role != Role.POST_OFFICER:
            return show_page(
                request,
                session,
                settings,
                user,
                t.demarche_id,
                status_code=status_code,
                error=message,
            )
        return tasking_page(
            request,
            session,
            settings,
            user,
            tasking_id,
            status_code=status_code,
            form=action,
            values={"reason": reason},
            errors={field: message},
        )

    try:
        move = Action(action)
    except ValueError:
        move = None
    if move not in REASON_MOVES or move is None:
        return refused(f"{action!r} is not a move this form can make.", 400)
    if msg := _stale(t, version):
        return refused(msg, 409)
    try:
        service.move_with_reason(session, t, move, actor=user, reason=reason)
        session.flush()
    except DomainError as exc:
        # A rule about what was typed (the reason) goes beside the field; others on top.
        field = "reason" if isinstance(exc, Invalid) else "form"
        return refused(exc.detail, exc.status, rollback=True, field=field)
    if back == "/inbox":
        return _done("moved", tasking_id)
    return RedirectResponse(f"{back}?done=moved", status_code=303)
