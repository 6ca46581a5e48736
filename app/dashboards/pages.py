"""Dashboard pages: outstanding demarches (the home page) and the overdue board."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.auth.policy import sees_other_posts
from app.dashboards import queries
from app.db import today_utc
from app.demarches import listing
from app.demarches.models import DemarcheStatus
from app.deps import SessionDep, SettingsDep
from app.limits import PageNumber, QueryId, QueryText
from app.posts.models import Region
from app.taskings import reads as tasking_reads
from app.web import PageUser, render

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
        else "",
    )
