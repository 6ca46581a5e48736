"""Users and tokens: creating them, and finding who a request comes from."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.audit import record
from app.auth.models import ApiToken, LoginAttempt, Role, User, WebSession
from app.auth.passwords import hash_password, new_token_secret, token_digest, verify_password
from app.auth.policy import (
    Access,
    require_may_change_access,
    require_may_grant,
    require_may_take_over,
)
from app.classification import Classification
from app.db import defer_write, utcnow
from app.errors import Conflict, Invalid, NotFound
from app.metrics import LOGIN_FAILURES
from app.pagination import decode_cursor, encode_cursor
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
    actor: User | None = None,
) -> User:
    """A new account, audited. actor is the administrator creating it, who may grant at
    most their own clearance; None is the operator at the console (CLI, demo)."""
    if actor is not None:
        require_may_grant(actor, clearance)
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
    record(
        session,
        actor_id=actor.id if actor else None,
        entity="user",
        entity_id=user.id,
        action="create",
        after=access_of(user)._asdict(),
    )
    return user


def access_of(user: User) -> Access:
    return Access(user.role, user.clearance, user.post.code if user.post else None, user.active)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def issue_token(
    session: Session,
    *,
    user: User,
    name: str,
    ttl: timedelta | None = None,
    minted_by: ApiToken | None = None,
) -> IssuedToken:
    """A new personal access token of this user, the secret returned once.

    minted_by is the token the request came with, when a token asks for a token: the
    new one may not outlive it (422, never silently shortened: the caller asked for a
    lifetime and must learn it was refused). Without it (the command line, the demo),
    the operator at the console decides.
    """
    now = utcnow()
    expires_at = now + ttl if ttl else None
    if minted_by is not None:
        _within_lifetime_of(minted_by, expires_at, now=now)
    secret = new_token_secret()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_digest(secret),
        prefix=secret[:10],
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


def _within_lifetime_of(caller: ApiToken, expires_at: datetime | None, *, now: datetime) -> None:
    """A token creates only tokens that expire no later than itself (a token that never
    expires may create any). Tokens carry no scopes: the new one's rights are the
    same user's, never more."""
    limit = caller.expires_at
    if limit is None or (expires_at is not None and expires_at <= limit):
        return
    until = f"{limit:%Y-%m-%d %H:%M} UTC"
    days = (limit - now).days
    if days < 1:
        raise Invalid(
            f"The token you called with expires at {until}, in less than a day, and a "
            "token it creates may not outlive it: it can create none (the shortest is "
            "1 day). Use a longer-lived token, or ask an operator for one."
        )
    raise Invalid(
        f"The token you called with expires at {until}, and a token it creates may not "
        f"outlive it: ask for at most {days} day{'s' if days != 1 else ''}.",
        max_days=days,
    )


def token_for_secret(
    session: Session, secret: str, *, now: datetime | None = None
) -> ApiToken | None:
    """The valid (unrevoked, unexpired) token of an active user, its user loaded."""
    now = now or utcnow()
    token = session.scalar(
        select(ApiToken)
        .join(ApiToken.user)
        .options(contains_eager(ApiToken.user))
        .where(ApiToken.token_hash == token_digest(secret))
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.last_used_at is None or now - token.last_used_at > STAMP_EVERY:
        _stamp_use(session, token, now)
    return token


# Record use at most hourly: a write on every request would cost more than it tells.
STAMP_EVERY = timedelta(hours=1)


def _stamp_use(session: Session, token: ApiToken, now: datetime) -> None:
    """Note the token's use, never in the caller's transaction: that is often a read,
    and on SQLite a read's transaction that tries to write fails ("database is
    locked") whenever another writer committed since it began. The stamp is written
    after it, and given up if the database is busy (app/db.py, defer_write): the next
    lookup of the token from the database tries again. The loaded token shows it at
    once, unchanged in the session's eyes, so the credential cache's copy does not
    ask for it again."""
    defer_write(
        session,
        update(ApiToken)
        .where(
            ApiToken.id == token.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - STAMP_EVERY),
        )
        .values(last_used_at=now),
    )
    set_committed_value(token, "last_used_at", now)


def user_for_token(session: Session, secret: str, *, now: datetime | None = None) -> User | None:
    token = token_for_secret(session, secret, now=now)
    return token.user if token else None


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"No user '{username}'.")
    return user


# -- sign-in, sessions and tokens -----------------------------------------------

SESSION_TTL = timedelta(hours=12)


def authenticate(session: Session, *, username: str, password: str, address: str) -> User | None:
    """The user if the password is right; otherwise None, and the failure is recorded
    (who was tried, from where). The throttle counted the attempt before this check:
    app/auth/throttle.py."""
    name = username.strip().lower()
    user = session.scalar(select(User).where(User.username == name))
    ok = verify_password(user.password_hash if user else None, password)
    if ok and user is not None and user.active:
        return user
    session.add(LoginAttempt(username=name[:64], address=address[:64]))
    session.flush()
    LOGIN_FAILURES.labels(reason="password").inc()
    return None


@dataclass(frozen=True)
class OpenedSession:
    web_session: WebSession
    cookie: str  # the secret for the browser; only its hash is stored


