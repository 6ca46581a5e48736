from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from app.cables.models import CableKind, ReplyStatus
from app.demarches.schemas import DemarcheOut
from app.limits import ID_MAX
from app.taskings.schemas import DeliveryIn, ResponseIn
from app.vocabulary import TaskingRole

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CableTextIn(_In):
    text: str = Field(min_length=1, description="The cable as received, header to signature")


class ConfirmReplyIn(_In):
    """The delivery and response as the reviewer corrected them from the suggestion."""

    delivery: DeliveryIn
    response: ResponseIn


class RejectReplyIn(_In):
    note: str = Field(min_length=1, max_length=4000, description="Why the suggestion is wrong")

    @field_validator("note")
    @classmethod
    def _printable(cls, v: str) -> str:
        if _CONTROL.search(v):
            raise ValueError("control characters (other than tab and newline) are not allowed")
        return v


class MatchReplyIn(_In):
    tasking_id: StrictInt = Field(ge=1, le=ID_MAX)


class RematchOut(BaseModel):
    """The replies a rematch matched (each to the tasking it answers)."""

    matched: list[int]


class ReplyBrief(BaseModel):
    id: int
    status: ReplyStatus
    demarche_id: int | None
    tasking_id: int | None


class CableSummary(BaseModel):
    id: int
    ref_id: str
    kind: CableKind
    dtg: datetime | None
    originator: str | None = Field(description="The FM line as written; the sender is sender_post")
    sender_post: str | None = Field(
        description="The post the cable is recorded as sent by: an uploading post's own"
    )
    transcribed: bool = Field(description="Filed by the desk for the sending post")
    sender_mismatch: bool = Field(
        description="A post's upload whose FM line names another post: for the desk to check"
    )
    classification: str | None
    subject: str | None
    received_at: datetime


class CableOut(CableSummary):
    precedence: str | None
    captions: list[str]
    tags: list[str]
    parsed: dict[str, Any]
    raw_text: str
    reply: ReplyBrief | None = Field(description="For a report: how it was matched")


class IngestOut(CableOut):
    created: bool = Field(
        description="False when a copy you may see was already stored (it is answered)"
    )
    warnings: list[str]


class CablePage(BaseModel):
    items: list[CableSummary]
    next_cursor: str | None
    limit: int


class Unresolved(BaseModel):
    name: str
    routing: str | None
    role: TaskingRole
    reason: str = ""


class ExcludedPost(BaseModel):
    post: str = Field(description="The member's code")
    said: str = Field(description='The name as the prose wrote it: "(except Beijing)"')


class CollectiveResolved(BaseModel):
    """A collective the cable addressed, read on the cable's date."""

    code: str
    name: str
    role: TaskingRole
    on: date = Field(description="The day its members were read for: the cable's date")
    members: list[str] = Field(description="Its active members that day, by code")
    tasked: list[str] = Field(description="The members the draft targets through it")
    excluded: list[ExcludedPost] = Field(description="Members the cable's prose took out")


class DraftOut(DemarcheOut):
    unresolved: list[Unresolved] = Field(
        description="Addressees the post registry could not place: the desk fixes them"
    )
    collectives: list[CollectiveResolved] = Field(
        default_factory=list,
        description="Collectives addressed, resolved to their members on the cable's date",
    )
    warnings: list[str]


class ReplyOut(BaseModel):
    id: int
    cable_id: int
    cable_ref_id: str
    cable_subject: str | None
    originator: str | None
    sender_post: str | None
    transcribed: bool
    sender_mismatch: bool
    warnings: list[str] = Field(description="Who filed it, when it is not plainly the sender")
    status: ReplyStatus
    demarche_id: int | None
    tasking_id: int | None
    suggestion: dict[str, Any]
    evidence: str | None
    note: str | None
    created_at: datetime
    reviewed_at: datetime | None


class ReplyPage(BaseModel):
    items: list[ReplyOut]
    next_cursor: str | None
    limit: int
