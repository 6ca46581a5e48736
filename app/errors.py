"""One error family for the domain, rendered as RFC 9457 problem JSON by the API.

Services raise these; they know their HTTP status, so no router translates errors
by hand, and a page handler can render the same error as a readable message.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from app.logs import current_request_id

PROBLEM_JSON = "application/problem+json"

# An error answer stays small whatever was sent: 85,000 unknown keys must not come
# back as 85,000 listed errors (5 MB). The first MAX_LISTED_ERRORS are listed, each
# cut to MAX_ERROR_TEXT characters, and `errors_omitted` counts the rest.
MAX_LISTED_ERRORS = 50
MAX_ERROR_TEXT = 200
MAX_DETAIL = 2000


class DomainError(Exception):
    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"
    # Seconds after which the same request may succeed, sent as Retry-After.
    retry_after: int | None = None

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


class FieldProblem(BaseModel):
    field: str = Field(description="Where: `query.limit`, `talking_points.0.text`, ...")
    message: str


class ProblemDetails(BaseModel):
    """Every error the API answers, as `application/problem+json` (RFC 9457). Only the
    schema of the OpenAPI document: problem() writes the body. Some problems carry more
    members than these (`current_etag` on a 412 or 428, `allowed_actions` on a 409)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="What kind of problem: `/problems/<slug>`, or about:blank")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    # Left out of the body when there is none: absent, never null.
    instance: str | SkipJsonSchema[None] = Field(default=None, description="The path asked for")
    errors: list[FieldProblem | str] | SkipJsonSchema[None] = Field(
        default=None, description=f"What was wrong with the request, the first {MAX_LISTED_ERRORS}"
    )
    errors_omitted: int | SkipJsonSchema[None] = Field(
        default=None, description="How many more there were"
    )


def clip(text: str, limit: int = MAX_ERROR_TEXT) -> str:
    """Text cut to `limit` characters, an ellipsis saying it was."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def bounded_errors(errors: list[Any]) -> dict[str, Any]:
    """`errors` (and `errors_omitted`) for a problem body: the first few, each clipped."""
    listed = [
        {k: clip(v) if isinstance(v, str) else v for k, v in e.items()}
        if isinstance(e, dict)
        else clip(str(e))
        for e in errors[:MAX_LISTED_ERRORS]
    ]
    out: dict[str, Any] = {"errors": listed}
    if len(errors) > MAX_LISTED_ERRORS:
        out["errors_omitted"] = len(errors) - MAX_LISTED_ERRORS
    return out


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
        "detail": clip(detail, MAX_DETAIL),
    }
    if instance:
        body["instance"] = clip(instance, MAX_DETAIL)
    rid = current_request_id()
    if rid:
        # In the body as well as the header: the problem is what a user copies to ask why.
        body["request_id"] = rid
        headers = {**(headers or {}), "X-Request-ID": rid}
    if isinstance(extra.get("errors"), list):
        extra = {**extra, **bounded_errors(extra["errors"])}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
