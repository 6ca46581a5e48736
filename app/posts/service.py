"""The post registry's commands: posts and collectives, each change audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.audit import record
from app.auth.models import User
from app.errors import Conflict, Invalid, NotFound
from app.pagination import decode_cursor, encode_cursor
from app.posts.models import Collective, CollectiveMembership, Post, Region
from app.posts.schemas import (
    CollectiveIn,
    CollectiveUpdate,
    MembershipIn,
    PostIn,
    PostUpdate,
)

_POST_FIELDS = (
    "name",
    "kind",
    "city",
    "country",
    "routing_indicator",
    "region",
    "active",
    "time_zone",  # it decides which delivery dates the post may log
)


def _post_state(post: Post) -> dict[str, Any]:
    return {f: getattr(post, f) for f in _POST_FIELDS}


def _actor_id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


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


def create_post(session: Session, data: PostIn, *, actor: User | None = None) -> Post:
    """A new post, audited; actor None is the operator at the console (demo, CLI)."""
    _check_unique(session, code=data.code, routing=data.routing_indicator, not_id=None)
    post = Post(**data.model_dump())
    session.add(post)
    session.flush()
    record(
        session,
        actor_id=_actor_id(actor),
        entity="post",
        entity_id=post.id,
        action="create",
        after={"code": post.code, **_post_state(post)},
    )
    return post


def update_post(
    session: Session, post: Post, data: PostUpdate, *, actor: User | None = None
) -> Post:
    """Change a post's fields, audited with what changed, before and after."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("routing_indicator"):
        _check_unique(session, code=None, routing=changes["routing_indicator"], not_id=post.id)
    before = _post_state(post)
    for field, value in changes.items():
        if value is None and field != "routing_indicator":
            continue  # explicit null on a required field means "leave it"
        setattr(post, field, value)
    _audit_change(session, "post", post.id, before, _post_state(post), actor=actor)
    session.flush()
    return post


def deactivate_post(session: Session, post: Post, *, actor: User | None = None) -> Post:
    # Deactivated, never deleted: old taskings and cables still point at it.
    before = _post_state(post)
    post.active = False
    _audit_change(session, "post", post.id, before, _post_state(post), actor=actor)
    session.flush()
    return post


def _audit_change(
    session: Session,
    entity: str,
    entity_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    actor: User | None,
    action: str = "change",
) -> None:
    changed = [k for k in before if before[k] != after[k]]
    if changed:
        record(
            session,
            actor_id=_actor_id(actor),
            entity=entity,
            entity_id=entity_id,
            action=action,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )


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


# -- collectives ---------------------------------------------------------------------


def _check_collective_unique(
    session: Session, *, code: str | None, name: str | None, routing: str | None, not_id: int
) -> None:
    if code and session.scalar(select(Collective.id).where(Collective.code == code)):
        raise Conflict(f"A collective with code '{code}' already exists.")
    if name and session.scalar(
        select(Collective.code).where(Collective.name == name, Collective.id != not_id)
    ):
        raise Conflict(f"A collective named '{name}' already exists.")
    if routing:
        clash = session.scalar(
            select(Collective.code).where(
                Collective.routing_indicator == routing, Collective.id != not_id
            )
        ) or session.scalar(select(Post.code).where(Post.routing_indicator == routing))
        if clash:
            raise Conflict(f"Routing indicator {routing} already belongs to {clash}.")


def _collective_state(c: Collective) -> dict[str, Any]:
    return {"name": c.name, "routing_indicator": c.routing_indicator, "all_posts": c.all_posts}


def create_collective(session: Session, data: CollectiveIn, *, actor: User | None) -> Collective:
    """A new collective and its first members, audited."""
    _check_collective_unique(
        session, code=data.code, name=data.name, routing=data.routing_indicator, not_id=0
    )
    if data.all_posts and data.members:
        raise Invalid("A collective of every active post lists no members.")
    collective = Collective(
        code=data.code,
        name=data.name,
        routing_indicator=data.routing_indicator,
        all_posts=data.all_posts,
    )
    session.add(collective)
    session.flush()
    record(
        session,
        actor_id=_actor_id(actor),
        entity="collective",
        entity_id=collective.id,
        action="create",
        after={"code": collective.code, **_collective_state(collective)},
    )
    for m in data.members:
        add_member(session, collective, m, actor=actor)
    return collective


