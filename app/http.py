"""Answering with a pydantic model that is already built and checked, and declaring
what a route answers besides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Response
from pydantic import BaseModel

from app.errors import PROBLEM_JSON


def model_response(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Serialize once, in pydantic's core. Returning the model itself makes FastAPI
    validate it again against response_model, which on hot reads costs more than the SQL.
    The route keeps response_model for the OpenAPI schema."""
    return Response(
        model.model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers=dict(headers) if headers else None,
    )


def model_list_response(models: Sequence[BaseModel]) -> Response:
    """A JSON array of models, each serialized once in pydantic's core."""
    body = b"[" + b",".join(m.model_dump_json().encode() for m in models) + b"]"
    return Response(body, media_type="application/json")


# -- what a route declares it answers (the OpenAPI document; app/openapi.py adds the
# statuses every route of a kind answers, so a route names only its own) -------------

PROBLEM_SCHEMA_REF = "#/components/schemas/ProblemDetails"

PROBLEM_DESCRIPTIONS = {
    400: "The body is malformed: not well-formed JSON, or not a well-formed form",
    401: "No valid access token: send `Authorization: Bearer <token>`",
    403: "Your role, post or clearance may not do this (where a record is named, you may see it)",
    404: "No such record, or none you may see (the two are answered alike)",
    409: "Conflicts with what is stored: a move not open from the record's state "
    "(`allowed_actions` says which are), a record that exists already, or an "
    "Idempotency-Key first used for another request",
    412: "The If-Match you sent is not the record's current ETag: reload it",
    413: "The body is over the size limit",
    422: "The request breaks the schema or a rule of the domain",
    428: "Send If-Match with the ETag of the record you read",
    503: "The service cannot answer now; try again after `Retry-After` seconds",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for these error statuses, each answered as problem JSON."""
    return {
        code: {
            "description": PROBLEM_DESCRIPTIONS[code],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for code in codes
    }


def sends_etag(status_code: int = 200) -> dict[int | str, dict[str, Any]]:
    """`responses=` saying a success carries the ETag to send back as If-Match."""
    return {
        status_code: {
            "headers": {
                "ETag": {
                    "description": "The record's version: send it as If-Match to change it",
                    "schema": {"type": "string"},
                }
            }
        }
    }


def sends_text(description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route whose success is a text/plain document (a cable)."""
    return {
        200: {
            "description": description,
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    }
