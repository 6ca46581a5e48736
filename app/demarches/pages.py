"""Demarche pages: read one, write one by hand, and the desk's moves on it.

Thin adapters: each POST checks the version the form was read at (the page's
If-Match), calls the same service function as the API, and redirects; a refusal
re-renders the page with the reason.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Permission, allows, require, sees_other_posts
from app.classification import Classification, highest
from app.concurrency import require_version
from app.dashboards import queries
from app.dashboards.queries import Progress
from app.db import today_utc
from app.demarches import amendments, forms, guards, history, reads, rules, service
from app.demarches.models import Demarche, DemarcheStatus
from app.demarches.rules import DemarcheAction
from app.demarches.schemas import AmendIn, DemarcheIn
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError, Invalid, PreconditionFailed
from app.forms import field_errors
from app.limits import PageNumber, RecordId
from app.settings import Settings
from app.taskings import reads as tasking_reads
from app.taskings.models import Position
from app.taskings.workflow import TRANSITIONS, moves_of
from app.vocabulary import Precedence
from app.web import CsrfChecked, PageDemarcheWriter, PageUser, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = queries.PAGE_SIZE
DONE = {
    "created": "Draft saved. Check it, then issue it to the posts.",
    "issued": "Issued: each target post now has a tasking.",
    "amended": "Amended: the posts will see what changed.",
    "cancelled": "Demarche cancelled: its open taskings were cancelled, and each post is shown your reason.",
    "closed": "Closed.",
}

POSITION_PATTERNS = {
    Position.SUPPORTS: "solid-dark",
    Position.LEANS_SUPPORTIVE: "stripes",
    Position.NONCOMMITTAL: "dots",
    Position.LEANS_OPPOSED: "back-stripes",
    Position.OPPOSES: "solid-red",
    Position.DECLINED_TO_RESPOND: "cross",
}


def _banner(d: reads.DemarcheSheet) -> Classification:
    """The highest classification the page shows: the demarche's, or a readable portion's."""
    return highest(d.marks)


def show_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    demarche_id: int,
    *,
    page: int = 1,
    tl: int = 1,
    status_code: int = 200,
    error: str = "",
    notice: str = "",
    cancel_values: dict[str, str] | None = None,
    cancel_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    # A draft has no taskings yet, and lists its targets instead: read them then only.
    d = reads.sheet(session, demarche_id, actor=user)
    issued = d.status != DemarcheStatus.DRAFT
    if not issued:
        d = reads.sheet(session, demarche_id, actor=user, with_targets=True)
    targets = d.targets or []
    progress, tasking_count, shown, chart = Progress(), 0, [], []
    pages = 1
    if issued:
        # Both long lists page in SQL: a demarche to 200 posts has some 800 timeline events.
        progress, tasking_count = queries.demarche_tally(
            session, d.id, actor=user, settings=settings
        )
        pages = max(1, -(-tasking_count // PAGE_SIZE))
        page = min(max(page, 1), pages)
        shown = reads.tasking_lines(
            session, d.id, actor=user, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        chart = queries.responses_by_position(session, d.id, actor=user)
    actions = {
        t.id: moves_of(
            user, post_id=t.post_id, status=t.status, role=t.role, demarche_status=d.status
        )
        for t in shown
    }
    timeline = history.timeline_page(session, d.id, actor=user, page=tl, size=PAGE_SIZE)
    done = request.query_params.get("done", "")
    # Back from a desk move on one of its taskings: say which post and what changed.
    moved = request.query_params.get("moved", "")
    if not notice and moved.isdigit() and len(moved) < 12:
        notice = tasking_reads.notice_for(session, int(moved), done, actor=user, settings=settings)
    return render(
        request,
        "demarches/show.html",
        status_code=status_code,
        d=d,
        targets=targets,
        banner=_banner(d),
        taskings=shown,
        tasking_count=tasking_count,
        page=page,
        pages=pages,
        progress=progress,
        chart=chart,
        chart_max=max((n for _, n in chart), default=0),
        patterns=POSITION_PATTERNS,
        events=timeline.entries,
        tl=timeline.page,
        tl_pages=timeline.pages,
        revisions=history.revisions(session, d.id, actor=user),
        actions=actions,
        # A post's progress is its own taskings' state, not the demarche's roll-up.
        all_posts=sees_other_posts(user),
        # The desk's column shows where it may move a tasking (a closed demarche's
        # taskings can still be reopened), whatever it may do to the demarche itself.
        desk_column=allows(user, Permission.MANAGE_TASKINGS),
        desk_actions=rules.desk_actions(d.status)
        if allows(user, Permission.WRITE_DEMARCHES)
        else [],
        issued=d.status == DemarcheStatus.ISSUED,
        is_draft=d.status == DemarcheStatus.DRAFT,
        today=today_utc(),
        error=error,
        notice=notice or DONE.get(done, ""),
        # This page as it stands, for the moves' forms to come back to.
        here=f"/demarches/{d.id}" + (f"?page={page}" if page > 1 else ""),
        destructive={t.action.value for t in TRANSITIONS if t.destructive},
        move_words={"extend": "Extend", "reopen": "Reopen…"},
        cancel_values=cancel_values or {},
        cancel_errors=cancel_errors or {},
    )


# -- writing one by hand ----------------------------------------------------------


def _new_form(
    request: Request,
    session: Session,
    *,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "demarches/new.html",
        status_code=status_code,
        banner=Classification.UNCLASSIFIED,
        form=form,
        errors=errors or {},
        classifications=list(Classification),
        precedences=[p.value for p in Precedence],
        **forms.choices(session),
    )


@router.get("/demarches/new", name="new_demarche")
def new_demarche(request: Request, session: SessionDep, user: PageDemarcheWriter) -> HTMLResponse:
    return _new_form(request, session, form={"classification": "UNCLASSIFIED"})


@router.post("/demarches/new", dependencies=[CsrfChecked])
def create_demarche(
    request: Request,
    session: SessionDep,
    user: PageDemarcheWriter,
    subject: Annotated[str, Form(max_length=300)] = "",
    summary: Annotated[str, Form(max_length=20_000)] = "",
    classification: Annotated[str, Form()] = "UNCLASSIFIED",
    precedence: Annotated[str, Form()] = "ROUTINE",
    deadline: Annotated[str, Form()] = "",
    delivery_level: Annotated[str, Form(max_length=200)] = "",
    tags: Annotated[str, Form(max_length=600)] = "",
    objectives: Annotated[str, Form(max_length=20_000)] = "",
    talking_points: Annotated[str, Form(max_length=100_000)] = "",
    key_dates: Annotated[str, Form(max_length=10_000)] = "",
    posts: Annotated[list[str] | None, Form()] = None,
    regions: Annotated[list[str] | None, Form()] = None,
    collectives: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form = {
        "subject": subject,
        "summary": summary,
        "classification": classification,
        "precedence": precedence,
        "deadline": deadline,
        "delivery_level": delivery_level,
        "tags": tags,
        "objectives": objectives,
        "talking_points": talking_points,
        "key_dates": key_dates,
        "posts": posts or [],
        "regions": regions or [],
        "collectives": collectives or [],
    }
    errors: dict[str, str] = {}
    dates, bad_date = forms.key_dates(key_dates)
    if bad_date:
        errors["key_dates"] = bad_date
    level = next((c for c in Classification if c.value == classification), None)
    codes = forms.expand_targets(session, posts or [], regions or [], collectives or [])
    summary_level, summary_text = forms.marked(summary.strip())
    raw = {
        "subject": subject,
        "summary": summary_text,
        "summary_classification": summary_level,
        "classification": classification,
        "precedence": precedence,
        "deadline": deadline or None,
        "delivery_level": delivery_level or None,
        "tags": [t for t in re.split(r"[\s,;]+", tags) if t],
        "objectives": forms.objectives(objectives),
        "talking_points": forms.points(talking_points, level or Classification.UNCLASSIFIED),
        "key_dates": dates,
        "targets": [{"post": c} for c in codes],
    }
    try:
        data = DemarcheIn.model_validate(raw)
    except ValidationError as exc:
        errors = {**field_errors(exc), **errors}
    if errors:
        return _new_form(request, session, form=form, errors=errors, status_code=422)
    try:
        demarche = service.create_draft(session, data, actor=user)
    except DomainError as exc:
        session.rollback()
        # A refusal names the input it is about (a portion's mark); else it is the targets'.
        field = str(exc.extra.get("field", "targets"))
        return _new_form(
            request, session, form=form, errors={field: exc.detail}, status_code=exc.status
        )
    return RedirectResponse(f"/demarches/{demarche.id}?done=created", status_code=303)


# -- reading one --------------------------------------------------------------------


@router.get("/demarches/{demarche_id}", name="show_demarche")
def show_demarche(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    page: PageNumber = 1,
    tl: PageNumber = 1,
) -> HTMLResponse:
    return show_page(request, session, settings, user, demarche_id, page=page, tl=tl)


# -- the desk's moves -------------------------------------------------------------


def _desk_move(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    demarche_id: int,
    version: int,
    done: str,
    move,
) -> Response:
    # 404 and 403 answer as an error page; a stale form shows the page again with why.
    d = guards.to_write(session, demarche_id, actor=user, route=request.url.path, skip_version=True)
    try:
        require_version("demarche", d, form_version=version)
    except DomainError as exc:
        return show_page(
            request, session, settings, user, demarche_id, status_code=exc.status, error=exc.detail
        )
    try:
        move(d)
        session.flush()
    except DomainError as exc:
        session.rollback()
        return show_page(
            request, session, settings, user, demarche_id, status_code=exc.status, error=exc.detail
        )
    return RedirectResponse(f"/demarches/{demarche_id}?done={done}", status_code=303)


Version = Annotated[int, Form()]
Reason = Annotated[str, Form(max_length=2000)]


@router.post("/demarches/{demarche_id}/issue", dependencies=[CsrfChecked])
def issue_demarche(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Version,
) -> Response:
    return _desk_move(
        request,
        session,
        settings,
        user,
        demarche_id,
        version,
        "issued",
        lambda d: service.issue(session, d, actor=user),
    )


@router.post("/demarches/{demarche_id}/cancel", dependencies=[CsrfChecked])
def cancel_demarche(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Version,
    reason: Reason = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    # 404 and 403 as an error page; then a stale form, the state, and what was typed
    # (the reason and the confirmation, both at once) beside the form.
    d = guards.to_write(session, demarche_id, actor=user, route=request.url.path, skip_version=True)
    values = {"reason": reason, "confirm": confirm}

    def again(status_code: int, *, error: str = "", errors: dict[str, str] | None = None):
        return show_page(
            request,
            session,
            settings,
            user,
            demarche_id,
            status_code=status_code,
            error=error,
            cancel_values=values,
            cancel_errors=errors,
        )

    try:
        require_version("demarche", d, form_version=version)
        move = rules.check(d, DemarcheAction.CANCEL)
    except DomainError as exc:
        return again(exc.status, error=exc.detail)
    errors = {}
    if not reason.strip():
        errors["reason"] = "Give a reason: every tasked post is shown it."
    if move.destructive and not confirm:
        errors["confirm"] = "Tick the box to confirm the cancellation."
    if errors:
        return again(422, errors=errors)
    try:
        service.cancel(session, d, actor=user, reason=reason.strip())
        session.flush()
    except DomainError as exc:
        session.rollback()
        return again(exc.status, error=exc.detail)
    return RedirectResponse(f"/demarches/{demarche_id}?done=cancelled", status_code=303)


@router.post("/demarches/{demarche_id}/close", dependencies=[CsrfChecked])
def close_demarche(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    version: Version,
    reason: Reason = "",
) -> Response:
    def move(d: Demarche) -> None:
        rules.check(d, DemarcheAction.CLOSE)  # the state (409) before what was typed (422)
        if not reason.strip():
            raise Invalid("Give a reason to close the demarche.")
        service.close(session, d, actor=user, reason=reason.strip())

    return _desk_move(request, session, settings, user, demarche_id, version, "closed", move)


# -- amending ----------------------------------------------------------------------

# The amendment's fields whose form input has another name.
AMEND_INPUTS = {"targets": "add_posts"}
AMEND_STALE = (
    "Someone else changed this demarche after you opened the form (you read version {read}; "
    "it is now version {now}). Nothing was saved: check its current text below, then send "
    "the amendment again."
)


def amend_page(
    request: Request,
    session: Session,
    user: User,
    demarche_id: int,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The amendment form beside the text it amends (a page of its own: with a checkbox
    per target it weighed on every view of the demarche)."""
    d = reads.sheet(session, demarche_id, actor=user, with_targets=True)
    if DemarcheAction.AMEND not in rules.desk_actions(d.status) and not error:
        status_code = 409
        error = f"Demarche {d.id} is {d.status}: only an issued demarche is amended."
    form = form or {}
    return render(
        request,
        "demarches/amend.html",
        status_code=status_code,
        d=d,
        banner=_banner(d),
        targets=d.targets or [],
        amendable=DemarcheAction.AMEND in rules.desk_actions(d.status),
        form=form,
        removed=set(form.get("remove", ())),
        errors=errors or {},
        error=error,
    )


