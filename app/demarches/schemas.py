from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.classification import Classification
from app.demarches.models import DemarcheStatus, PointUse
from app.limits import ID_MAX, IsoDate
from app.vocabulary import Precedence, TaskingRole

Text = Field(min_length=1, max_length=20_000)

SourceCable = Field(
    default=None,
    ge=1,
    le=ID_MAX,
    description="The cable this demarche carries out (one you may read): replies citing "
    "that cable are matched to the demarche's taskings.",
)

# Each item of a list bounded as its column is (demarche_targets.country is
# VARCHAR(80); objectives are TEXT, bounded as a talking point is). A tag is checked
# by clean_tags (1-16 letters); the bound here only keeps a huge one from being
# read, and echoed in the error, whole.
Country = Annotated[str, Field(max_length=80)]
RawTag = Annotated[str, Field(max_length=64)]


def clean_tags(tags: list[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        tag = raw.strip().upper()
        if not tag or len(tag) > 16 or not tag.replace("_", "").isalnum():
            raise ValueError(f"tag {raw!r} must be 1-16 letters or digits")
        if tag not in out:
            out.append(tag)
    return out


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Every portion may carry its own mark; one left out takes the demarche's level.
Mark = Field(
    default=None,
    description="The portion's own classification; defaults to the demarche's. Never "
    "above the demarche's classification, nor above your clearance.",
)


class ObjectiveIn(_In):
    text: str = Text
    classification: Classification | None = Mark


ObjectiveText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
# An objective as the API takes it: {"text", "classification"}, or a plain string (an
# objective at the demarche's level, as clients wrote them before portions were marked).
ObjectiveItem = ObjectiveIn | ObjectiveText


def clean_objectives(objectives: list[ObjectiveItem]) -> list[ObjectiveItem]:
    if any(not (o if isinstance(o, str) else o.text) for o in objectives):
        raise ValueError("objectives may not be empty")
    return [ObjectiveIn(text=o) if isinstance(o, str) else o for o in objectives]


def objectives_in(objectives: list[ObjectiveItem]) -> list[ObjectiveIn]:
    """The objectives as marked portions (a validated list holds no plain string)."""
    return [ObjectiveIn(text=o) if isinstance(o, str) else o for o in objectives]


class TalkingPointIn(_In):
    text: str = Text
    classification: Classification | None = Mark
    use: PointUse = PointUse.PRIVATE


class KeyDateIn(_In):
    date: IsoDate
    what: str = Field(min_length=1, max_length=300)
    classification: Classification | None = Mark


class TargetIn(_In):
    post: str = Field(min_length=2, max_length=32, description="Post code, e.g. HANOI")
    role: TaskingRole = TaskingRole.ACTION
    countries: list[Country] | None = Field(
        default=None,
        description="Host countries this post delivers to; defaults to the post's own.",
        max_length=20,
    )
    due_date: IsoDate | None = Field(default=None, description="Defaults to the deadline.")

    @field_validator("post")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class DemarcheIn(_In):
    subject: str = Field(min_length=3, max_length=300)
    summary: str = Field(default="", max_length=20_000)
    summary_classification: Classification | None = Mark
    classification: Classification = Classification.UNCLASSIFIED
    precedence: Precedence = Precedence.ROUTINE
    deadline: IsoDate | None = None
    delivery_level: str | None = Field(default=None, max_length=200)
    tags: list[RawTag] = Field(default_factory=list, max_length=30)
    objectives: list[ObjectiveItem] = Field(default_factory=list, max_length=50)
    talking_points: list[TalkingPointIn] = Field(default_factory=list, max_length=200)
    key_dates: list[KeyDateIn] = Field(default_factory=list, max_length=50)
    targets: list[TargetIn] = Field(default_factory=list, max_length=400)
    source_cable_id: int | None = SourceCable

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        return clean_tags(v)

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, v: list[ObjectiveItem]) -> list[ObjectiveItem]:
        return clean_objectives(v)


class DemarcheUpdate(_In):
    """A partial update of a draft. Lists given replace the draft's list whole."""

    subject: str | None = Field(default=None, min_length=3, max_length=300)
    summary: str | None = Field(default=None, max_length=20_000)
    summary_classification: Classification | None = Mark
    classification: Classification | None = None
    precedence: Precedence | None = None
    deadline: IsoDate | None = None
    delivery_level: str | None = Field(default=None, max_length=200)
    tags: list[RawTag] | None = Field(default=None, max_length=30)
    objectives: list[ObjectiveItem] | None = Field(default=None, max_length=50)
    talking_points: list[TalkingPointIn] | None = Field(default=None, max_length=200)
    key_dates: list[KeyDateIn] | None = Field(default=None, max_length=50)
    targets: list[TargetIn] | None = Field(default=None, max_length=400)
    source_cable_id: int | None = SourceCable

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else clean_tags(v)

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, v: list[ObjectiveItem] | None) -> list[ObjectiveItem] | None:
        return None if v is None else clean_objectives(v)


