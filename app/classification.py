"""Classification levels, ordered, and the portion marks that stand for them."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Classification(enum.StrEnum):
    UNCLASSIFIED = "UNCLASSIFIED"
    SBU = "SBU"
    CONFIDENTIAL = "CONFIDENTIAL"
    SECRET = "SECRET"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Classification):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Classification):
            return NotImplemented
        return self.rank < other.rank

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Classification):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Classification):
            return NotImplemented
        return self.rank > other.rank

    @classmethod
    def at_or_below(cls, level: Classification) -> list[Classification]:
        return [c for c in cls if c.rank <= level.rank]


_RANK = {
    Classification.UNCLASSIFIED: 0,
    Classification.SBU: 1,
    Classification.CONFIDENTIAL: 2,
    Classification.SECRET: 3,
}

_MARKS = {
    "U": Classification.UNCLASSIFIED,
    "SBU": Classification.SBU,
    "U//FOUO": Classification.SBU,
    "C": Classification.CONFIDENTIAL,
    "S": Classification.SECRET,
}


def from_marking(marking: str | None) -> Classification:
    """Map a portion mark ("C", "(SBU)") or a banner ("CONFIDENTIAL//NOFORN") to a level.

    Unknown or missing marks read as UNCLASSIFIED only when truly absent; anything
    naming a higher level wins, so a damaged mark never lowers protection.
    """
    if not marking:
        return Classification.UNCLASSIFIED
    m = marking.strip().strip("()").upper()
    if m in _MARKS:
        return _MARKS[m]
    if "SECRET" in m or m.startswith("S/"):
        return Classification.SECRET
    if "CONFIDENTIAL" in m or m.startswith("C/"):
        return Classification.CONFIDENTIAL
    if "SBU" in m or "SENSITIVE" in m or "FOR OFFICIAL USE ONLY" in m or "FOUO" in m:
        return Classification.SBU
    return Classification.UNCLASSIFIED


def highest(levels: Iterable[Classification]) -> Classification:
    """The banner of a page that shows these: the highest of them."""
    return max(levels, default=Classification.UNCLASSIFIED, key=lambda c: c.rank)
