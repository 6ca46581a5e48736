"""Read-only aggregates behind the pages: one query per table, never one per row.

Every query goes through the policy's visibility filters (visible_demarches,
visible_taskings), so a dashboard cannot show what the API would hide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    bindparam,
    case,
    exists,
    false,
    func,
    select,
)
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.auth.policy import Reader, own_post_only, visible_demarches, visible_taskings
from app.classification import Classification, highest
from app.db import UTCDateTime, today_utc
from app.demarches.models import (
    Demarche,
    DemarcheStatus,
    DemarcheTag,
    DemarcheTarget,
)
from app.posts.models import Post, Region
from app.search import reads as search_reads
from app.search.models import Kind
from app.settings import Settings
from app.taskings.models import Position, Response, Tasking, TaskingStatus
from app.taskings.overdue import overdue_clause, overdue_on, urgent_cutoff
from app.vocabulary import TaskingRole

PAGE_SIZE = 50

# The states a progress bar shows one by one; the rest are grouped as "other".
PROGRESS_STATES: tuple[TaskingStatus, ...] = (
    TaskingStatus.PENDING,
    TaskingStatus.ACKNOWLEDGED,
    TaskingStatus.DELIVERED,
    TaskingStatus.REPORTED,
    TaskingStatus.CLOSED,
    TaskingStatus.UNABLE,
)


@dataclass
class Progress:
    """ACTION taskings of one demarche counted by state, and how many are overdue."""

    counts: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def segments(self) -> list[tuple[str, int, float]]:
        """(state, count, percent) in workflow order, "other" last, zeros left out."""
        total = self.total or 1
        keys = [s.value for s in PROGRESS_STATES] + ["other"]
        return [
            (k, self.counts[k], 100 * self.counts[k] / total) for k in keys if self.counts.get(k)
        ]

    def add(self, status: TaskingStatus, n: int, late: int | None) -> None:
        key = status.value if status in PROGRESS_STATES else "other"
        self.counts[key] = self.counts.get(key, 0) + n
        self.overdue += int(late or 0)


def _tally(settings: Settings) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """A progress GROUP BY's counts: the taskings, and how many of them are overdue."""
    return func.count(), func.sum(case((overdue_clause(settings), 1), else_=0))


def progress_by_demarche(
    session: Session,
    ids: list[int],
    *,
    actor: User,
    settings: Settings,
    posts: Select[Any] | None = None,
) -> dict[int, Progress]:
    """One GROUP BY over the taskings of these demarches that the actor may see (of
    these posts only, when given: the home page filtered by region or post)."""
    out: dict[int, Progress] = {i: Progress() for i in ids}
    if not ids:
        return out
    stmt = select(Tasking.demarche_id, Tasking.status, *_tally(settings)).where(
        # ids are demarches the actor may see: only the post restriction is left.
        Tasking.demarche_id.in_(ids),
        Tasking.role == TaskingRole.ACTION,
        own_post_only(actor),
    )
    if posts is not None:
        stmt = stmt.where(Tasking.post_id.in_(posts))
    rows = session.execute(stmt.group_by(Tasking.demarche_id, Tasking.status)).all()
    for demarche_id, status, n, late in rows:
        out[demarche_id].add(status, n, late)
    return out


def demarche_tally(
    session: Session, demarche_id: int, *, actor: User, settings: Settings
) -> tuple[Progress, int]:
    """One demarche's progress bar (its action taskings) and how many of its taskings of
    any role the actor may see, from one GROUP BY. The demarche is visible already."""
    rows = session.execute(
        select(Tasking.role, Tasking.status, *_tally(settings))
        .where(Tasking.demarche_id == demarche_id, own_post_only(actor))
        .group_by(Tasking.role, Tasking.status)
    ).all()
    progress = Progress()
    for role, status, n, late in rows:
        if role == TaskingRole.ACTION:
            progress.add(status, n, late)
    return progress, sum(n for _, _, n, _ in rows)


