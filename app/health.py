"""Probes for the operator: the process is up (live), and it can serve (ready).

Neither needs a credential, so neither says more than ok or not: what is wrong (the
database's error, the revisions found and expected) goes to the log, never the answer.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.deps import SessionDep
from app.errors import problem
from app.http import problems
from app.revisions import current_heads, expected_heads

log = logging.getLogger("app.health")

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = "ok"


def _not_ready(detail: str) -> Response:
    return problem(
        503,
        "Service unavailable",
        detail,
        instance="/health/ready",
        type_slug="not-ready",
        headers={"Retry-After": "5"},
    )


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability; needs no credentials."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/health/live", response_model=Health)
async def live() -> dict[str, str]:
    """The process answers. Asks nothing of the database: restart the process if not."""
    # On the event loop, not the thread pool: it answers while every thread is busy.
    return {"status": "ok"}


@router.get(
    "/health/ready",
    response_model=Health,
    responses={
        503: {
            **problems(503)[503],
            "description": "The database does not answer, or its schema is not the one "
            "this code expects (run `demarche db upgrade`)",
        }
    },
)
def ready(session: SessionDep) -> Any:
    """Ready to serve: the database answers and its schema is at this code's head."""
    try:
        found = current_heads(session.connection())
    except SQLAlchemyError as exc:
        log.warning("not ready: the database does not answer: %s", type(exc).__name__)
        return _not_ready("The database does not answer.")
    expected = expected_heads()
    if found != expected:
        log.warning(
            "not ready: the database is at revision %s, this code expects %s",
            ", ".join(sorted(found)) or "none",
            ", ".join(sorted(expected)),
        )
        return _not_ready("The database schema is not at the revision this code expects.")
    return {"status": "ok"}
