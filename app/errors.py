"""One error family for the domain, rendered as RFC 9457 problem JSON by the API.

Services raise these; they know their HTTP status, so no router translates errors
by hand, and a page handler can render the same error as a readable message.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, title, type_slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, type_slug = 409, "Conflict", "conflict"


class Invalid(DomainError):
    """The request is well formed but breaks a domain rule (unknown post, past deadline)."""

    status, title, type_slug = 422, "Unprocessable content", "invalid"


class PreconditionFailed(DomainError):
    status, title, type_slug = 412, "Precondition failed", "stale-version"


class PreconditionRequired(DomainError):
    status, title, type_slug = 428, "Precondition required", "if-match-required"


class Unauthorized(DomainError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class PayloadTooLarge(DomainError):
    status, title, type_slug = 413, "Content too large", "too-large"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    type_slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{type_slug}" if type_slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