# -- the outstanding demarches (home page) ----------------------------------------


@dataclass(frozen=True)
class HomeFilters:
    status: DemarcheStatus = DemarcheStatus.ISSUED
    region: Region | None = None
    tag: str | None = None
    post: str | None = None
    overdue: bool = False
    q: str = ""  # full text, as /search reads it

    def query(self) -> dict[str, str]:
        """The filters as URL parameters, for pagination links that keep them."""
        q: dict[str, str] = {"status": self.status.value}
        if self.q:
            q["q"] = self.q
        if self.region:
            q["region"] = self.region.value
        if self.tag:
            q["tag"] = self.tag
        if self.post:
            q["post"] = self.post
        if self.overdue:
            q["overdue"] = "1"
        return q


def filtered_posts(filters: HomeFilters) -> Select[Any] | None:
    """The posts the home page's region and post filters keep, or None for all of them:
    the same set narrows the demarches listed and the progress they show."""
    if not (filters.region or filters.post):
        return None
    posts = select(Post.id)
    if filters.region:
        posts = posts.where(Post.region == filters.region)
    if filters.post:
        posts = posts.where(Post.code == filters.post.upper())
    return posts


def _filtered(actor: User, filters: HomeFilters, settings: Settings) -> Select[Any]:
    stmt = select(Demarche).where(visible_demarches(actor), Demarche.status == filters.status)
    # The outer demarche is visible already: only the post restriction is left.
    targeted = select(Tasking.id).where(Tasking.demarche_id == Demarche.id, own_post_only(actor))
    posts = filtered_posts(filters)
    if posts is not None:
        # A draft has no taskings yet: match its chosen targets instead.
        stmt = stmt.where(
            exists(targeted.where(Tasking.post_id.in_(posts)))
            | exists(
                select(DemarcheTarget.id).where(
                    DemarcheTarget.demarche_id == Demarche.id, DemarcheTarget.post_id.in_(posts)
                )
            )
        )
    if filters.tag:
        stmt = stmt.where(
            exists(
                select(DemarcheTag.tag).where(
                    DemarcheTag.demarche_id == Demarche.id, DemarcheTag.tag == filters.tag.upper()
                )
            )
        )
    if filters.overdue:
        stmt = stmt.where(exists(targeted.where(overdue_clause(settings))))
    return stmt


@dataclass
class HomePage:
    demarches: list[Demarche]
    progress: dict[int, Progress]
    total: int
    page: int
    pages: int
    banner: Classification


def outstanding(
    session: Session, *, actor: User, filters: HomeFilters, settings: Settings, page: int = 1
) -> HomePage:
    """Open demarches the actor may see, soonest deadline first (undated last)."""
    stmt = _filtered(actor, filters, settings)
    params: dict[str, str] = {}
    if filters.q:
        dialect = session.get_bind().dialect.name
        found = search_reads.match_params(filters.q, dialect)
        # Through the search's own policy filter; a query of nothing matches nothing.
        stmt = stmt.where(
            Demarche.id.in_(search_reads.matching(actor, Kind.DEMARCHE, dialect))
            if found
            else false()
        )
        params = found or {}
    total = session.scalar(select(func.count()).select_from(stmt.subquery()), params) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = list(
        session.scalars(
            stmt.options(selectinload(Demarche.tag_rows))
            .order_by(Demarche.deadline.is_(None), Demarche.deadline, Demarche.id)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE),
            params,
        )
    )
    progress = progress_by_demarche(
        session,
        [d.id for d in rows],
        actor=actor,
        settings=settings,
        posts=filtered_posts(filters),
    )
    return HomePage(
        demarches=rows,
        progress=progress,
        total=total,
        page=page,
        pages=pages,
        banner=highest([d.classification for d in rows]),
    )


