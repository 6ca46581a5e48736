"""Idempotency-Key for POSTs that create records: a retried request is answered from
the first answer, and nothing is logged twice.

Concurrent copies of one key: the first to arrive claims the key (a row written
before anything else is checked, in the request's own transaction) and goes on; a
copy that arrives while it is still in flight waits for it to end, at most
IN_FLIGHT_WAIT seconds, then is answered as the first was. If the first failed, it
wrote nothing, its claim with it, and the copy goes on as a first try of its own. A
copy still waiting after IN_FLIGHT_WAIT gets 409 "in progress" with Retry-After,
and nothing is written.

The claim comes before the If-Match check on purpose: the first try moves the
version on, and a retry carries the version read before it. So every copy passes
through the key first, and only a new key's request meets the version check.

How it waits: on PostgreSQL a second INSERT of the same key blocks on the first's
uncommitted row until that transaction ends (lock_timeout bounds it); on SQLite a
write request holds the database's write lock from its first statement (app/db.py),
so a copy begins only once the first has committed or rolled back.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import CursorResult, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.db import is_busy
from app.errors import Conflict, Invalid
from app.taskings.models import IdempotencyKey

# Seconds a copy waits for the first try of its key to end.
IN_FLIGHT_WAIT = 5.0
# The status a claimed key holds until its request has answered: never committed (the
# request either remembers its answer or rolls back, claim and all).
_CLAIMED = 0


class InProgress(Conflict):
    type_slug = "in-progress"
    retry_after = 1


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
    """The stored answer for a key already used, or None for a new key, which this
    request has now claimed (remember() stores its answer)."""
    key = key_of(request)
    if key is None:
        return None
    if _claim(session, actor, key, _signature(request)):
        return None
    prior = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == actor.id, IdempotencyKey.key == key)
    )
    if prior is not None and prior.request != _signature(request):
        raise Conflict(f"This Idempotency-Key was first used for {prior.request}; use a new key.")
    if prior is None or prior.status_code == _CLAIMED:
        raise _in_progress()
    return JSONResponse(
        prior.body, status_code=prior.status_code, headers={"Idempotent-Replayed": "true"}
    )


def _in_progress() -> InProgress:
    return InProgress("A request with this Idempotency-Key is being processed; retry in a moment.")


def _claim(session: Session, actor: User, key: str, signature: str) -> bool:
    """Insert the key as claimed; False if it was already there (then committed: a
    copy in flight was waited for). 409 in progress if waiting took too long."""
    row = {
        "user_id": actor.id,
        "key": key,
        "request": signature,
        "status_code": _CLAIMED,
        "body": {},
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(IdempotencyKey).values(**row).on_conflict_do_nothing()
        usual = session.execute(
            text("SELECT current_setting('lock_timeout'), set_config('lock_timeout', :t, true)"),
            {"t": f"{int(IN_FLIGHT_WAIT * 1000)}ms"},
        ).scalar_one()
        try:
            inserted = session.execute(stmt.returning(IdempotencyKey.id)).first()
        except OperationalError as exc:
            if is_busy(exc):  # the first try is still in flight after IN_FLIGHT_WAIT
                raise _in_progress() from exc
            raise
        session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": usual})
    else:
        stmt = sqlite.insert(IdempotencyKey).values(**row).on_conflict_do_nothing()
        inserted = session.execute(stmt.returning(IdempotencyKey.id)).first()
    return inserted is not None


def remember(
    session: Session, request: Request, actor: User, status_code: int, body: dict[str, Any]
) -> None:
    """Store the answer in the claimed key, in the same transaction as the records it
    describes."""
    key = key_of(request)
    if key is None:
        return
    stored = session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.user_id == actor.id,
            IdempotencyKey.key == key,
            IdempotencyKey.status_code == _CLAIMED,
        )
        .values(status_code=status_code, body=body)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], stored).rowcount != 1:  # an UPDATE's result has a rowcount
        # replay() claims every key first; a route that skipped it is a bug, not a retry.
        raise RuntimeError("remember() of an Idempotency-Key that replay() did not claim")
