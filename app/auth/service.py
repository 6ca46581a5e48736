"""Users and tokens: creating them, and finding who a request comes from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, Role, User
from app.auth.passwords import hash_password, new_token_secret, token_digest
from app.classification import Classification
from app.db import utcnow
from app.errors import Conflict, Invalid, NotFound
from app.posts.models import Post


def add_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: Role,
    clearance: Classification,
    post_code: str | None = None,
    password: str | None = None,
) -> User:
    username = username.strip().lower()
    if not username:
        raise Invalid("A username is required.")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"User '{username}' already exists.")
    post: Post | None = None
    if role == Role.POST_OFFICER:
        if not post_code:
            raise Invalid("A post officer needs a post (its code, e.g. HANOI).")
        post = session.scalar(select(Post).where(Post.code == post_code.upper()))
        if post is None:
            raise Invalid(f"Unknown post '{post_code}'.")
    elif post_code:
        raise Invalid("Only post officers belong to a post.")
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        clearance=clearance,
        post=post,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def issue_token(
    session: Session, *, user: User, name: str, ttl: timedelta | None = None
) -> IssuedToken:
    secret = new_token_secret()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_digest(secret),
        prefix=secret[:10],
        expires_at=utcnow() + ttl if ttl else None,
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


def user_for_token(session: Session, secret: str, *, now: datetime | None = None) -> User | None:
    now = now or utcnow()
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"No user '{username}'.")
    return user