def update_collective(
    session: Session, collective: Collective, data: CollectiveUpdate, *, actor: User | None
) -> Collective:
    changes = data.model_dump(exclude_unset=True)
    _check_collective_unique(
        session,
        code=None,
        name=changes.get("name"),
        routing=changes.get("routing_indicator"),
        not_id=collective.id,
    )
    if changes.get("all_posts") and any(_open(m) for m in collective.memberships):
        raise Invalid(
            "End its memberships first: a collective of every active post lists no members."
        )
    before = _collective_state(collective)
    for field, value in changes.items():
        if value is None and field != "routing_indicator":
            continue  # explicit null on a required field means "leave it"
        setattr(collective, field, value)
    _audit_change(
        session, "collective", collective.id, before, _collective_state(collective), actor=actor
    )
    session.flush()
    return collective


def _open(m: CollectiveMembership) -> bool:
    return m.valid_to is None or m.valid_to >= date.today()


def _overlap(
    a_from: date | None, a_to: date | None, b_from: date | None, b_to: date | None
) -> bool:
    return (a_to is None or b_from is None or b_from <= a_to) and (
        b_to is None or a_from is None or a_from <= b_to
    )


def _membership_state(m: CollectiveMembership, code: str) -> dict[str, Any]:
    return {"post": code, "valid_from": m.valid_from, "valid_to": m.valid_to}


def add_member(
    session: Session, collective: Collective, data: MembershipIn, *, actor: User | None
) -> CollectiveMembership:
    """A post joins the collective for a span of days; two spans of one post may not
    overlap (409): its membership is extended by ending one and adding the next."""
    if collective.all_posts:
        raise Invalid(f"{collective.name} stands for every active post: it lists no members.")
    if data.valid_from and data.valid_to and data.valid_to < data.valid_from:
        raise Invalid("A membership cannot end before it starts.")
    post = session.scalar(select(Post).where(Post.code == data.post))
    if post is None:
        raise Invalid(f"Unknown post '{data.post}'.")
    for m in collective.memberships:
        if m.post_id == post.id and _overlap(
            m.valid_from, m.valid_to, data.valid_from, data.valid_to
        ):
            raise Conflict(
                f"{post.code} is already a member of {collective.code} "
                f"from {m.valid_from or 'the start'} to {m.valid_to or 'now'}."
            )
    membership = CollectiveMembership(post=post, valid_from=data.valid_from, valid_to=data.valid_to)
    collective.memberships.append(membership)
    session.flush()
    record(
        session,
        actor_id=_actor_id(actor),
        entity="collective",
        entity_id=collective.id,
        action="add_member",
        after=_membership_state(membership, post.code),
    )
    return membership


def get_membership(collective: Collective, membership_id: int) -> CollectiveMembership:
    for m in collective.memberships:
        if m.id == membership_id:
            return m
    raise NotFound(f"No membership {membership_id} in {collective.code}.")


def end_membership(
    session: Session,
    collective: Collective,
    membership: CollectiveMembership,
    valid_to: date,
    *,
    actor: User | None,
) -> CollectiveMembership:
    """The post stops being a member after this day. Ended, never deleted: a cable of
    its time still resolves to it."""
    if membership.valid_to is not None and membership.valid_to <= valid_to:
        raise Conflict(
            f"{membership.post.code}'s membership already ends on {membership.valid_to}."
        )
    if membership.valid_from is not None and valid_to < membership.valid_from:
        raise Invalid(
            f"{membership.post.code} joined on {membership.valid_from}: "
            "the membership cannot end before that."
        )
    before = _membership_state(membership, membership.post.code)
    membership.valid_to = valid_to
    session.flush()
    record(
        session,
        actor_id=_actor_id(actor),
        entity="collective",
        entity_id=collective.id,
        action="end_member",
        before=before,
        after=_membership_state(membership, membership.post.code),
    )
    return membership
