"""The post registry: embassies, missions, consulates, offices, and named collectives."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import DEFAULT_ZONE, ZONE_NAME_MAX
from app.db import Base, enum_column, utcnow


class PostKind(enum.StrEnum):
    EMBASSY = "embassy"
    MISSION = "mission"
    CONSULATE = "consulate"
    OFFICE = "office"


class Region(enum.StrEnum):
    """The regional bureaus that own posts."""

    AF = "AF"  # Africa
    EAP = "EAP"  # East Asia and Pacific
    EUR = "EUR"  # Europe and Eurasia
    NEA = "NEA"  # Near East
    SCA = "SCA"  # South and Central Asia
    WHA = "WHA"  # Western Hemisphere
    IO = "IO"  # International organizations (multilateral missions)


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short, stable handle used in URLs and cables' ref ids: HANOI, USUN, USEU.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))  # as written in cables: AMEMBASSY HANOI
    kind: Mapped[PostKind] = mapped_column(enum_column(PostKind, "post_kind"))
    city: Mapped[str] = mapped_column(String(80))
    country: Mapped[str] = mapped_column(String(80))
    routing_indicator: Mapped[str | None] = mapped_column(String(16), unique=True)
    region: Mapped[Region] = mapped_column(enum_column(Region, "region"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"), default=True)
    # IANA name (Asia/Ho_Chi_Minh): the post's dates are its own local days.
    time_zone: Mapped[str] = mapped_column(
        String(ZONE_NAME_MAX), default=DEFAULT_ZONE, server_default=DEFAULT_ZONE
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What an edit form read: a stale one is refused (app/concurrency.py).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Post {self.code}>"


class Collective(Base):
    """A named list of posts that a cable can address at once.

    Its membership changes over time (the Security Council's elected members every
    January), so members are dated rows, and a cable's collective is read as of the
    cable's date. "All diplomatic and consular posts" lists nobody: it is every active
    post, whenever it is read (all_posts)."""

    __tablename__ = "collectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # UNSC
    name: Mapped[str] = mapped_column(String(120), unique=True)  # UN SECURITY COUNCIL COLLECTIVE
    routing_indicator: Mapped[str | None] = mapped_column(String(16), unique=True)
    all_posts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    memberships: Mapped[list[CollectiveMembership]] = relationship(
        back_populates="collective",
        cascade="all, delete-orphan",
        order_by="CollectiveMembership.id",
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Collective {self.code}>"


class CollectiveMembership(Base):
    """A post's membership of a collective from valid_from to valid_to, both days
    included; either end open (None): a member since before the registry knew, or
    until further notice. Ended, never deleted: an old cable still reads its day's list."""

    __tablename__ = "collective_memberships"
    __table_args__ = (
        CheckConstraint(
            "valid_from IS NULL OR valid_to IS NULL OR valid_to >= valid_from",
            name="ends_after_it_starts",
        ),
        Index("ix_collective_memberships_collective_post", "collective_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    collective_id: Mapped[int] = mapped_column(ForeignKey("collectives.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]

    collective: Mapped[Collective] = relationship(back_populates="memberships")
    post: Mapped[Post] = relationship()

    def holds_on(self, day: date) -> bool:
        """Whether the post was a member on this day (the SQL twin: posts.reads)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )
