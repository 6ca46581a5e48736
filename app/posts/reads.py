"""The one reader of collectives: who belongs to one on a given day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Collective, CollectiveMembership, Post


def holds_on(day: date) -> ColumnElement[bool]:
    """The SQL twin of CollectiveMembership.holds_on: a membership in force that day."""
    m = CollectiveMembership
    return and_(
        or_(m.valid_from.is_(None), m.valid_from <= day),
        or_(m.valid_to.is_(None), m.valid_to >= day),
    )


def get_collective(session: Session, code: str) -> Collective:
    """One collective by its code, its memberships and their posts loaded."""
    collective = session.scalar(
        select(Collective)
        .options(selectinload(Collective.memberships).selectinload(CollectiveMembership.post))
        .where(Collective.code == code.strip().upper())
    )
    if collective is None:
        raise NotFound(f"No collective with code '{code}'.")
    return collective


def list_collectives(
    session: Session, *, limit: int, cursor: str | None = None
) -> tuple[list[Collective], str | None]:
    """Collectives by code, a page at a time, memberships loaded."""
    stmt = select(Collective).options(
        selectinload(Collective.memberships).selectinload(CollectiveMembership.post)
    )
    if cursor:
        (after,) = decode_cursor(cursor, str)
        stmt = stmt.where(Collective.code > after)
    rows = list(session.scalars(stmt.order_by(Collective.code).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].code) if more else None


def members_on(session: Session, collective: Collective, day: date) -> list[Post]:
    """The active posts a collective stood for on this day, by code: every active post
    for "all diplomatic and consular posts", else its memberships in force that day."""
    stmt = select(Post).where(Post.active.is_(True))
    if not collective.all_posts:
        stmt = stmt.where(
            Post.id.in_(
                select(CollectiveMembership.post_id).where(
                    CollectiveMembership.collective_id == collective.id, holds_on(day)
                )
            )
        )
    return list(session.scalars(stmt.order_by(Post.code)))
