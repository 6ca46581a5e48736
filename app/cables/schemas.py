from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.cables.models import CableKind, ReplyStatus
from app.demarches.schemas import DemarcheOut
from app.limits import ID_MAX
from app.taskings.schemas import DeliveryIn, ResponseIn
from app.vocabulary import TaskingRole


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


class MatchReplyIn(_In):
    tasking_id: int = Field(ge=1, le=ID_MAX)


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
    originator: str | None
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
    created: bool = Field(description="False when this cable was already stored")
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


class DraftOut(DemarcheOut):
    unresolved: list[Unresolved] = Field(
        description="Addressees the post registry could not place: the desk fixes them"
    )
    warnings: list[str]


class ReplyOut(BaseModel):
    id: int
    cable_id: int
    cable_ref_id: str
    cable_subject: str | None
    originator: str | None
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
