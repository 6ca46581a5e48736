from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from app.clock import DEFAULT_ZONE, ZONE_NAME_MAX, is_zone_name
from app.limits import IsoDate
from app.posts.models import PostKind, Region

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{1,31}$"


def _known_zone(name: str) -> str:
    if not is_zone_name(name):
        raise ValueError(
            f"{name[:80]!r} is not a time zone name: give an IANA name such as "
            "Asia/Ho_Chi_Minh, Europe/Paris or UTC"
        )
    return name


# The zone the post's dates are local to, checked against the zone database.
TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=ZONE_NAME_MAX, examples=["Asia/Ho_Chi_Minh"]),
    AfterValidator(_known_zone),
]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=CODE_PATTERN, max_length=32, examples=["HANOI"])
    name: str = Field(min_length=2, max_length=120, examples=["AMEMBASSY HANOI"])
    kind: PostKind
    city: str = Field(min_length=1, max_length=80)
    country: str = Field(min_length=1, max_length=80)
    routing_indicator: str | None = Field(
        default=None, pattern=r"^[A-Z]{4,8}$", max_length=16, examples=["RUEHHI"]
    )
    region: Region
    time_zone: TimeZoneName = DEFAULT_ZONE

    @field_validator("code", "name", "routing_indicator", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v


class PostUpdate(BaseModel):
    """Every field optional; the code is the post's stable handle and does not change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=2, max_length=120)
    kind: PostKind | None = None
    city: str | None = Field(default=None, min_length=1, max_length=80)
    country: str | None = Field(default=None, min_length=1, max_length=80)
    routing_indicator: str | None = Field(default=None, pattern=r"^[A-Z]{4,8}$", max_length=16)
    region: Region | None = None
    active: StrictBool | None = None
    time_zone: TimeZoneName | None = None

    @field_validator("name", "routing_indicator", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: PostKind
    city: str
    country: str
    routing_indicator: str | None
    region: Region
    active: bool
    time_zone: str = Field(description="IANA name; the post's dates are local to it")


class PostPage(BaseModel):
    items: list[PostOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    limit: int


# -- collectives ---------------------------------------------------------------------


class MembershipIn(BaseModel):
    """A post joins a collective from a day (none: since before the registry knew) until
    a day (none: until further notice), both days included."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    post: str = Field(min_length=1, max_length=32, examples=["HANOI"])
    valid_from: IsoDate | None = None
    valid_to: IsoDate | None = None

    @field_validator("post", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v


class MembershipEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_to: IsoDate = Field(description="The last day the post is a member")


class CollectiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=CODE_PATTERN, max_length=32, examples=["UNSC"])
    name: str = Field(min_length=2, max_length=120, examples=["UN SECURITY COUNCIL COLLECTIVE"])
    routing_indicator: str | None = Field(
        default=None, pattern=r"^[A-Z]{4,8}$", max_length=16, examples=["RUEHGV"]
    )
    all_posts: StrictBool = Field(
        default=False, description="Stands for every active post, not a list of members"
    )
    members: list[MembershipIn] = Field(default_factory=list, max_length=500)

    @field_validator("code", "name", "routing_indicator", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v


class CollectiveUpdate(BaseModel):
    """Every field optional; the code is the collective's stable handle."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=2, max_length=120)
    routing_indicator: str | None = Field(default=None, pattern=r"^[A-Z]{4,8}$", max_length=16)
    all_posts: StrictBool | None = None

    @field_validator("name", "routing_indicator", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v


class MembershipOut(BaseModel):
    id: int
    post: str = Field(description="The post's code")
    post_name: str
    valid_from: date | None
    valid_to: date | None


class CollectiveOut(BaseModel):
    id: int
    code: str
    name: str
    routing_indicator: str | None
    all_posts: bool
    memberships: list[MembershipOut] = Field(description="Every membership, past and present")
    members_on: date = Field(description="The day `members` is read for (?on=, default today)")
    members: list[str] = Field(description="The codes of the active posts it stood for that day")


class CollectivePage(BaseModel):
    items: list[CollectiveOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    limit: int
