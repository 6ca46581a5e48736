"""Optimistic concurrency over HTTP: ETags out, If-Match in, 412 when stale.

Every versioned row (demarche, tasking, response, commitment) has a version
that SQLAlchemy bumps and checks on UPDATE, so even two writers that both pass
the If-Match check cannot both win: the second UPDATE matches no row and
answers 412 too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Response
from pydantic.json_schema import SkipJsonSchema

from app.errors import PreconditionFailed, PreconditionRequired

# The header a versioned write takes, declared so that the OpenAPI names it (and the
# 412/428 it brings, app/openapi.py). A header is text or absent, never null.
IfMatch = Annotated[
    str | SkipJsonSchema[None],
    Header(
        alias="If-Match",
        description="The ETag of the record as you read it: 428 without it, 412 when stale",
    ),
]


def etag(kind: str, row_id: int, version: int) -> str:
    return f'W/"{kind}-{row_id}-v{version}"'


def _normalise(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


STALE = (
    "Someone else changed this {kind} after you opened the page (you read version {read}; "
    "it is now version {now}). Nothing was saved: check the current state below and try again."
)


def require_version(
    kind: str, row: Any, *, if_match: str | None = None, form_version: int | None = None
) -> None:
    """The writer read the row's current version, or the write is refused: 428 when it
    does not say which it read, 412 when that is stale. The API says it in If-Match; a
    page's form carries the version it was read at (its If-Match)."""
    if form_version is not None:
        if form_version != row.version:
            raise PreconditionFailed(
                STALE.format(kind=kind, read=form_version, now=row.version),
                current_version=row.version,
            )
        return
    header = if_match
    current = etag(kind, row.id, row.version)
    if not header:
        raise PreconditionRequired(
            f"Send If-Match: {current} (the ETag of the {kind} you read) so that "
            "you never overwrite someone else's change.",
            current_etag=current,
        )
    tags = [_normalise(t) for t in header.split(",")]
    # No "*": a client must show which version it read, or it could overwrite blind.
    if _normalise(current) not in tags:
        raise PreconditionFailed(
            f"The {kind} changed since you read it (now version {row.version}); "
            "reload it and try again.",
            current_etag=current,
        )


def set_etag(response: Response, kind: str, row: Any) -> None:
    response.headers["ETag"] = etag(kind, row.id, row.version)
