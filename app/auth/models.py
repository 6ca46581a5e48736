"""Users and their personal access tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.classification import Classification
from app.db import Base, enum_column, utcnow

if TYPE_CHECKING:
    from app.posts.models import Post


class Role(enum.StrEnum):
    DESK_OFFICER = "desk_officer"
    POST_OFFICER = "post_officer"
    VIEWER = "viewer"
    ADMINISTRATOR = "administrator"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A post officer acts for exactly one post; nobody else is tied to one.
        CheckConstraint(
            "(role = 'post_officer') = (post_id IS NOT NULL)", name="post_officer_has_post"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    # Where notifications go by email; none: in the app only (app/notifications).
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    clearance: Mapped[Classification] = mapped_column(enum_column(Classification, "classification"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What an administrator's form read: a stale one is refused (app/concurrency.py).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    post: Mapped[Post | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Base):
    """A personal access token. Only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # lets a user recognise a token in a list
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A signed-in browser. Server-side, so logout and disabling a user end it at once."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the cookie
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed sign-ins, one row each: who was tried, from where, when (the throttle
    counts in LoginThrottle; these are the record)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(Base):
    """Sign-ins counted per key (an address and user pair, an address, a user), one row
    each, so one statement counts an attempt and learns the total (app/auth/throttle.py).
    In the database, so the limit holds across app workers and machines."""

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # pair, address, user
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int]
    window_started_at: Mapped[datetime]