def filter_choices(
    session: Session, *, actor: User, status: DemarcheStatus = DemarcheStatus.ISSUED
) -> tuple[list[str], list[tuple[str, str]]]:
    """Tags on the visible demarches of the status shown, and the active posts, for the
    filter form's lists (ten years of every tag would be a long list and a slow query)."""
    tags = list(
        session.scalars(
            select(DemarcheTag.tag)
            .join(Demarche, Demarche.id == DemarcheTag.demarche_id)
            .where(visible_demarches(actor), Demarche.status == status)
            .distinct()
            .order_by(DemarcheTag.tag)
        )
    )
    posts = [
        (code, name)
        for code, name in session.execute(
            select(Post.code, Post.name).where(Post.active.is_(True)).order_by(Post.code)
        )
    ]
    return tags, posts


# -- responses by position (the chart) ----------------------------------------------


def responses_by_position(
    session: Session, demarche_id: int, *, actor: User
) -> list[tuple[Position, int]]:
    """Every position in order with its count (zeros kept, so the chart's axis is stable)."""
    stmt = _responses_by_position_statement(Reader.of(actor))
    counts = dict(session.execute(stmt, {"demarche_id": demarche_id}).all())
    return [(p, int(counts.get(p, 0))) for p in Position]


@lru_cache(maxsize=256)
def _responses_by_position_statement(reader: Reader) -> Select[Position, int]:
    # Built once per kind of reader: the demarche page asks on every view.
    return (
        select(Response.position, func.count())
        .join(Tasking, Tasking.id == Response.tasking_id)
        .where(Tasking.demarche_id == bindparam("demarche_id"), visible_taskings(reader))
        .group_by(Response.position)
    )


# -- the overdue board --------------------------------------------------------------

BUCKETS: tuple[tuple[int, str], ...] = ((1, "b1"), (4, "b2"), (8, "b3"), (15, "b4"))


def bucket(days: int) -> str:
    """A shading class for days late: b0 (urgent, not yet late) to b4 (15 days or more)."""
    name = "b0"
    for floor, cls in BUCKETS:
        if days >= floor:
            name = cls
    return name


class Cell(NamedTuple):
    days: int  # days late (0: urgent, not yet acknowledged)
    shade: str
    tasking_id: int


@dataclass
class BoardRow:
    """One post's line, or one country's when the post covers several (each its own
    taskings, so each its own cells)."""

    code: str
    name: str
    region: str
    country: str
    post_country: str
    cells: dict[int, Cell]  # demarche id -> the tasking late on it
    # The row's cells in the board's column order, or None: filled in for the rows
    # shown, so the page writes each of its thousands of cells by position.
    line: list[Cell | None] = field(default_factory=list)

    @property
    def worst(self) -> int:
        return max((c.days for c in self.cells.values()), default=0)

    @property
    def label(self) -> str:
        return self.code if self.country == self.post_country else f"{self.code} for {self.country}"


@dataclass
class RegionTotal:
    """A region's totals on the board sorted by region, over every page of it."""

    region: str
    posts: int
    taskings: int
    worst: int
    by_column: list[int]  # overdue taskings per column, in the board's column order


@dataclass
class Board:
    columns: list[tuple[int, str, date | None]]  # demarche id, subject, deadline
    rows: list[BoardRow]
    total_rows: int
    page: int
    pages: int
    banner: Classification
    # Sorted by region: each region's totals, by region code.
    regions: dict[str, RegionTotal] = field(default_factory=dict)


