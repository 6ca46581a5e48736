"""Demarche pages: read one, write one by hand, and the desk's moves on it.

Thin adapters: each POST checks the version the form was read at (the page's
If-Match), calls the same service function as the API, and redirects; a refusal
re-renders the page with the reason.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import Permission, allows, require, sees_other_posts
from app.cables import drafting, matching, telegram
from app.classification import Classification, highest
from app.concurrency import require_version
from app.dashboards import queries
from app.dashboards.queries import Progress
from app.db import today_utc
from app.demarches import amendments, forms, guards, history, reads, rules, service
from app.demarches.models import Demarche, DemarcheStatus, PointUse
from app.demarches.rules import DemarcheAction
from app.demarches.schemas import AmendIn, DemarcheIn, DemarcheUpdate
from app.deps import SessionDep, SettingsDep
from app.errors import DomainError, Invalid, PreconditionFailed
from app.forms import field_errors, refusals
from app.limits import ID_MAX, PageNumber, RecordId
from app.settings import Settings
from app.taskings import reads as tasking_reads
from app.taskings.models import Position
from app.taskings.workflow import TRANSITIONS, moves_of
from app.vocabulary import Precedence, TaskingRole
from app.web import CsrfChecked, PageDemarcheWriter, PageUser, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = queries.PAGE_SIZE
DONE = {
    "created": "Draft saved. Check it, then issue it to the posts.",
    "saved": "Draft saved. Check it, then issue it to the posts.",
    "drafted": "Drafted from the cable. Correct it here beside the cable's text, then save.",
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
    if (
        not notice
        and moved.isascii()
        and moved.isdigit()
        and len(moved) < 12
        and int(moved) <= ID_MAX
    ):
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
        **_check(session, d, user),
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
    source_cable: Annotated[str, Form(max_length=40)] = "",
    posts: Annotated[list[str] | None, Form()] = None,
    regions: Annotated[list[str] | None, Form()] = None,
    collectives: Annotated[list[str] | None, Form()] = None,
) -> Response:
    form = {
        "source_cable": source_cable,
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
    cable_id, bad_cable = forms.source_cable(session, source_cable, actor=user)
    if bad_cable:
        errors["source_cable"] = bad_cable
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
        "source_cable_id": cable_id,
    }
    try:
        data = DemarcheIn.model_validate(raw)
    except ValidationError as exc:
        errors = {**field_errors(exc, forms.SAID), **errors}
    if errors:
        return _new_form(request, session, form=form, errors=errors, status_code=422)
    try:
        demarche = service.create_draft(session, data, actor=user)
    except DomainError as exc:
        session.rollback()
        # A refusal names the inputs it is about (a portion's mark); else it is the targets'.
        return _new_form(
            request,
            session,
            form=form,
            errors=_edit_inputs(refusals(exc, "targets")),
            status_code=exc.status,
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


@router.get("/demarches/{demarche_id}/cable.txt", name="instruction_cable")
def instruction_cable(demarche_id: RecordId, session: SessionDep, user: PageUser) -> Response:
    """The instruction cable as text, to download: withheld (403) from a reader who
    could not read every portion of it."""
    cable = telegram.instruction_cable(session, demarche_id, actor=user)
    return PlainTextResponse(
        cable.text,
        headers={"Content-Disposition": f'attachment; filename="{cable.filename}"'},
    )


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
        lambda d: (
            service.issue(session, d, actor=user),
            matching.rematch_demarche(session, d, actor=user),
        ),
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


def _refuse_as_the_post_would(
    request: Request, session: Session, user: User, demarche_id: int
) -> None:
    """A write form's GET refuses in the POST's order: 404 for a demarche out of sight,
    then 403 for a role that may not write demarches."""
    if not allows(user, Permission.WRITE_DEMARCHES):
        reads.require_visible(session, demarche_id, actor=user)
        require(user, Permission.WRITE_DEMARCHES, route=request.url.path)


@router.get("/demarches/{demarche_id}/amend", name="amend_form")
def amend_form(
    request: Request, demarche_id: RecordId, session: SessionDep, user: PageUser
) -> HTMLResponse:
    _refuse_as_the_post_would(request, session, user, demarche_id)
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
        errors = {AMEND_INPUTS.get(k, k): v for k, v in field_errors(exc, forms.SAID).items()}
        return again(422, errors=errors)
    try:
        amendments.amend(session, d, data, actor=user)
        matching.rematch_demarche(session, d, actor=user)
        session.flush()
    except DomainError as exc:
        session.rollback()
        return again(exc.status, error=exc.detail)
    return RedirectResponse(f"/demarches/{demarche_id}?done=amended", status_code=303)


# -- editing a draft, all of it ------------------------------------------------------

EDIT_STALE = (
    "Someone else changed this draft after you opened the form (you read version {read}; "
    "it is now version {now}). Nothing was saved: your changes are below; reload the page "
    "to see theirs, then make yours again."
)
BLANK_POINTS = 2  # empty rows under the points, to add new ones without JavaScript


def _edit_form(session: Session, d: reads.DemarcheSheet, user: User) -> dict[str, Any]:
    """The edit form filled from the draft as its editor may read it."""
    return {
        "subject": d.subject,
        "summary": d.summary,
        "summary_mark": d.summary_classification.value,
        "classification": d.classification.value,
        "precedence": d.precedence.value,
        "deadline": d.deadline.isoformat() if d.deadline else "",
        "delivery_level": d.delivery_level or "",
        "tags": " ".join(d.tags),
        "source_cable": forms.cable_ref(session, d.source_cable_id, actor=user),
        "objectives": forms.objective_lines(d.objectives),
        "key_dates": forms.key_date_lines(d.key_dates),
        "points": [
            {"text": p.text, "mark": p.classification.value, "use": p.use.value}
            for p in d.talking_points
        ],
        "targets": forms.rows_of_targets(d.targets or []),
        "add_posts": [],
        "add_role": "action",
    }


def edit_page(
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
    """The whole draft as a form, beside the cable it was drafted from (if any), with
    what still stops it being issued."""
    d = reads.sheet(session, demarche_id, actor=user, with_targets=True)
    editable = DemarcheAction.EDIT in rules.desk_actions(d.status)
    if not editable and not error:
        status_code = 409
        error = rules.BY_ACTION[DemarcheAction.EDIT].refusal.format(id=d.id, status=d.status.value)
    form = form or _edit_form(session, d, user)
    blank = {"text": "", "mark": "", "use": "private"}
    source = drafting.source_pane(session, d.source_cable_id, actor=user)
    return render(
        request,
        "demarches/edit.html",
        status_code=status_code,
        d=d,
        banner=highest([_banner(d), source.level if source else Classification.UNCLASSIFIED]),
        form=form,
        point_rows=form["points"] + [blank] * BLANK_POINTS,
        errors=errors or {},
        error=error,
        editable=editable,
        **_check(session, d, user),
        source=source,
        classifications=list(Classification),
        precedences=[p.value for p in Precedence],
        roles=[r.value for r in TaskingRole],
        uses=[u.value for u in PointUse],
        notice=DONE.get(request.query_params.get("done", ""), ""),
        **forms.choices(session),
    )


def _check(session: Session, d: reads.DemarcheSheet, user: User) -> dict[str, list[str]]:
    """What stops the saved draft being issued, and what it had better fix (the issue
    command's own check: app/demarches/completeness.py)."""
    if d.status != DemarcheStatus.DRAFT:
        return {"blockers": [], "cautions": []}
    found = service.check_draft(session, reads.load(session, d.id, actor=user), actor=user)
    return {
        "blockers": [e.message for e in found.errors],
        "cautions": [w.message for w in found.warnings],
    }


@router.get("/demarches/{demarche_id}/edit", name="edit_draft")
def edit_draft(
    request: Request, demarche_id: RecordId, session: SessionDep, user: PageUser
) -> HTMLResponse:
    _refuse_as_the_post_would(request, session, user, demarche_id)
    return edit_page(request, session, user, demarche_id)


@router.post("/demarches/{demarche_id}/edit", dependencies=[CsrfChecked])
def save_draft(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    user: PageUser,
    version: Version,
    subject: Annotated[str, Form(max_length=300)] = "",
    summary: Annotated[str | None, Form(max_length=20_000)] = None,
    summary_mark: Annotated[str, Form(max_length=20)] = "",
    classification: Annotated[str, Form(max_length=20)] = "",
    precedence: Annotated[str, Form(max_length=20)] = "",
    deadline: Annotated[str, Form(max_length=40)] = "",
    delivery_level: Annotated[str, Form(max_length=200)] = "",
    tags: Annotated[str, Form(max_length=600)] = "",
    source_cable: Annotated[str, Form(max_length=40)] = "",
    objectives: Annotated[str, Form(max_length=100_000)] = "",
    key_dates: Annotated[str, Form(max_length=20_000)] = "",
    point_text: Annotated[list[str] | None, Form()] = None,
    point_mark: Annotated[list[str] | None, Form()] = None,
    point_use: Annotated[list[str] | None, Form()] = None,
    target_post: Annotated[list[str] | None, Form()] = None,
    target_role: Annotated[list[str] | None, Form()] = None,
    target_due: Annotated[list[str] | None, Form()] = None,
    target_countries: Annotated[list[str] | None, Form()] = None,
    target_remove: Annotated[list[str] | None, Form()] = None,
    add_posts: Annotated[list[str] | None, Form()] = None,
    add_role: Annotated[str, Form(max_length=20)] = "action",
) -> Response:
    points = forms.point_rows(point_text or [], point_mark or [], point_use or [])
    rows = forms.target_rows(
        target_post or [],
        target_role or [],
        target_due or [],
        target_countries or [],
        set(target_remove or ()),
    )
    form: dict[str, Any] = {
        "subject": subject,
        "summary": summary or "",
        "summary_mark": summary_mark,
        "classification": classification,
        "precedence": precedence,
        "deadline": deadline,
        "delivery_level": delivery_level,
        "tags": tags,
        "source_cable": source_cable,
        "objectives": objectives,
        "key_dates": key_dates,
        "points": [p for p in points if p["text"].strip()],
        "targets": rows,
        "add_posts": add_posts or [],
        "add_role": add_role,
    }

    def again(status_code: int, **problems: Any) -> HTMLResponse:
        return edit_page(
            request, session, user, demarche_id, form=form, status_code=status_code, **problems
        )

    # 404 and 403 answer as an error page; a stale form, or a demarche that is no longer
    # a draft, shows the form again with why, and what was typed.
    d = guards.to_write(session, demarche_id, actor=user, route=request.url.path, skip_version=True)
    try:
        require_version("demarche", d, form_version=version)
        rules.check(d, DemarcheAction.EDIT)
    except PreconditionFailed:
        return again(412, error=EDIT_STALE.format(read=version, now=d.version))
    except DomainError as exc:
        return again(exc.status, error=exc.detail)
    errors: dict[str, str] = {}
    dates, bad_date = forms.key_dates(key_dates)
    if bad_date:
        errors["key_dates"] = bad_date
    # The reference as the form showed it leaves the link alone: a source the editor may not
    # read showed as blank, and is neither removed nor swapped for another copy of its ref.
    keep_source = source_cable.strip().upper() == forms.cable_ref(
        session, d.source_cable_id, actor=user
    )
    cable_id, bad_cable = (
        (d.source_cable_id, None)
        if keep_source
        else forms.source_cable(session, source_cable, actor=user)
    )
    if bad_cable:
        errors["source_cable"] = bad_cable
    level = forms.level_of(classification) or d.classification
    raw: dict[str, Any] = {
        "subject": subject,
        "classification": classification,
        "precedence": precedence,
        "deadline": deadline or None,
        "delivery_level": delivery_level or None,
        "tags": forms.tags(tags),
        "objectives": forms.objectives(objectives),
        "talking_points": [
            {**p, "classification": p["classification"] or level}
            for p in forms.points_from_rows(points)
        ],
        "key_dates": dates,
        "targets": forms.targets_from_rows(rows, add_posts or [], add_role),
    }
    if not bad_cable and not keep_source:
        raw["source_cable_id"] = cable_id
    # A summary withheld from its editor is not in their form: it stays as it is.
    if summary is not None:
        raw["summary"] = summary
        raw["summary_classification"] = forms.level_of(summary_mark) or level
    try:
        data = DemarcheUpdate.model_validate(raw)
    except ValidationError as exc:
        errors = {**field_errors(exc, forms.SAID), **errors}
    if errors:
        return again(422, errors=_edit_inputs(errors))
    try:
        service.update_draft(session, d, data, actor=user)
        session.flush()
    except DomainError as exc:
        session.rollback()
        return again(exc.status, errors=_edit_inputs(refusals(exc)))
    return RedirectResponse(f"/demarches/{demarche_id}?done=saved", status_code=303)


def _edit_inputs(errors: dict[str, str]) -> dict[str, str]:
    """Errors keyed by the edit form's inputs (the schema's names for some differ)."""
    names = {"source_cable_id": "source_cable", "summary_classification": "summary"}
    out: dict[str, str] = {}
    for k, v in errors.items():
        name = names.get(k, k)
        out[name] = f"{out[name]} {v}" if name in out else v
    return out


@router.get("/demarches/{demarche_id}/issue", include_in_schema=False)
@router.get("/demarches/{demarche_id}/cancel", include_in_schema=False)
@router.get("/demarches/{demarche_id}/close", include_in_schema=False)
def move_bookmark(demarche_id: RecordId, user: PageUser) -> RedirectResponse:
    """A bookmark or reload of a move's address: the demarche's page (which answers 404
    for one out of sight), not a bare 405."""
    return RedirectResponse(f"/demarches/{demarche_id}", status_code=303)
