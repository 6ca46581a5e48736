from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

from app.clock import DEFAULT_ZONE, ZONE_NAME_MAX, is_zone_name
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