@router.get("/demarches/{demarche_id}/amend", name="amend_form")
def amend_form(
    request: Request, demarche_id: RecordId, session: SessionDep, user: PageUser
) -> HTMLResponse:
    # The same order of refusals as the POST: 404 for a demarche out of sight, then 403.
    if not allows(user, Permission.WRITE_DEMARCHES):
        reads.require_visible(session, demarche_id, actor=user)
        require(user, Permission.WRITE_DEMARCHES, route=request.url.path)
    return amend_page(request, session, user, demarche_id)


@router.post("/demarches/{demarche_id}/amend", dependencies=[CsrfChecked])
def amend_demarche(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    user: PageUser,
    version: Version,
    reason: Reason = "",
    deadline: Annotated[str, Form()] = "",
    objectives: Annotated[str, Form(max_length=20_000)] = "",
    talking_points: Annotated[str, Form(max_length=100_000)] = "",
    add_posts: Annotated[str, Form(max_length=2_000)] = "",
    remove: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form = {
        "reason": reason,
        "deadline": deadline,
        "objectives": objectives,
        "talking_points": talking_points,
        "add_posts": add_posts,
        "remove": remove or [],
    }

    def again(status_code: int, **problems: Any) -> HTMLResponse:
        return amend_page(
            request, session, user, demarche_id, form=form, status_code=status_code, **problems
        )

    # 404 and 403 answer as an error page; a stale form or a demarche that is not
    # issued shows the form again with why.
    d = guards.to_write(session, demarche_id, actor=user, route=request.url.path, skip_version=True)
    try:
        require_version("demarche", d, form_version=version)
        rules.check(d, DemarcheAction.AMEND)
    except PreconditionFailed:
        return again(412, error=AMEND_STALE.format(read=version, now=d.version))
    except DomainError as exc:
        return again(exc.status, error=exc.detail)
    raw: dict[str, Any] = {"reason": reason, "deadline": deadline or None}
    if objectives.strip():
        raw["objectives"] = forms.objectives(objectives)
    if talking_points.strip():
        raw["talking_points"] = forms.points(talking_points, d.classification)
    added = [c for c in re.split(r"[\s,;]+", add_posts.upper()) if c]
    if added or remove:
        # The amendment's target list is the current one, less what was ticked, plus
        # the codes typed; the service cancels and creates taskings to match.
        dropped = set(remove or ())
        kept = [
            {
                "post": t.post.code,
                "role": t.role.value,
                "countries": [t.country],
                "due_date": t.due_date,
            }
            for t in d.targets
            if f"{t.post.code}|{t.country}" not in dropped
        ]
        raw["targets"] = kept + [{"post": code} for code in added]
    try:
        data = AmendIn.model_validate(raw)
    except ValidationError as exc:
        errors = {AMEND_INPUTS.get(k, k): v for k, v in field_errors(exc).items()}
        return again(422, errors=errors)
    try:
        amendments.amend(session, d, data, actor=user)
        session.flush()
    except DomainError as exc:
        session.rollback()
        return again(exc.status, error=exc.detail)
    return RedirectResponse(f"/demarches/{demarche_id}?done=amended", status_code=303)