class CancelIn(_In):
    reason: str = Field(default="", max_length=2000)


class CloseIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


class AmendIn(_In):
    """What an amendment changes; anything left out stays as it is."""

    reason: str = Field(min_length=1, max_length=2000, description="Why, shown to the posts")
    deadline: IsoDate | None = None
    objectives: list[ObjectiveItem] | None = Field(default=None, max_length=50)
    talking_points: list[TalkingPointIn] | None = Field(default=None, max_length=200)
    key_dates: list[KeyDateIn] | None = Field(default=None, max_length=50)
    targets: list[TargetIn] | None = Field(default=None, max_length=400)

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, v: list[ObjectiveItem] | None) -> list[ObjectiveItem] | None:
        return None if v is None else clean_objectives(v)


class RevisionOut(BaseModel):
    number: int
    reason: str
    created_at: datetime
    content: dict


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str | None
    entity: str
    entity_id: int
    action: str
    post: str | None
    before: dict | None
    after: dict | None


class TalkingPointOut(BaseModel):
    position: int
    text: str | None
    classification: Classification
    use: PointUse
    withheld: bool = False


class ObjectiveOut(BaseModel):
    position: int
    text: str | None
    classification: Classification
    withheld: bool = False


class KeyDateOut(BaseModel):
    """A key date; one above your clearance is withheld whole, its date too."""

    date: date | None
    what: str | None
    classification: Classification
    withheld: bool = False


class TargetOut(BaseModel):
    post: str
    post_name: str
    country: str
    role: TaskingRole
    due_date: date | None


class TaskingBrief(BaseModel):
    id: int
    post: str
    country: str
    role: TaskingRole
    due_date: date | None
    status: str


class DemarcheOut(BaseModel):
    id: int
    subject: str
    summary: str | None = Field(description="null when withheld (above your clearance)")
    summary_classification: Classification
    summary_withheld: bool = False
    classification: Classification
    status: DemarcheStatus
    deadline: date | None
    delivery_level: str | None
    tags: list[str]
    source_cable_id: int | None
    author: str
    created_at: datetime
    updated_at: datetime
    issued_at: datetime | None
    closed_at: datetime | None
    precedence: str
    revision: int = Field(description="Number of amendments since issue")
    version: int
    objectives: list[ObjectiveOut]
    talking_points: list[TalkingPointOut]
    withheld_points: int = Field(
        description="Talking points above your clearance, left out of what you see."
    )
    withheld_portions: int = Field(
        description="Portions of every kind (summary, objectives, points, key dates) above "
        "your clearance, left out of what you see."
    )
    key_dates: list[KeyDateOut]
    targets: list[TargetOut]
    taskings: list[TaskingBrief]


class DemarcheSummary(BaseModel):
    id: int
    subject: str
    classification: Classification
    status: DemarcheStatus
    deadline: date | None
    tags: list[str]
    issued_at: datetime | None


class DemarchePage(BaseModel):
    items: list[DemarcheSummary]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    limit: int


class FindingOut(BaseModel):
    code: str = Field(description="Stable name of the problem, e.g. `delivery_level_missing`")
    field: str = Field(description="The input to correct, e.g. `deadline`, `targets`")
    message: str


class CheckOut(BaseModel):
    """A draft's completeness check: errors stop it being issued; warnings do not, and
    issuing anyway records them in the issue's audit event."""

    demarche_id: int
    status: DemarcheStatus
    complete: bool = Field(description="No errors: the draft may be issued")
    errors: list[FindingOut]
    warnings: list[FindingOut]