def open_session(session: Session, *, user: User) -> OpenedSession:
    secret = secrets.token_urlsafe(32)
    ws = WebSession(
        user_id=user.id,
        token_hash=token_digest(secret),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + SESSION_TTL,
    )
    session.add(ws)
    session.flush()
    return OpenedSession(web_session=ws, cookie=secret)


def session_for_cookie(session: Session, cookie: str) -> WebSession | None:
    """The open web session of an active user, its user and the user's post loaded.

    Every page's header names the officer's post, error pages too, and those render
    after the request's session is closed: nothing there may be left to load lazily.
    """
    ws = session.scalar(
        select(WebSession)
        .join(WebSession.user)
        .outerjoin(User.post)
        .options(contains_eager(WebSession.user).contains_eager(User.post))
        .where(WebSession.token_hash == token_digest(cookie))
    )
    if ws is None or ws.revoked_at is not None or ws.expires_at <= utcnow():
        return None
    if not ws.user.active:
        return None
    return ws


def close_session(session: Session, ws: WebSession) -> None:
    ws.revoked_at = utcnow()
    session.flush()


def list_tokens(
    session: Session, *, user: User, limit: int, cursor: str | None = None
) -> tuple[list[ApiToken], str | None]:
    """A user's own tokens, oldest first, a page at a time."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id)
    if cursor:
        (after,) = decode_cursor(cursor, int)
        stmt = stmt.where(ApiToken.id > after)
    rows = list(session.scalars(stmt.order_by(ApiToken.id).limit(limit + 1)))
    more = len(rows) > limit
    return rows[:limit], encode_cursor(rows[limit - 1].id) if more else None


def list_users(
    session: Session, *, limit: int, cursor: str | None = None
) -> tuple[list[User], str | None]:
    """Every user by username, a page at a time."""
    stmt = select(User).options(selectinload(User.post))
    if cursor:
        (after,) = decode_cursor(cursor, str)
        stmt = stmt.where(User.username > after)
    rows = list(session.scalars(stmt.order_by(User.username).limit(limit + 1)))
    more = len(rows) > limit
    return rows[:limit], encode_cursor(rows[limit - 1].username) if more else None


def revoke_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound(f"No token {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def update_user(
    session: Session,
    user: User,
    *,
    actor: User | None = None,
    role: Role | None = None,
    clearance: Classification | None = None,
    post_code: str | None = None,
    active: bool | None = None,
    full_name: str | None = None,
) -> User:
    """Change an account, audited with what changed, before and after.

    actor is the administrator making the change (policy.require_may_change_access:
    never their own access, never a grant above their clearance); None is the operator
    at the console (`demarche user disable`). Refused before anything is checked
    against the posts: 403 before 422.
    """
    now = access_of(user)
    asked = Access(
        role or now.role,
        clearance or now.clearance,
        post_code.strip().upper() if post_code is not None else now.post,
        now.active if active is None else active,
    )
    if actor is not None:
        require_may_change_access(actor, user, now, asked)
    before = {**now._asdict(), "full_name": user.full_name}
    new_role = asked.role
    post = user.post
    if post_code is not None:
        post = session.scalar(select(Post).where(Post.code == asked.post))
        if post is None:
            raise Invalid(f"Unknown post '{post_code}'.")
    if new_role == Role.POST_OFFICER and post is None:
        raise Invalid("A post officer needs a post.")
    if new_role != Role.POST_OFFICER:
        post = None
    user.role, user.post = new_role, post
    user.clearance = asked.clearance
    user.active = asked.active
    if full_name:
        user.full_name = full_name
    after = {**access_of(user)._asdict(), "full_name": user.full_name}
    changed = [k for k in before if before[k] != after[k]]
    if changed:
        record(
            session,
            actor_id=actor.id if actor else None,
            entity="user",
            entity_id=user.id,
            action="change",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    session.flush()
    return user


def reset_password(session: Session, user: User, password: str, *, actor: User) -> User:
    """Set a new password for an account (an administrator's), audited without it; the
    account's open browser sessions end, so whoever held the old password is signed out."""
    require_may_take_over(actor, user)
    if len(password) < 12:
        raise Invalid("A password has at least 12 characters.")
    user.password_hash = hash_password(password)
    ended = _end_sessions(session, user)
    record(
        session,
        actor_id=actor.id,
        entity="user",
        entity_id=user.id,
        action="reset_password",
        after={"sessions_ended": ended},
    )
    session.flush()
    return user


def revoke_tokens(session: Session, user: User, *, actor: User) -> int:
    """Revoke every valid token of an account (an administrator's), audited: how many."""
    require_may_take_over(actor, user)
    now = utcnow()
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
    record(
        session,
        actor_id=actor.id,
        entity="user",
        entity_id=user.id,
        action="revoke_tokens",
        after={"revoked": [t.id for t in tokens]},
    )
    session.flush()
    return len(tokens)


def _end_sessions(session: Session, user: User) -> int:
    now = utcnow()
    open_ones = session.scalars(
        select(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
    ).all()
    for ws in open_ones:
        ws.revoked_at = now
    return len(open_ones)