def overdue_board(
    session: Session, *, actor: User, settings: Settings, sort: str = "worst", page: int = 1
) -> Board:
    """Posts x open demarches, each cell one overdue tasking and its days late."""
    today = today_utc()
    # Two steps on purpose: the open demarches first (a few hundred, by the status
    # index), then their taskings by demarche id. In one query the planner chose to
    # read every pending tasking of ten years (about 40 ms; 230 ms on SQLite).
    open_demarches = {
        d_id: (subject, deadline, level)
        for d_id, subject, deadline, level in session.execute(
            select(Demarche.id, Demarche.subject, Demarche.deadline, Demarche.classification).where(
                visible_demarches(actor), Demarche.status == DemarcheStatus.ISSUED
            )
        )
    }
    # The ids written into the SQL as numbers: as a few hundred bound parameters each,
    # converting the statement's placeholders cost the driver more (2.5 ms) than the
    # query. They are integers the database just returned, so nothing to escape. Today
    # and the urgent cut-off are written in too: the driver prepares a statement it
    # sees often, and PostgreSQL's generic plan for it, blind to how few taskings fall
    # due before a parameter, read twice as much (3.3 -> 7 ms from the tenth view on).
    ids = bindparam("open_ids", list(open_demarches), Integer, expanding=True, literal_execute=True)
    # A cell is one tasking: a post covering several countries has one per country, on
    # a row of its own. Only ids come back; the texts are read once each.
    found = session.execute(
        select(Tasking.id, Tasking.post_id, Tasking.country, Tasking.demarche_id, Tasking.due_date)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .where(
            Tasking.demarche_id.in_(ids),
            Demarche.id.in_(ids),  # lets the join read the demarches by key too
            own_post_only(actor),
            overdue_on(
                bindparam("today", today, Date, literal_execute=True),
                bindparam("cutoff", urgent_cutoff(settings), UTCDateTime(), literal_execute=True),
                demarche_joined=True,
            ),
        )
    ).all()
    posts = {
        post_id: (code, name, region, country)
        for post_id, code, name, region, country in session.execute(
            select(Post.id, Post.code, Post.name, Post.region, Post.country).where(
                Post.id.in_(
                    bindparam(
                        "post_ids",
                        list({row.post_id for row in found}),
                        Integer,
                        expanding=True,
                        literal_execute=True,  # as the demarche ids: a few hundred
                    )
                )
            )
        )
    }
    by_line: dict[tuple[int, str], BoardRow] = {}
    for tasking_id, post_id, country, d_id, due in found:
        row = by_line.get((post_id, country))
        if row is None:
            code, name, region, post_country = posts[post_id]
            row = by_line[(post_id, country)] = BoardRow(
                code, name, region.value, country, post_country, {}
            )
        days = (today - due).days if due and due < today else 0
        row.cells[d_id] = Cell(days, bucket(days), tasking_id)
    ordered = list(by_line.values())
    if sort == "region":
        ordered.sort(key=lambda r: (r.region, r.code, r.country))
    else:
        ordered.sort(key=lambda r: (-r.worst, -len(r.cells), r.code, r.country))
    total = len(ordered)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown_ids = {row.demarche_id for row in found}
    columns = sorted(
        ((d_id, *open_demarches[d_id][:2]) for d_id in shown_ids),
        key=lambda c: (c[2] is None, c[2] or today, c[0]),
    )
    rows = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    column_ids = [d_id for d_id, _, _ in columns]
    for row in rows:
        row.line = [row.cells.get(d_id) for d_id in column_ids]
    return Board(
        columns=columns,
        rows=rows,
        total_rows=total,
        page=page,
        pages=pages,
        banner=highest([open_demarches[d_id][2] for d_id in shown_ids]),
        regions=_region_totals(ordered, column_ids) if sort == "region" else {},
    )


def _region_totals(rows: list[BoardRow], column_ids: list[int]) -> dict[str, RegionTotal]:
    """Each region's posts, overdue taskings and worst, and its count per column."""
    out: dict[str, RegionTotal] = {}
    seen: dict[str, set[str]] = {}
    at = {d_id: i for i, d_id in enumerate(column_ids)}
    for row in rows:
        total = out.get(row.region)
        if total is None:
            total = out[row.region] = RegionTotal(row.region, 0, 0, 0, [0] * len(column_ids))
            seen[row.region] = set()
        seen[row.region].add(row.code)
        total.posts = len(seen[row.region])
        total.taskings += len(row.cells)
        total.worst = max(total.worst, row.worst)
        for d_id in row.cells:
            total.by_column[at[d_id]] += 1
    return out
