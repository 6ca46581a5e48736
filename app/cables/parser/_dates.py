"""Prose dates: "December 17", "17 December", "Dec. 17, 2007", "January 5, 2009"."""

from __future__ import annotations

import re
from datetime import date

# Two-digit years: telegrams of this format run from the 1960s, so "66" is 1966, never
# 2066; the pivot leaves room for this century's cables until 2049.
CENTURY_PIVOT = 50


def full_year(two_or_four: int) -> int:
    """A year as written ("07", "66", "2007") as four digits."""
    if two_or_four >= 100:
        return two_or_four
    return two_or_four + (1900 if two_or_four >= CENTURY_PIVOT else 2000)


_MONTH_NAMES = {
    "JAN": 1,
    "FEB": 2,
    "MAR": 3,
    "APR": 4,
    "MAY": 5,
    "JUN": 6,
    "JUL": 7,
    "AUG": 8,
    "SEP": 9,
    "SEPT": 9,
    "OCT": 10,
    "NOV": 11,
    "DEC": 12,
}
_MON = r"(?:JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?|SEPT?(?:EMBER)?|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?)"
PROSE_DATE = re.compile(
    r"\b(?:(?P<m1>"
    + _MON
    + r")\.? +(?P<d1>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)(?:,? +(?P<y1>(?:19|20)\d\d))?"
    r"|(?P<d2>[0-3]?\d)(?:st|nd|rd|th)? +(?P<m2>" + _MON + r")\.?(?:,? +(?P<y2>(?:19|20)\d\d))?)\b",
    re.IGNORECASE,
)


def month_number(name: str) -> int | None:
    n = name.upper().rstrip(".")
    return _MONTH_NAMES.get(n[:4]) if n[:4] == "SEPT" else _MONTH_NAMES.get(n[:3])


def resolve(m: re.Match[str], cable: date | None) -> date | None:
    """A prose date; the year comes from the cable, rolling over when the month is earlier."""
    mon = month_number(m.group("m1") or m.group("m2"))
    day = int(m.group("d1") or m.group("d2"))
    year_s = m.group("y1") or m.group("y2")
    if mon is None:
        return None
    if year_s:
        year = int(year_s)
    elif cable is not None:
        year = cable.year + (1 if mon < cable.month else 0)
    else:
        return None
    try:
        return date(year, mon, day)
    except ValueError:
        return None


# Case-sensitive twin for upper-cased text: the case-insensitive scan is several times slower.
PROSE_DATE_UPPER = re.compile(PROSE_DATE.pattern.replace("(?:st|nd|rd|th)", "(?:ST|ND|RD|TH)"))


def find_dates(flat: str) -> list[re.Match[str]]:
    """All prose dates in flat; match offsets are valid in flat."""
    up = flat.upper()
    if len(up) == len(flat):
        return list(PROSE_DATE_UPPER.finditer(up))
    return list(PROSE_DATE.finditer(flat))
