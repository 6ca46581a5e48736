from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from app.classification import Classification
from app.limits import ID_MAX, IsoDate
from app.taskings.models import (
    CommitmentStatus,
    DeliveryLevel,
    DeliveryMethod,
    Position,
    Stance,
    TaskingStatus,
)
from app.taskings.workflow import Action
from app.vocabulary import Precedence, TaskingRole


class _In(BaseModel):
    # Numbers and booleans are taken as JSON writes them, as the OpenAPI says (StrictInt,
    # StrictBool): pydantic alone also reads `true` as 1 and "7" as 7.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AcknowledgeIn(_In):
    planned_date: IsoDate | None = Field(default=None, description="When the post plans to deliver")
    officer: str | None = Field(default=None, max_length=120, description="Who will deliver")


class ReasonIn(_In):
    reason: str = Field(default="", max_length=4000)


class ExtendIn(_In):
    due_date: IsoDate = Field(description="The new due date: later than the current one")
    reason: str = Field(default="", max_length=4000, description="Why: the post is shown it")


class DeliveryIn(_In):
    delivered_on: IsoDate = Field(description="The day of the meeting, in the post's local sense")
    delivered_by: str = Field(min_length=1, max_length=120)
    recipient_name: str = Field(min_length=1, max_length=120)
    recipient_title: str = Field(default="", max_length=160)
    recipient_office: str = Field(default="", max_length=160)
    level: DeliveryLevel
    method: DeliveryMethod
    # Numbered from 1; a demarche has at most 200 (DemarcheIn). Which exist is the
    # service's to say.
    points: list[Annotated[StrictInt, Field(ge=1, le=ID_MAX)]] = Field(
        default_factory=list,
        max_length=200,
        description="Positions of the talking points delivered",
    )
    notes: str = Field(default="", max_length=20_000)


class CommitmentIn(_In):
    text: str = Field(min_length=1, max_length=2000)
    due_date: IsoDate | None = None


class StanceIn(_In):
    objective_position: int = Field(ge=1, le=200, description="The objective, as numbered")
    stance: Stance


class ResponseIn(_In):
    position: Position
    summary: str = Field(min_length=1, max_length=20_000)
    commitments: list[CommitmentIn] = Field(default_factory=list, max_length=30)
    stances: list[StanceIn] = Field(
        default_factory=list,
        max_length=200,
        description="Objective by objective: agreed, disagreed or would not say",
    )
    follow_up_needed: StrictBool = False
    reporting_cable_ref: str | None = Field(default=None, max_length=40)


class CommitmentUpdate(_In):
    status: CommitmentStatus


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tasking_id: int
    delivered_on: date
    delivered_by: str
    recipient_name: str
    recipient_title: str
    recipient_office: str
    level: DeliveryLevel
    method: DeliveryMethod
    points: list[int]
    notes: str
    created_at: datetime


class CommitmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    due_date: date | None
    status: CommitmentStatus
    version: int


class ResponseRevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    content: dict
    revised_at: datetime


class ResponseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    tasking_id: int
    position: Position
    summary: str
    follow_up_needed: bool
    reporting_cable_ref: str | None
    commitments: list[CommitmentOut]
    created_at: datetime
    updated_at: datetime
    version: int
    revisions: list[ResponseRevisionOut] = Field(description="Earlier texts, oldest first")


class TaskingOut(BaseModel):
    id: int
    demarche_id: int
    demarche_subject: str
    demarche_classification: Classification
    demarche_precedence: Precedence
    post: str
    post_name: str
    post_country: str = Field(
        description="The post's own country; `country` differs when it covers another"
    )
    post_time_zone: str = Field(description="IANA name: the due date is a day of this zone")
    country: str
    role: TaskingRole
    status: TaskingStatus
    due_date: date | None
    overdue: bool = Field(description="Late, or an urgent instruction not acknowledged in time")
    days_late: int
    unacknowledged_urgent: bool
    acknowledged_at: datetime | None
    planned_date: date | None
    officer: str | None
    reason: str | None
    version: int
    allowed_actions: list[Action] = Field(description="What you may do from this state")
    changed_since_seen: bool = Field(
        description="The demarche was amended after this post last acted on it"
    )
    changes: list[str] = Field(description="What the amendments changed since then")
    deliveries: list[DeliveryOut]
    responses: list[ResponseOut]


class TaskingPage(BaseModel):
    items: list[TaskingOut]
    next_cursor: str | None
    limit: int


class CommitmentRow(CommitmentOut):
    tasking_id: int
    demarche_id: int
    post: str
    overdue: bool


class CommitmentPage(BaseModel):
    items: list[CommitmentRow]
    next_cursor: str | None
    limit: int
