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
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.auth.policy import Side, require_post_officer
from app.cables import telegram
from app.classification import highest
from app.clock import local_today
from app.demarches import reads as demarche_reads
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError, Invalid, NotFound
from app.forms import field_errors
from app.limits import PageNumber, QueryId, QueryText, RecordId
from app.settings import Settings
from app.taskings import guards, reads, records, service
from app.taskings.chasing import back_to, desk_tasking_page, landing
from app.taskings.inbox import finished_work, inbox
from app.taskings.models import (
    AWAITING_DELIVERY,
    DeliveryLevel,
    DeliveryMethod,
    Position,
    Tasking,
    TaskingStatus,
)
from app.taskings.schemas import AcknowledgeIn, DeliveryIn, ResponseIn
from app.taskings.workflow import BY_ACTION, Action, actions_by_form
from app.taskings.workflow import Form as MoveForm
from app.vocabulary import PRESSING
from app.web import CsrfChecked, PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/taskings/{tasking_id}/report-cable.txt", name="report_cable")
def report_cable(tasking_id: RecordId, session: SessionDep, user: PageUser) -> Response:
    """The post's reporting cable on its tasking, drafted as text for the post to edit."""
    cable = telegram.report_cable(session, tasking_id, actor=user)
    return PlainTextResponse(
        cable.text,
        headers={"Content-Disposition": f'attachment; filename="{cable.filename}"'},
    )


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
            "pressing": t.demarche_precedence in PRESSING,
            # Days left are counted in the post's own calendar, as its due date is read.
            "today": local_today(t.post_time_zone),
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


@router.get("/inbox/history", name="inbox_history")
def show_history(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    q: QueryText = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    """The post's finished work (reported, closed, unable, waived, cancelled), searchable."""
    require_post_officer(user, route=request.url.path)
    found = finished_work(
        session, actor=user, settings=settings, search=q, page=page, per_page=INBOX_PAGE_SIZE
    )
    return render(
        request,
        "taskings/history.html",
        banner=highest([t.demarche_classification for t in found.taskings]),
        taskings=found.taskings,
        total=found.total,
        page=found.page,
        pages=found.pages,
        q=q,
    )


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
    # The instruction as this reader may read it: the officer delivers from this page.
    d = demarche_reads.sheet(session, t.demarche_id, actor=user)
    window = records.delivery_window(session, t.id)
    points = records.points_of_sheet(d) if Action.DELIVER in actions else []
    return render(
        request,
        "taskings/tasking.html",
        status_code=status_code,
        banner=highest(d.marks),
        t=t,
        d=d,
        window=window,
        actions=actions,
        cannot_moves=CANNOT_MOVES,
        points=points,
        urgent=t.unacknowledged_urgent,
        pressing=t.demarche_precedence in PRESSING,
        overdue=t.overdue,
        awaiting_delivery=t.status in AWAITING_DELIVERY,
        waiting_on_desk=t.status == TaskingStatus.ADVISED_AGAINST,
        changes=t.changes,
        # The desk's decisions on it and why (an extension, an insist, a cancellation).
        history=reads.history(session, t, actor=user),
        today=window.last,
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
        field_of: Callable[[DomainError], str] = lambda exc: _field_named(exc) or "form",
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
            _field_named(exc)
            or ("points" if isinstance(exc, Invalid) and "talking point" in exc.detail else "form")
        ),
    )


def _field_named(exc: DomainError) -> str | None:
    """The field a rule of the service names in its problem (`errors`), if it names one."""
    errors = exc.extra.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("field") or "") or None
    return None


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
    confirm: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=400)] = "/inbox",
) -> Response:
    """Moves that carry only a reason (unable, advise against, accept, reopen, ...). The
    table's destructive ones (cancel, waive, insist) also need the confirmation box."""
    t = reads.load(session, tasking_id, actor=user)  # 404 first, for any form
    # A post's forms live on its tasking page; the desk's on its own page of the tasking.
    post_side = user.role == Role.POST_OFFICER

    def refused(errors: dict[str, str], status_code: int, rollback: bool = False) -> HTMLResponse:
        if rollback:
            session.rollback()
        if post_side:
            return tasking_page(
                request,
                session,
                settings,
                user,
                tasking_id,
                status_code=status_code,
                form=action,
                values={"reason": reason},
                errors=errors,
            )
        return desk_tasking_page(
            request,
            session,
            settings,
            user,
            tasking_id,
            back=next,
            status_code=status_code,
            form=action,
            values={"reason": reason, "confirm": confirm},
            errors=errors,
        )

    try:
        move = Action(action)
    except ValueError:
        move = None
    if move is None or move not in REASON_MOVES:
        return refused({"form": f"{action!r} is not a move this form can make."}, 400)
    try:
        t = guards.to_move_now(session, tasking_id, actor=user, action=move, form_version=version)
    except DomainError as exc:
        return refused({"form": exc.detail}, exc.status)
    # What was typed, all of it at once: the reason the post is shown, and the confirmation.
    rule = BY_ACTION[move]
    errors = {}
    if rule.reason_required and not reason.strip():
        shown_to = "post" if rule.side == Side.DESK else "desk"
        errors["reason"] = f"Give a reason: the {shown_to} is shown it."
    if rule.destructive and not confirm:
        errors["confirm"] = "Tick the box to confirm: this cannot be taken back by the post."
    if errors:
        return refused(errors, 422)
    try:
        service.move_with_reason(session, t, move, actor=user, reason=reason)
        session.flush()
    except DomainError as exc:
        # A rule about what was typed (the reason) goes beside the field; others on top.
        field = "reason" if isinstance(exc, Invalid) else "form"
        return refused({field: exc.detail}, exc.status, rollback=True)
    if post_side:
        return _done("moved", tasking_id)
    return landing(back_to(next, f"/demarches/{t.demarche_id}"), move, tasking_id)
