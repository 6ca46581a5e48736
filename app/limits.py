"""Bounds on what a request may carry, checked before anything reads it or the
database sees it: body size, integer ranges, text lengths, NUL characters.

Every id column is a 32-bit INTEGER (int4 on PostgreSQL), so an id outside
1..ID_MAX cannot name a row, and PostgreSQL would refuse to compare one (a 500).
How an impossible value is answered depends on where it was sent:

- in the path (`/demarches/99999999999999999999`), it names nothing: 404, exactly as
  a missing record (app/handlers.py turns a path parameter's range error into it);
- in a query, a form or a JSON body, it is a malformed request: 422.

A NUL character is refused with 422 wherever it is sent (path, query, cookie, form
field, JSON string or key): PostgreSQL cannot store or compare one, and no field of
ours has a use for it. Files in a multipart form (cable uploads) are the cable
reader's to judge, not this guard's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Invalid, problem

# The largest value of the INTEGER columns every id lives in.
ID_MAX = 2**31 - 1
# Free text in a query string (a filter, a sort order): far above any real one.
QUERY_TEXT_MAX = 200
# A same-site path a page returns to after sign-in or a move (`?next=`).
NEXT_PATH_MAX = 2000

# An id in a path: 404 outside 1..ID_MAX (see app/handlers.py), as for a missing one.
RecordId = Annotated[int, Path(ge=1, le=ID_MAX, description="The record's id")]
# An id in a query string, as a filter: 422 outside 1..ID_MAX.
QueryId = Annotated[int | None, Query(ge=1, le=ID_MAX)]
# A page of a server-rendered list (past the last shows the last).
PageNumber = Annotated[int, Query(ge=1, le=ID_MAX)]
# Free text in a query string.
QueryText = Annotated[str, Query(max_length=QUERY_TEXT_MAX)]
# Where a page sends the browser next (`?next=`).
NextPath = Annotated[str, Query(max_length=NEXT_PATH_MAX)]
# A post's code and a user's name in a path: longer than their columns, they name
# nothing (404, as for a missing one).
PostCode = Annotated[str, Path(max_length=32, description="The post's code, e.g. HANOI")]
UserName = Annotated[str, Path(max_length=64)]

NUL = "\x00"

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_as_written(value: object) -> object:
    """A date sent in a request is written YYYY-MM-DD, as the OpenAPI's `format: date`
    says: pydantic alone also reads a number, or a numeric string, as a Unix time
    (`"deadline": 0` would be 1970-01-01), which the schema refuses."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("date_parsing", "Input should be a date written YYYY-MM-DD")


# A date in a request (query, form or JSON body).
IsoDate = Annotated[date, BeforeValidator(_date_as_written)]


class BodySizeLimit:
    """413 problem JSON for a body over the limit, declared or streamed.

    Checks Content-Length first (cheap), and also counts the bytes of chunked
    bodies, which carry no length up front.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return

        seen = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now and tell the app the client went away, so it stops
                    # reading and whatever it tries to send afterwards is dropped.
                    refused = True
                    await self._refuse(scope, receive, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(
            413,
            "Content too large",
            f"The request body is over the {limit:,}-byte limit.",
            instance=scope["path"],
            type_slug="too-large",
        )
        await response(scope, receive, send)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _json_has_nul(value: Any) -> bool:
    """A NUL in any string or key of decoded JSON (iterative: depth costs no stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


async def _body_has_nul(request: Request) -> bool:
    """A NUL in a form field (not a file) or anywhere in a JSON body. The route has
    already read and parsed what it takes (Starlette keeps it), so this reads nothing
    twice; a body the route does not take, and cannot parse, is ignored with it."""
    media = _media_type(request)
    if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # A malformed form is Starlette's 400 (HTTPException), answered now: the failed
        # parse used up the body, so the route, reading it after us, could not answer.
        try:
            form = await request.form()
        except HTTPException:
            raise
        except Exception:  # not a form after all: the route did not read one either
            return False
        return any(
            NUL in key or (not isinstance(value, UploadFile) and NUL in value)
            for key, value in form.multi_items()
        )
    if media == "application/json" or media.endswith("+json"):
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested past the parser
            return False
        return _json_has_nul(body)
    return False


async def refuse_nul(request: Request) -> None:
    """An app-wide dependency: 422 for a NUL character anywhere in what a route reads."""
    where = None
    if NUL in request.url.path:
        where = "the path"
    elif any(NUL in k or NUL in v for k, v in request.query_params.multi_items()):
        where = "the query string"
    elif any(NUL in k or NUL in v for k, v in request.cookies.items()):
        where = "a cookie"
    elif request.method not in ("GET", "HEAD", "OPTIONS") and await _body_has_nul(request):
        where = "the body"
    if where:
        raise Invalid(f"A NUL character (U+0000) in {where}: no field accepts one.")
