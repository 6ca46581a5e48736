"""A post's local calendar and clock: the day a meeting happened where it happened, and
a time written with the zone it is in.

Timestamps are stored in UTC (app/db.py); dates a post gives (a delivery, a planned
day) are in its own local sense. A post's zone is an IANA name (Post.time_zone).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_ZONE = "UTC"
# The longest IANA name is 32 characters (America/Argentina/ComodRivadavia).
ZONE_NAME_MAX = 64


@lru_cache(maxsize=512)
def zone(name: str | None) -> tzinfo:
    """The zone of this IANA name; UTC for none. A name the zone database does not know
    raises ValueError (schemas refuse one before it is stored)."""
    if not name or name == DEFAULT_ZONE:
        return UTC
    if not is_zone_name(name):
        raise ValueError(f"{name!r} is not a time zone name")
    return ZoneInfo(name)


def is_zone_name(name: str) -> bool:
    """Whether this is an IANA zone name ("Asia/Ho_Chi_Minh", "UTC")."""
    return name == DEFAULT_ZONE or name in _known()


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


def local_today(name: str | None, now: datetime | None = None) -> date:
    """Today's date where the post is."""
    return (now or datetime.now(UTC)).astimezone(zone(name)).date()


def local_date(moment: datetime, name: str | None) -> date:
    """The post's calendar date at this moment."""
    return moment.astimezone(zone(name)).date()


def local_time(moment: datetime | None, name: str | None) -> str:
    """A moment as the post's clock shows it, naming the zone: "2026-12-02 14:05 +07
    (Asia/Ho_Chi_Minh)", or "2026-12-02 07:05 UTC"."""
    if moment is None:
        return ""
    tz = zone(name)
    here = moment.astimezone(tz)
    if tz is UTC:
        return here.strftime("%Y-%m-%d %H:%M UTC")
    # %Z is an abbreviation where the zone has one ("CET") and an offset where not
    # ("+07"); the IANA name says which zone beyond doubt.
    return f"{here.strftime('%Y-%m-%d %H:%M %Z')} ({name})"
