"""The results roll-up of a demarche: the one reader that its page, its API answer and
its CSV and XLSX exports all read, so none of them can show what another would hide.

One row per action target (post and country): the tasking's state, its latest
delivery (when, by whom, to whom, how, which points), the latest response's position,
its key sentence and commitments. Grouped by region with totals per position; the
targets not yet delivered to are listed apart. Info addressees deliver nothing and are
left out.

What the reader sees goes through the policy: the demarche through sheet() (404 when
out of sight), the taskings through own_post_only (a post officer rolls up their own
post's work only: policy.sees_other_posts), and a response's portions marked above the
reader's clearance through the one withholding rule, as the demarche's own portions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.policy import own_post_only, sees_other_posts, withhold
from app.classification import Classification, from_marking, highest
from app.dashboards.schemas import (
    CommitmentLine,
    ObjectiveTallyOut,
    RegionTotalOut,
    ResultRowOut,
    ResultsOut,
)
from app.db import today_utc
from app.demarches.reads import DemarcheSheet, ObjectiveLine, sheet
from app.errors import Invalid
from app.posts.models import Post, Region
from app.taskings.models import (
    FINISHED,
    Commitment,
    CommitmentStatus,
    Delivery,
    DeliveryLevel,
    DeliveryMethod,
    ObjectiveStance,
    Position,
    Response,
    Stance,
    Tasking,
    TaskingStatus,
    days_late,
)
from app.vocabulary import TaskingRole

# Sort keys; a leading "-" reverses. Ties fall back to post then country.
SORTS = ("post", "country", "region", "position", "delivered")
NO_RESPONSE = "none"  # the position filter's word for "no response yet"
KEY_SENTENCE_MAX = 300


class ResultRow(NamedTuple):
    tasking_id: int
    post: str
    post_name: str
    country: str
    region: Region
    status: TaskingStatus
    due_date: date | None
    days_late: int
    delivered_on: date | None
    delivered_by: str | None
    recipient_name: str | None
    recipient_title: str | None
    recipient_office: str | None
    level: DeliveryLevel | None
    method: DeliveryMethod | None
    points: list[int]
    position: Position | None
    key_sentence: str | None
    summary: str | None
    summary_withheld: bool
    commitments: list[tuple[str, date | None, CommitmentStatus]]
    # By objective position: the objectives the reader may read only.
    stances: dict[int, Stance]

    @property
    def outstanding(self) -> bool:
        """Not yet delivered to, and still expected to be."""
        return self.delivered_on is None and self.status not in FINISHED


@dataclass
class RegionTotal:
    region: Region | None  # None: every region
    targets: int = 0
    delivered: int = 0
    outstanding: int = 0
    positions: dict[str, int] = field(
        default_factory=lambda: {p.value: 0 for p in Position} | {NO_RESPONSE: 0}
    )

    def add(self, row: ResultRow) -> None:
        self.targets += 1
        self.delivered += row.delivered_on is not None
        self.outstanding += row.outstanding
        self.positions[row.position.value if row.position else NO_RESPONSE] += 1


NOT_SAID = "not_said"  # the tally's word for a target whose response has no stance on it


@dataclass
class ObjectiveTally:
    """One objective the reader may read, and how the targets shown answered it."""

    objective: ObjectiveLine
    counts: dict[str, int] = field(
        default_factory=lambda: {s.value: 0 for s in Stance} | {NOT_SAID: 0}
    )


@dataclass(frozen=True, slots=True)
class ResultFilters:
    region: Region | None = None
    position: str | None = None  # a Position's value, or NO_RESPONSE
    status: TaskingStatus | None = None

    def query(self) -> dict[str, str]:
        """The filters as a page's query string keeps them."""
        given = {"region": self.region, "position": self.position, "status": self.status}
        return {k: str(v) for k, v in given.items() if v}


@dataclass(frozen=True, slots=True)
class Rollup:
    demarche: DemarcheSheet
    banner: Classification
    rows: list[ResultRow]  # delivered to, or finished without a delivery
    outstanding: list[ResultRow]
    regions: list[RegionTotal]
    totals: RegionTotal
    all_posts: bool
    sort: str
    filters: ResultFilters
    tally: list[ObjectiveTally]  # the objectives the reader may read, in order
    withheld_objectives: int  # how many are above their clearance (no column, no count)

    def groups(self) -> list[tuple[RegionTotal, list[ResultRow]]]:
        """The rows by region, in the regions' order, each with its totals."""
        return [(t, [r for r in self.rows if r.region == t.region]) for t in self.regions]


