"""The post registry: embassies, missions, consulates, offices, and named collectives."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, text
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


collective_members = Table(
    "collective_members",
    Base.metadata,
    Column(
        "collective_id",
        ForeignKey("collectives.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
)


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

    collectives: Mapped[list[Collective]] = relationship(
        secondary=collective_members, back_populates="members"
    )

    def __repr__(self) -> str:
        return f"<Post {self.code}>"


class Collective(Base):
    """A named list of posts that a cable can address at once."""

    __tablename__ = "collectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # UNSC
    name: Mapped[str] = mapped_column(String(120), unique=True)  # UN SECURITY COUNCIL COLLECTIVE
    routing_indicator: Mapped[str | None] = mapped_column(String(16), unique=True)

    members: Mapped[list[Post]] = relationship(
        secondary=collective_members, back_populates="collectives", order_by="Post.code"
    )
