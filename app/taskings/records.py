"""The one reader of a tasking's records: responses, commitments, and the talking points
a delivery may name. Each load answers 404 for a record its reader may not see, as for
a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.auth.policy import visible_taskings, withhold
from app.cables.models import Cable
from app.classification import Classification
from app.clock import local_date, local_today
from app.db import today_utc
from app.demarches.models import Demarche, TalkingPoint
from app.demarches.reads import DemarcheSheet
from app.errors import NotFound
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Post
from app.taskings.models import Commitment, CommitmentStatus, Response, Tasking
from app.taskings.overdue import commitment_overdue, commitment_overdue_on
from app.taskings.schemas import CommitmentRow, ResponseOut


def load_response(session: Session, response_id: int, *, actor: User) -> Response:
    response = session.scalar(
        select(Response)
        .join(Tasking, Tasking.id == Response.tasking_id)
        .where(Response.id == response_id, visible_taskings(actor))
        .options(selectinload(Response.commitments), selectinload(Response.revisions))
    )
    if response is None:
        raise NotFound(f"No response {response_id}.")
    return response


def response_out(response: Response) -> ResponseOut:
    return ResponseOut.model_validate(response)


def load_commitment(session: Session, commitment_id: int, *, actor: User) -> Commitment:
    c = session.scalar(
        select(Commitment)
        .join(Response, Response.id == Commitment.response_id)
        .join(Tasking, Tasking.id == Response.tasking_id)
        .where(Commitment.id == commitment_id, visible_taskings(actor))
    )
    if c is None:
        raise NotFound(f"No commitment {commitment_id}.")
    return c


def commitment_row(c: Commitment, tasking: Tasking, post_code: str, today: date) -> CommitmentRow:
    return CommitmentRow(
        id=c.id,
        text=c.text,
        due_date=c.due_date,
        status=c.status,
        version=c.version,
        tasking_id=tasking.id,
        demarche_id=tasking.demarche_id,
        post=post_code,
        overdue=commitment_overdue(c.status, c.due_date, today),
    )


def commitment_out(c: Commitment) -> CommitmentRow:
    tasking = c.response.tasking
    return commitment_row(c, tasking, tasking.post.code, today_utc())


def list_commitments(
    session: Session,
    *,
    actor: User,
    status: CommitmentStatus | None,
    overdue: bool | None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[CommitmentRow], str | None]:
    """Commitments on taskings this actor sees, soonest due first (undated last), a page
    at a time."""
    today = today_utc()
    undated = Commitment.due_date.is_(None)
    stmt = (
        select(Commitment, Tasking, Post.code)
        .join(Response, Response.id == Commitment.response_id)
        .join(Tasking, Tasking.id == Response.tasking_id)
        .join(Post, Post.id == Tasking.post_id)
        .where(visible_taskings(actor))
    )
    if status:
        stmt = stmt.where(Commitment.status == status)
    if overdue is not None:
        late = commitment_overdue_on(today)
        stmt = stmt.where(late if overdue else ~late)
    if cursor:
        due, last_id = decode_cursor(cursor, date, int)
        if due is None:
            stmt = stmt.where(undated, Commitment.id > last_id)
        else:
            stmt = stmt.where(
                or_(
                    Commitment.due_date > due,
                    and_(Commitment.due_date == due, Commitment.id > last_id),
                    undated,
                )
            )
    rows = session.execute(
        stmt.order_by(undated, Commitment.due_date, Commitment.id).limit(limit + 1)
    ).all()
    page = [commitment_row(c, t, code, today) for c, t, code in rows[:limit]]
    last = page[-1] if page else None
    more = len(rows) > limit and last is not None
    return page, encode_cursor(last.due_date, last.id) if more and last else None


@dataclass(frozen=True)
class PointChoice:
    """A talking point as the delivery form offers it: its number always, its text only
    if the reader is cleared for it (a post ticks what it delivered, read or not)."""

    position: int
    text: str | None
    classification: Classification | None


def points_of_sheet(d: DemarcheSheet) -> list[PointChoice]:
    """The same choices from a demarche sheet already read (withheld there by the one
    rule), for a page that shows the sheet too and need not read the points twice."""
    shown = [PointChoice(p.position, p.text, p.classification) for p in d.talking_points]
    hidden = [PointChoice(p.position, None, None) for p in d.withheld_points]
    return sorted(shown + hidden, key=lambda c: c.position)


def points_to_deliver(session: Session, demarche_id: int, *, actor: User) -> list[PointChoice]:
    """The demarche's talking points in order, text withheld above the actor's clearance."""
    rows = session.execute(
        select(TalkingPoint.position, TalkingPoint.text, TalkingPoint.classification)
        .where(TalkingPoint.demarche_id == demarche_id)
        .order_by(TalkingPoint.position)
    ).all()
    _, withheld = withhold(actor, rows, lambda row: row.classification)
    hidden = {row.position for row in withheld}
    return [
        PointChoice(position, None, None)
        if position in hidden
        else PointChoice(position, text, marking)
        for position, text, marking in rows
    ]


@dataclass(frozen=True)
class DeliveryWindow:
    """The days a delivery of a tasking may be dated, in its post's local calendar: from
    the day the instruction reached the post to today where the post is."""

    zone: str
    first: date
    last: date

    def refusal(self, day: date) -> str | None:
        """Why a delivery may not be dated `day`, in the officer's words; None if it may."""
        if day > self.last:
            return (
                f"{day.isoformat()} has not come yet at post (today there is "
                f"{self.last.isoformat()}, {self.zone}): log a delivery once it is made."
            )
        if day < self.first:
            return (
                f"{day.isoformat()} is before the instruction reached the post "
                f"({self.first.isoformat()}, {self.zone}): give the day it was delivered."
            )
        return None


def delivery_window(
    session: Session, tasking_id: int, *, now: datetime | None = None
) -> DeliveryWindow:
    """The window of a tasking the caller has already loaded through the policy.

    It opens when the tasking was issued, or, for a demarche drafted from its instruction
    cable, when that cable was sent (its date-time group): a post answering a cable
    imported later delivered it long before the tracker knew of it."""
    tasked_at, zone_name, sent_at = session.execute(
        select(Tasking.created_at, Post.time_zone, Cable.dtg)
        .join(Post, Post.id == Tasking.post_id)
        .join(Demarche, Demarche.id == Tasking.demarche_id)
        .outerjoin(Cable, Cable.id == Demarche.source_cable_id)
        .where(Tasking.id == tasking_id)
    ).one()
    opened = min(tasked_at, sent_at) if sent_at is not None else tasked_at
    return DeliveryWindow(zone_name, local_date(opened, zone_name), local_today(zone_name, now))