def choice(name: str, value: str, allowed: Iterable[str]) -> str | None:
    """An unknown value is refused, never ignored: a filter that silently does nothing
    would hand the desk the wrong count."""
    if not value:
        return None
    words = list(allowed)
    if value not in words:
        raise Invalid(
            f"Unknown {name} {value!r}: use one of {', '.join(words)}.",
            errors=[{"field": f"query.{name}", "message": f"one of {', '.join(words)}"}],
        )
    return value


def parse_filters(*, region: str = "", position: str = "", status: str = "") -> ResultFilters:
    r = choice("region", region, [x.value for x in Region])
    s = choice("status", status, [x.value for x in TaskingStatus])
    return ResultFilters(
        region=Region(r) if r else None,
        position=choice("position", position, [p.value for p in Position] + [NO_RESPONSE]),
        status=TaskingStatus(s) if s else None,
    )


def parse_sort(sort: str) -> str:
    choice("sort", sort.removeprefix("-"), SORTS)
    return sort or "post"


# -- a response's marked portions --------------------------------------------------

# A portion mark opening a paragraph or sentence: "(C) They will vote yes."
_MARK = re.compile(r"\((TS|S|C|SBU|U)(?://[A-Z ,/-]{1,40})?\)\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class Portion(NamedTuple):
    mark: Classification
    text: str


def _level(mark: str) -> Classification:
    # TOP SECRET is above every clearance we grant: it never reads lower than SECRET.
    return Classification.SECRET if mark.startswith("TS") else from_marking(mark)


def portions(summary: str, unmarked: Classification) -> list[Portion]:
    """A response's text cut at its portion marks; text before the first mark carries
    the demarche's own classification (the response is part of its record)."""
    out: list[Portion] = []
    pos, mark = 0, unmarked
    for m in _MARK.finditer(summary):
        if summary[pos : m.start()].strip():
            out.append(Portion(mark, summary[pos : m.start()].strip()))
        pos, mark = m.start(), _level(m.group(1))
        # The mark stays in the text, as a cable quotes it.
    if summary[pos:].strip():
        out.append(Portion(mark, summary[pos:].strip()))
    return out


def key_sentence(text: str) -> str:
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    return first if len(first) <= KEY_SENTENCE_MAX else first[: KEY_SENTENCE_MAX - 1] + "\u2026"


# -- the reader --------------------------------------------------------------------


def _sort_key(name: str):
    positions = list(Position)

    def key(r: ResultRow):
        tie = (r.post, r.country)
        match name:
            case "country":
                return (r.country, r.post)
            case "region":
                return (r.region.value, *tie)
            case "position":
                rank = positions.index(r.position) if r.position else len(positions)
                return (rank, *tie)
            case "delivered":
                return (r.delivered_on is None, r.delivered_on or date.min, *tie)
        return tie

    return key


def rollup(
    session: Session,
    demarche_id: int,
    *,
    actor: User,
    sort: str = "post",
    filters: ResultFilters | None = None,
) -> Rollup:
    """The roll-up of this demarche as this actor may see it; 404 as for a missing id
    when the demarche is out of their sight. Four statements whatever its size."""
    filters = filters or ResultFilters()
    sort = parse_sort(sort)
    d = sheet(session, demarche_id, actor=actor)
    stmt = (
        select(
            Tasking.id,
            Post.code,
            Post.name,
            Tasking.country,
            Post.region,
            Tasking.status,
            Tasking.due_date,
        )
        .join(Post, Post.id == Tasking.post_id)
        .where(
            # The demarche is visible (sheet() found it): only the post restriction is left.
            Tasking.demarche_id == d.id,
            Tasking.role == TaskingRole.ACTION,
            own_post_only(actor),
        )
    )
    if filters.region:
        stmt = stmt.where(Post.region == filters.region)
    if filters.status:
        stmt = stmt.where(Tasking.status == filters.status)
    taskings = session.execute(stmt).all()
    ids = [t.id for t in taskings]

    deliveries: dict[int, Delivery] = {}
    responses: dict[int, Response] = {}
    commitments: dict[int, list[tuple[str, date | None, CommitmentStatus]]] = {}
    stances: dict[int, dict[int, Stance]] = {}
    # A stance on an objective withheld from the reader is withheld with it.
    readable_objectives = {o.position for o in d.objectives}
    if ids:
        # The latest delivery of each: the last by day, then by entry.
        for delivery in session.scalars(
            select(Delivery)
            .where(Delivery.tasking_id.in_(ids))
            .order_by(Delivery.delivered_on, Delivery.id)
        ):
            deliveries[delivery.tasking_id] = delivery
        latest = (
            select(func.max(Response.id))
            .where(Response.tasking_id.in_(ids))
            .group_by(Response.tasking_id)
        )
        for response in session.scalars(select(Response).where(Response.id.in_(latest))):
            responses[response.tasking_id] = response
        for tasking_id, text, due, status in session.execute(
            select(Response.tasking_id, Commitment.text, Commitment.due_date, Commitment.status)
            .join(Response, Response.id == Commitment.response_id)
            .where(Commitment.response_id.in_(latest))
            .order_by(Commitment.due_date.is_(None), Commitment.due_date, Commitment.id)
        ):
            commitments.setdefault(tasking_id, []).append((text, due, status))
        for tasking_id, at, stance in session.execute(
            select(Response.tasking_id, ObjectiveStance.objective_position, ObjectiveStance.stance)
            .join(Response, Response.id == ObjectiveStance.response_id)
            .where(ObjectiveStance.response_id.in_(latest))
        ):
            stances.setdefault(tasking_id, {})[at] = stance

    today = today_utc()
    marks: list[Classification] = list(d.marks)
    rows: list[ResultRow] = []
    for t in taskings:
        dl = deliveries.get(t.id)
        rs = responses.get(t.id)
        summary, key, withheld = None, None, False
        if rs is not None:
            readable, hidden = withhold(
                actor, portions(rs.summary, d.classification), lambda p: p.mark
            )
            marks += [p.mark for p in readable]
            summary = " ".join(p.text for p in readable)
            key = key_sentence(summary) if summary else None
            withheld = bool(hidden)
        rows.append(
            ResultRow(
                tasking_id=t.id,
                post=t.code,
                post_name=t.name,
                country=t.country,
                region=t.region,
                status=t.status,
                due_date=t.due_date,
                days_late=days_late(TaskingRole.ACTION, t.status, t.due_date, today),
                delivered_on=dl.delivered_on if dl else None,
                delivered_by=dl.delivered_by if dl else None,
                recipient_name=dl.recipient_name if dl else None,
                recipient_title=dl.recipient_title if dl else None,
                recipient_office=dl.recipient_office if dl else None,
                level=dl.level if dl else None,
                method=dl.method if dl else None,
                points=sorted(dl.points or []) if dl else [],
                position=rs.position if rs else None,
                key_sentence=key,
                summary=summary,
                summary_withheld=withheld,
                commitments=commitments.get(t.id, []),
                stances={
                    at: stance
                    for at, stance in sorted(stances.get(t.id, {}).items())
                    if at in readable_objectives
                },
            )
        )
    if filters.position:
        rows = [r for r in rows if (r.position or NO_RESPONSE) == filters.position]
    rows.sort(key=_sort_key(sort.removeprefix("-")), reverse=sort.startswith("-"))

    totals = RegionTotal(None)
    by_region: dict[Region, RegionTotal] = {}
    for r in rows:
        totals.add(r)
        by_region.setdefault(r.region, RegionTotal(r.region)).add(r)
    tally = [ObjectiveTally(o) for o in d.objectives]
    for r in rows:
        for objective in tally:
            said = r.stances.get(objective.objective.position)
            objective.counts[said.value if said else NOT_SAID] += 1
    order = list(Region)
    return Rollup(
        demarche=d,
        banner=highest(marks),
        rows=[r for r in rows if not r.outstanding],
        outstanding=[r for r in rows if r.outstanding],
        regions=sorted(by_region.values(), key=lambda g: order.index(g.region)),  # type: ignore[arg-type]
        totals=totals,
        all_posts=sees_other_posts(actor),
        sort=sort,
        filters=filters,
        tally=tally,
        withheld_objectives=len(d.withheld_objectives),
    )


def to_out(r: Rollup) -> ResultsOut:
    def row(x: ResultRow) -> ResultRowOut:
        return ResultRowOut(
            **x._asdict()
            | {
                "commitments": [
                    CommitmentLine(text=text, due_date=due, status=status)
                    for text, due, status in x.commitments
                ],
                "stances": {str(at): stance for at, stance in x.stances.items()},
            }
        )

    def total(t: RegionTotal) -> RegionTotalOut:
        return RegionTotalOut(
            region=t.region,
            targets=t.targets,
            delivered=t.delivered,
            outstanding=t.outstanding,
            positions=t.positions,
        )

    return ResultsOut(
        demarche_id=r.demarche.id,
        subject=r.demarche.subject,
        classification=r.banner,
        all_posts=r.all_posts,
        sort=r.sort,
        rows=[row(x) for x in r.rows],
        outstanding=[row(x) for x in r.outstanding],
        regions=[total(t) for t in r.regions],
        totals=total(r.totals),
        objectives=[
            ObjectiveTallyOut(
                position=t.objective.position,
                text=t.objective.text,
                classification=t.objective.classification,
                counts=t.counts,
            )
            for t in r.tally
        ],
        withheld_objectives=r.withheld_objectives,
    )
