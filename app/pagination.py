"""One pagination contract for every list the API serves.

A list answers `{"items": [...], "next_cursor": ..., "limit": n}`: pass `next_cursor`
back as `?cursor=` for the next page; it is null on the last. A cursor is opaque: it
holds the sort key of the last row shown (keyset pagination, so a deep page costs what
the first does), and one this API did not hand out is refused with a 422. The page
size is `?limit=`, bounded by the settings.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from typing import Annotated, Any

from fastapi import Query

from app.errors import Invalid
from app.limits import ID_MAX
from app.settings import Settings

Limit = Annotated[
    int | None,
    Query(ge=1, le=ID_MAX, description="Page size (bounded by the server's maximum)"),
]
Cursor = Annotated[
    str | None, Query(max_length=200, description="next_cursor of the previous page")
]

_PREFIX = "k1:"


def page_size(limit: int | None, settings: Settings) -> int:
    return min(limit or settings.default_page_size, settings.max_page_size)


def encode_cursor(*key: int | str | date | None) -> str:
    """The cursor after a row whose sort key is `key` (dates travel as ISO text)."""
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    raw = _PREFIX + json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *shape: type) -> tuple[Any, ...]:
    """The sort key a cursor holds, checked against the types the list sorts by (a
    `date` may be None: rows without one sort last)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError("prefix")
        values = json.loads(raw.removeprefix(_PREFIX))
        if not isinstance(values, list) or len(values) != len(shape):
            raise ValueError("shape")
        return tuple(_typed(v, t) for v, t in zip(values, shape, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("The cursor is not one this API handed out.") from exc


def _typed(value: Any, kind: type) -> Any:
    if kind is date:
        return None if value is None else date.fromisoformat(value)
    # bool is an int to Python, never a key here.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(kind.__name__)
    # Every int a list sorts by is an id: an INTEGER column, which PostgreSQL will
    # not compare with a value past it (app/limits.py). Nor can it compare a NUL.
    if isinstance(value, int) and not 0 <= value <= ID_MAX:
        raise ValueError("out of range")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL")
    return value
