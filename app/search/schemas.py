"""What the search API answers: results grouped by kind, each with a marked snippet."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.search.models import Kind


class HitOut(BaseModel):
    id: int
    title: str
    field: str = Field(description="Which portion matched: subject, summary, point, body, ...")
    snippet: str = Field(description="Plain text around the first match (not HTML)")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) character offsets of the matching words in snippet"
    )
    link: str = Field(description="The record's page")


class KindOut(BaseModel):
    kind: Kind
    total: int = Field(description="How many records of this kind you may see match")
    items: list[HitOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for this kind's next page; null on its last page."
    )


class SearchOut(BaseModel):
    q: str
    groups: list[KindOut]
    limit: int
