from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from app.auth.models import Role
from app.classification import Classification


class UserOut(BaseModel):
    """A user as others see them: never the password hash."""

    id: int
    username: str
    full_name: str
    role: Role
    clearance: Classification
    post: str | None
    active: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    full_name: str = Field(min_length=1, max_length=120)
    role: Role
    clearance: Classification
    post: str | None = Field(default=None, max_length=32)
    password: str | None = Field(default=None, min_length=12, max_length=200)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str | None = Field(default=None, min_length=1, max_length=120)
    role: Role | None = None
    clearance: Classification | None = None
    post: str | None = Field(default=None, max_length=32)
    active: StrictBool | None = None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    days: StrictInt | None = Field(default=None, ge=1, le=366, description="Expire after N days")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class NewToken(TokenOut):
    token: str = Field(description="The secret: shown this once, never again")


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None
    limit: int


class TokenPage(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None
    limit: int
