"""Idempotency-Key for POSTs that create records: a retried request is answered from
the first answer, and nothing is logged twice."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.errors import Conflict, Invalid
from app.taskings.models import IdempotencyKey


def key_of(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 128:
        raise Invalid("Idempotency-Key must be 1 to 128 characters.")
    return key


def _signature(request: Request) -> str:
    return f"{request.method} {request.url.path}"[:200]


def replay(session: Session, request: Request, actor: User) -> JSONResponse | None:
    """The stored answer for a key already used, or None for a new key."""
    key = key_of(request)
    if key is None:
        return None
    prior = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key)
    )
    if prior is None:
        return None
    if prior.request != _signature(request):
        raise Conflict(f"This Idempotency-Key was first used for {prior.request}; use a new key.")
    return JSONResponse(
        prior.body, status_code=prior.status_code, headers={"Idempotent-Replayed": "true"}
    )


def remember(
    session: Session, request: Request, actor: User, status_code: int, body: dict[str, Any]
) -> None:
    """Store the answer in the same transaction as the records it describes."""
    key = key_of(request)
    if key is None:
        return
    session.add(
        IdempotencyKey(
            user_id=actor.id,
            key=key,
            request=_signature(request),
            status_code=status_code,
            body=body,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        # No savepoint needed: the request's whole transaction rolls back with this error.
        # A concurrent retry with the same key got there first: this one writes nothing.
        raise Conflict(
            "A request with this Idempotency-Key is being processed; retry in a moment."
        ) from exc
