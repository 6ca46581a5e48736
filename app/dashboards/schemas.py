"""The results roll-up as the API answers it (GET /demarches/{id}/results)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.classification import Classification
from app.posts.models import Region
from app.taskings.models import (
    CommitmentStatus,
    DeliveryLevel,
    DeliveryMethod,
    Position,
    Stance,
    TaskingStatus,
)


class CommitmentLine(BaseModel):
    text: str
    due_date: date | None
    status: CommitmentStatus


class ResultRowOut(BaseModel):
    """One target (post and country) of the demarche: its delivery and the response."""

    tasking_id: int
    post: str = Field(description="The post's code")
    post_name: str
    country: str
    region: Region
    status: TaskingStatus
    due_date: date | None
    days_late: int
    delivered_on: date | None = Field(description="The latest delivery's day, if any")
    delivered_by: str | None
    recipient_name: str | None
    recipient_title: str | None
    recipient_office: str | None
    level: DeliveryLevel | None
    method: DeliveryMethod | None
    points: list[int] = Field(description="Positions of the talking points delivered")
    position: Position | None = Field(description="The latest response's position")
    key_sentence: str | None = Field(
        description="The response's first sentence the reader may read"
    )
    summary: str | None = Field(description="The response as the reader may read it")
    summary_withheld: bool = Field(
        description="Whether marked portions of the response are above your clearance"
    )
    commitments: list[CommitmentLine]
    stances: dict[str, Stance] = Field(
        description="By objective number: what the government said of each objective you may read"
    )


class RegionTotalOut(BaseModel):
    region: Region | None = Field(description="null for the totals over every region")
    targets: int
    delivered: int
    outstanding: int
    # Every position, and "none" for a target with no response yet.
    positions: dict[str, int]


class ObjectiveTallyOut(BaseModel):
    """One objective and how the targets shown answered it."""

    position: int
    text: str
    classification: Classification
    counts: dict[str, int] = Field(
        description="agreed, disagreed, would_not_say, and not_said (no stance given)"
    )


class ResultsOut(BaseModel):
    """The desk's results roll-up of one demarche, as this reader may see it."""

    demarche_id: int
    subject: str
    classification: Classification = Field(
        description="The banner: the highest mark of what this answer shows"
    )
    all_posts: bool = Field(
        description="False for a post officer: the rows are their own post's only"
    )
    sort: str
    rows: list[ResultRowOut] = Field(description="The targets delivered to, or closed")
    outstanding: list[ResultRowOut] = Field(description="The targets not yet delivered to")
    regions: list[RegionTotalOut]
    totals: RegionTotalOut
    objectives: list[ObjectiveTallyOut] = Field(description="The tally per objective")
    withheld_objectives: int = Field(
        description="Objectives above your clearance: their stances are left out"
    )
