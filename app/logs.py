"""Logs as an operator reads them: one JSON object a line on stderr, each line of a
request carrying its request id.

What a line may hold: every answer, write and error here may be read by an attacker, and
so may the log, by whoever collects it. No line carries a secret (password, token,
cookie), nor classified text (a cable's or a demarche's words): the access line names
the route's template (`/api/v1/demarches/{demarche_id}`), never the path or its query;
the database is asked to keep statement parameters out of its errors (app/db.py); and a
logged exception keeps its traceback's frames but only the first line of each message
(a database error's first line names the constraint; PostgreSQL's DETAIL lines after
it quote the row).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the request being answered, in whatever thread or task logs for it (a sync
# route runs in the thread pool, which copies the context).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# An incoming X-Request-ID is kept when it is a plain token: a proxy's or a client's id
# then follows the request through our log. Anything else (too long, spaces, quotes,
# control characters) could forge or break a line, and is replaced.
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

# The attributes every LogRecord has; anything else on a record came in `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}
_MESSAGE_LINE_MAX = 300


def new_request_id(incoming: str | None) -> str:
    """The incoming id when it is a sane token, else a fresh one (32 hex digits)."""
    if incoming is not None and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id (in a request),
    process id, whatever the call passed in `extra=`, and `exc` for an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            line["exc"] = exception_text(record.exc_info[1])
        elif record.exc_text:
            line["exc"] = record.exc_text.splitlines()[0][:_MESSAGE_LINE_MAX]
        return json.dumps(line, default=str, ensure_ascii=False)


def exception_text(exc: BaseException) -> str:
    """A traceback for the log: every frame, and the first line of each message in the
    chain, cut short. What follows a first line (a database error's DETAIL quoting the
    row, a validation error's inputs) is dropped."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(_one_exception(current))
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return "\n-- caused by --\n".join(parts)


def _one_exception(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
    return f"{frames}{name}: {first[:_MESSAGE_LINE_MAX]}".rstrip(": ")


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler configure_logging installs (found again by its class)."""


def configure_logging(level: str) -> None:
    """JSON lines on stderr for the whole process, uvicorn's own loggers included.

    Idempotent, and it touches no other handler: a test's capturing handlers stay.
    uvicorn's loggers hand their records to the root (its access log is off: ours,
    app.http, says more and names no path).
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
