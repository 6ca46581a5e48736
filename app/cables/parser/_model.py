"""Result types of the cable parser: plain frozen dataclasses, JSON-ready via to_dict()."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Addressee:
    name: str
    routing: str | None = None
    precedence: str | None = None
    serial: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    letter: str | None
    text: str
    ref_id: str | None


@dataclass(frozen=True, slots=True)
class Paragraph:
    number: int | None
    marking: str | None
    text: str


@dataclass(frozen=True, slots=True)
class TalkingPoint:
    text: str
    use: str  # "private" or "public"


@dataclass(frozen=True, slots=True)
class KeyDate:
    date: str
    what: str


@dataclass(frozen=True, slots=True)
class ParsedCable:
    ref_id: str | None = None
    mrn: str | None = None
    dtg: str | None = None
    precedence: str | None = None
    originator: str | None = None
    action_addressees: tuple[Addressee, ...] = ()
    info_addressees: tuple[Addressee, ...] = ()
    classification: str | None = None
    captions: tuple[str, ...] = ()
    declassify_on: str | None = None
    classified_by: str | None = None
    tags: tuple[str, ...] = ()
    subject: str | None = None
    references: tuple[Reference, ...] = ()
    summary: str | None = None
    paragraphs: tuple[Paragraph, ...] = ()
    signature: str | None = None
    action_request: bool = False
    action_paragraphs: tuple[int, ...] = ()
    deadline: str | None = None
    delivery_level: str | None = None
    objectives: tuple[str, ...] = ()
    talking_points: tuple[TalkingPoint, ...] = ()
    key_dates: tuple[KeyDate, ...] = ()
    info_only: tuple[str, ...] = ()
    # Named in prose as left out of the addressees: "(except Beijing)".
    excluded: tuple[str, ...] = ()
    target_description: str | None = None
    kind: str = "other"
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        # asdict turns nested dataclasses into dicts; tuples become lists for JSON.
        return _listify(asdict(self))


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value
