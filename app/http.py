"""Answering with a pydantic model that is already built and checked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastapi import Response
from pydantic import BaseModel


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
