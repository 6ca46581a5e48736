from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from app.posts.models import PostKind, Region

CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_-]{1,31}$"


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


class PostPage(BaseModel):
    items: list[PostOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    limit: int
