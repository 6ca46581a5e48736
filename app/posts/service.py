"""The post registry's rules."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Post, Region
from app.posts.schemas import PostIn, PostUpdate


def get_post(session: Session, code: str) -> Post:
    post = session.scalar(select(Post).where(Post.code == code.upper()))
    if post is None:
        raise NotFound(f"No post with code '{code}'.")
    return post


def _check_unique(session: Session, *, code: str | None, routing: str | None, not_id: int | None):
    if code and session.scalar(select(Post.id).where(Post.code == code)) is not None:
        raise Conflict(f"A post with code '{code}' already exists.")
    if routing:
        clash = session.scalar(
            select(Post.code).where(Post.routing_indicator == routing, Post.id != (not_id or 0))
        )
        if clash:
            raise Conflict(f"Routing indicator {routing} already belongs to post {clash}.")


def create_post(session: Session, data: PostIn) -> Post:
    _check_unique(session, code=data.code, routing=data.routing_indicator, not_id=None)
    post = Post(**data.model_dump())
    session.add(post)
    session.flush()
    return post


def update_post(session: Session, post: Post, data: PostUpdate) -> Post:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("routing_indicator"):
        _check_unique(session, code=None, routing=changes["routing_indicator"], not_id=post.id)
    for field, value in changes.items():
        if value is None and field != "routing_indicator":
            continue  # explicit null on a required field means "leave it"
        setattr(post, field, value)
    session.flush()
    return post


def deactivate_post(session: Session, post: Post) -> Post:
    # Deactivated, never deleted: old taskings and cables still point at it.
    post.active = False
    session.flush()
    return post


def list_posts(
    session: Session,
    *,
    region: Region | None = None,
    active: bool | None = None,
    q: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[Post], str | None]:
    """Posts by code, filtered, a page at a time (keyset on the code, which is unique)."""
    stmt = select(Post)
    if region:
        stmt = stmt.where(Post.region == region)
    if active is not None:
        stmt = stmt.where(Post.active == active)
    if q:
        like = f"%{q.upper()}%"
        stmt = stmt.where(
            or_(Post.code.like(like), Post.name.like(like), func.upper(Post.country).like(like))
        )
    if cursor:
        (after,) = decode_cursor(cursor, str)
        stmt = stmt.where(Post.code > after)
    rows = list(session.scalars(stmt.order_by(Post.code).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].code) if more else None
