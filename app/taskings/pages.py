"""The post's inbox, the page of one tasking, and the tasking moves made from them.

The inbox lists what the post must do, with a summary and links; the forms live on
the tasking's own page. Each form carries the tasking version it was read at; a
stale one is refused with a readable message and nothing saved. A refusal
re-renders the tasking page with what was typed and a message beside each field;
a success returns to the inbox, which says what was done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.policy import Side, require_post_officer
from app.classification import highest
from app.db import today_utc
from app.demarches.pages import show_page
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError, Invalid, NotFound
from app.forms import field_errors
from app.limits import PageNumber, QueryId, RecordId
from app.settings import Settings
from app.taskings import guards, reads, records, service
from app.taskings.inbox import inbox
from app.taskings.models import (
    AWAITING_DELIVERY,
    DeliveryLevel,
    DeliveryMethod,
    Position,
    Tasking,
    TaskingStatus,
)
from app.taskings.schemas import AcknowledgeIn, DeliveryIn, ResponseIn
from app.taskings.workflow import Action, actions_by_form
from app.taskings.workflow import Form as MoveForm
from app.vocabulary import Precedence
from app.web import CsrfChecked, PageUser, render

router = APIRouter(include_in_schema=False)

# The moves that carry only a reason; the others have their own forms (the table says).
REASON_MOVES = actions_by_form(MoveForm.REASON)
# Of those, the post's: what it does when it cannot deliver.
CANNOT_MOVES = list(actions_by_form(MoveForm.REASON, Side.POST))
_COMMITMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(.+)$")

# Twenty summaries a page; what a post fills in is on each tasking's own page.
INBOX_PAGE_SIZE = 20


def inbox_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    *,
    page: int = 1,
    done_tasking: int | None = None,
) -> HTMLResponse:
    require_post_officer(user, route=request.url.path)
    found = inbox(session, actor=user, settings=settings, page=page, per_page=INBOX_PAGE_SIZE)
    taskings = found.taskings
    cards = [
        {
            "t": t,
            "actions": t.allowed_actions,
            "urgent": t.unacknowledged_urgent,
            "overdue": t.overdue,
            "changed": t.changed_since_seen,
            "waiting_on_desk": t.status == TaskingStatus.ADVISED_AGAINST,
        }
        for t in taskings
    ]
    done = request.query_params.get("done", "")
    return render(
        request,
        "taskings/inbox.html",
        banner=highest([t.demarche_classification for t in taskings]),
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
    page: PageNumber = 1,
    tasking: QueryId = None,
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
    require_post_officer(user, route=request.url.path)
    t = reads.read(session, tasking_id, actor=user, settings=settings)
    actions = t.allowed_actions
    points = (
        records.points_to_deliver(session, t.demarche_id, actor=user)
        if Action.DELIVER in actions
        else []
    )
    return render(
        request,
        "taskings/tasking.html",
        status_code=status_code,
        banner=highest(
            [t.demarche_classification]
            + [p.classification for p in points if p.classification is not None]
        ),
        t=t,
        actions=actions,
        cannot_moves=CANNOT_MOVES,
        points=points,
        urgent=t.unacknowledged_urgent,
        urgent_precedence=t.demarche_precedence != Precedence.ROUTINE,
        overdue=t.overdue,
        awaiting_delivery=t.status in AWAITING_DELIVERY,
        waiting_on_desk=t.status == TaskingStatus.ADVISED_AGAINST,
        changes=t.changes,
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
    request: Request,
    tasking_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
) -> HTMLResponse:
    return tasking_page(request, session, settings, user, tasking_id)


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

    def submit(
        self,
        action: Action,
        version: int,
        parse: Callable[[], BaseModel],
        run: Callable[[Tasking, Any], object],
        *,
        field_of: Callable[[DomainError], str] = lambda exc: "form",
    ) -> Response:
        """The one order of refusals: 404 (an error page), 403, stale (412), the state
        (409), what was typed (422), then the service's own rules; a refusal shows the
        form again as typed."""
        try:
            t = guards.to_move_now(
                self.session, self.tasking_id, actor=self.user, action=action, form_version=version
            )
        except NotFound:
            raise
        except DomainError as exc:
            return self.refuse({"form": exc.detail}, exc.status)
        try:
            data = parse()
        except ValidationError as exc:
            return self.refuse(_errors(exc), 422)
        try:
            run(t, data)
            self.session.flush()
        except DomainError as exc:
            return self.refuse({field_of(exc): exc.detail}, exc.status, rollback=True)
        return _done(self.kind, self.tasking_id)


@router.post("/inbox/{tasking_id}/acknowledge", dependencies=[CsrfChecked])
def acknowledge(
    request: Request,
    tasking_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Annotated[int, Form()],
    planned_date: Annotated[str, Form()] = "",
    officer: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"planned_date": planned_date, "officer": officer}
    attempt = Attempt(request, session, settings, user, tasking_id, "acknowledge", values)
    return attempt.submit(
        Action.ACKNOWLEDGE,
        version,
        lambda: AcknowledgeIn.model_validate(
            {"planned_date": planned_date or None, "officer": officer or None}
        ),
        lambda t, data: service.acknowledge(session, t, data, actor=user),
    )


@router.post("/inbox/{tasking_id}/deliver", dependencies=[CsrfChecked])
def deliver(
    request: Request,
    tasking_id: RecordId,
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
    # The form's checkboxes send positions as text; the API's schema takes numbers.
    numbered = [int(p) if p.isascii() and p.isdigit() else p for p in values["points"]]
    attempt = Attempt(request, session, settings, user, tasking_id, "deliver", values)
    return attempt.submit(
        Action.DELIVER,
        version,
        lambda: DeliveryIn.model_validate(
            {**values, "points": numbered, "delivered_on": delivered_on or None}
        ),
        lambda t, data: service.deliver(session, t, data, actor=user),
        field_of=lambda exc: (
            "points" if isinstance(exc, Invalid) and "talking point" in exc.detail else "form"
        ),
    )


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
    tasking_id: RecordId,
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
    promised = []
    for line in (x.strip() for x in commitments.splitlines()):
        if not line:
            continue
        m = _COMMITMENT.match(line)
        promised.append({"text": m.group(2), "due_date": m.group(1)} if m else {"text": line})
    attempt = Attempt(request, session, settings, user, tasking_id, "respond", values)
    return attempt.submit(
        Action.REPORT_RESPONSE,
        version,
        lambda: ResponseIn.model_validate(
            {
                "position": position,
                "summary": summary,
                "commitments": promised,
                "follow_up_needed": bool(follow_up_needed),
                "reporting_cable_ref": reporting_cable_ref or None,
            }
        ),
        lambda t, data: service.report_response(session, t, data, actor=user),
    )


def _done(what: str, tasking_id: int) -> RedirectResponse:
    """Every tasking form returns to the inbox, which says what was done and links back."""
    return RedirectResponse(f"/inbox?done={what}&tasking={tasking_id}", status_code=303)


def _safe_next(target: str) -> str:
    return target if re.fullmatch(r"/(inbox|demarches/\d+)", target or "") else "/inbox"


@router.post("/taskings/{tasking_id}/move", dependencies=[CsrfChecked])
def move_tasking(
    request: Request,
    tasking_id: RecordId,
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
    t = reads.load(session, tasking_id, actor=user)  # 404 first, for any form

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
    if move is None or move not in REASON_MOVES:
        return refused(f"{action!r} is not a move this form can make.", 400)
    try:
        t = guards.to_move_now(session, tasking_id, actor=user, action=move, form_version=version)
    except DomainError as exc:
        return refused(exc.detail, exc.status)
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
