"""Dashboard pages: outstanding demarches (the home page), the overdue board, and a
demarche's results roll-up."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth.policy import Permission, allows, sees_other_posts
from app.dashboards import calendar, exports, queries, results, service
from app.db import today_utc
from app.demarches import listing
from app.demarches.models import DemarcheStatus
from app.deps import SessionDep, SettingsDep
from app.errors import NotFound
from app.limits import PageNumber, QueryId, QueryText, RecordId
from app.notifications import service as notifications
from app.posts.models import Region
from app.taskings import reads as tasking_reads
from app.taskings.models import Position, Stance, TaskingStatus
from app.web import CsrfChecked, PageUser, render

router = APIRouter(include_in_schema=False)


def _enum_or_none(enum_cls, value: str | None):
    # A hand-edited or stale bookmark must not break the page: unknown values are ignored.
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


@router.get("/", name="home")
def home(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    status: QueryText = "",
    region: QueryText = "",
    tag: QueryText = "",
    post: QueryText = "",
    overdue: QueryText = "",
    q: QueryText = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    filters = queries.HomeFilters(
        status=_enum_or_none(DemarcheStatus, status) or DemarcheStatus.ISSUED,
        region=_enum_or_none(Region, region),
        tag=tag.strip()[:16].upper() or None,
        post=post.strip()[:32].upper() or None,
        overdue=overdue in ("1", "on", "true"),
        q=q.strip(),
    )
    result = queries.outstanding(session, actor=user, filters=filters, settings=settings, page=page)
    # A draft has no taskings: the list says what it targets instead of a progress bar.
    drafts = listing.target_counts(
        session,
        [d.id for d in result.demarches if d.status == DemarcheStatus.DRAFT]
        if sees_other_posts(user)
        else [],
    )
    tags, posts = queries.filter_choices(session, actor=user, status=filters.status)
    return render(
        request,
        "dashboards/home.html",
        banner=result.banner,
        result=result,
        filters=filters,
        heading="Outstanding demarches"
        if filters.status == DemarcheStatus.ISSUED
        else f"{filters.status.capitalize()} demarches",
        statuses=list(DemarcheStatus),
        regions=list(Region),
        tags=tags,
        posts=posts,
        today=today_utc(),
        drafts=drafts,
        # A post's bars count its own taskings only (policy.sees_other_posts): say so.
        all_posts=sees_other_posts(user),
        # The bars count the filtered posts only: the column says which.
        narrowed=" ".join(x for x in (filters.region, filters.post) if x),
    )


@router.get("/overdue", name="overdue_board")
def overdue_board(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    sort: QueryText = "worst",
    page: PageNumber = 1,
    done: QueryText = "",
    moved: QueryId = None,
    reminded: QueryText = "",
) -> HTMLResponse:
    sort = sort if sort in ("worst", "region") else "worst"
    board = queries.overdue_board(session, actor=user, settings=settings, sort=sort, page=page)
    return render(
        request,
        "dashboards/overdue.html",
        banner=board.banner,
        board=board,
        sort=sort,
        # Back from a desk move made from a cell: which post, and what changed.
        notice=tasking_reads.notice_for(session, moved, done, actor=user, settings=settings)
        if moved
        else _reminded(reminded),
        may_remind=allows(user, Permission.MANAGE_TASKINGS),
    )


def _link(base: str, rollup: results.Rollup, changed: dict[str, str]) -> str:
    """This roll-up's address with its filters and sort kept, and these changed."""
    params = rollup.filters.query() | {"sort": rollup.sort} | changed
    if params.get("sort") == "post":
        del params["sort"]  # the default
    return base + ("?" + urlencode(sorted(params.items())) if params else "")


@router.get("/demarches/{demarche_id}/results", name="demarche_results")
def demarche_results(
    request: Request,
    demarche_id: RecordId,
    session: SessionDep,
    user: PageUser,
    sort: QueryText = "post",
    region: QueryText = "",
    position: QueryText = "",
    status: QueryText = "",
    format: QueryText = "",
) -> Response:
    # Unlike the home page's, an unknown filter here is refused (422): a roll-up that
    # quietly ignored one would hand the desk the wrong count.
    rollup = results.rollup(
        session,
        demarche_id,
        actor=user,
        sort=sort,
        filters=results.parse_filters(region=region, position=position, status=status),
    )
    # The downloads are this page's own (a browser sends no bearer token to the API).
    if format:
        return exports.download(rollup, format)
    base = f"/demarches/{rollup.demarche.id}/results"
    return render(
        request,
        "dashboards/results.html",
        banner=rollup.banner,
        r=rollup,
        positions=list(Position),
        regions=list(Region),
        statuses=list(TaskingStatus),
        sorts=results.SORTS,
        no_response=results.NO_RESPONSE,
        stances=list(Stance),
        not_said=results.NOT_SAID,
        query=rollup.filters.query(),
        base=base,
        here=lambda **changed: _link(base, rollup, changed),
    )


# -- the calendar feed ------------------------------------------------------------

FeedSecret = Annotated[str, Path(max_length=64)]


@router.get("/calendar", name="calendar")
def calendar_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    return render(request, "dashboards/calendar.html", has_feed=calendar.has_feed(session, user))


@router.post("/calendar/rotate", dependencies=[CsrfChecked])
def rotate_calendar(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    # The address is shown once, here: only its digest is kept.
    secret = service.rotate_feed(session, user)
    return render(
        request,
        "dashboards/calendar.html",
        has_feed=True,
        feed_url=str(request.url_for("calendar_feed", secret=secret)),
    )


@router.get("/calendar/{secret}.ics", name="calendar_feed")
def calendar_feed(secret: FeedSecret, session: SessionDep) -> Response:
    """No session and no token: the secret in the address is the credential, and an
    unknown, rotated or deactivated one answers 404 like any missing page."""
    owner = calendar.owner(session, secret)
    if owner is None:
        raise NotFound("No such calendar feed.")
    return Response(
        calendar.feed(session, owner),
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, no-store"},
    )


def _reminded(said: str) -> str:
    """Back from "Remind post": what was sent ("HANOI:2:1", from the redirect)."""
    code, _, counts = said.partition(":")
    sent, _, skipped = counts.partition(":")
    if not (code and sent.isdigit() and skipped.isdigit()):
        return ""
    out = f"{code[:32]}: {sent} overdue tasking{'' if sent == '1' else 's'} reminded."
    if skipped != "0":
        out += f" {skipped} already reminded today (at most once a day)."
    return out


@router.post("/overdue/remind", dependencies=[CsrfChecked])
def remind_post(
    session: SessionDep,
    user: PageUser,
    post: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    """The desk reminds a post of its overdue taskings (at most once a day each)."""
    sent, skipped = notifications.remind_post(session, post.strip().upper(), actor=user)
    said = quote(f"{post.strip().upper()}:{sent}:{skipped}")
    return RedirectResponse(f"/overdue?reminded={said}", status_code=303)
