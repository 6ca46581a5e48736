"""Sign-in throttling: slow the guesser, not the person they guess at.

Three counters, each a row of login_throttles, counted in a window that starts at the
first failure and ends a fixed time later:

- an address and user pair: 5 failures in 15 minutes, then that pair waits out the
  window. This is the one a guesser meets, and it is theirs alone: the real user,
  from their own address, signs in as before;
- an address, across users: 20 in 15 minutes (one machine spraying many accounts);
- a user, across addresses: 50 in 5 minutes, a higher bar and a shorter wait, for a
  guesser with many addresses. It is the one counter an attacker can push on someone
  else's behalf; at its bar that takes ten or more addresses, and the wait is short.

An attempt is counted before its password is checked (`claim`), by one statement per
counter that adds one and returns the total, so parallel attempts each see a
different total and only those within the limit are checked. The caller commits the
claim before checking the password, so that no lock is held while the hash runs.
A refused attempt counts nowhere (its claims are given back), so hammering a pair
that waits does not push its address or user towards their limits. Once checked,
`settle` keeps a failure's claims and gives back a success's, clearing its pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.auth.models import LoginThrottle
from app.db import UTCDateTime, utcnow
from app.metrics import LOGIN_FAILURES


@dataclass(frozen=True)
class Limit:
    scope: str
    failures: int  # allowed in a window; the next waits for the window's end
    window: timedelta


PER_PAIR = Limit("pair", 5, timedelta(minutes=15))
PER_ADDRESS = Limit("address", 20, timedelta(minutes=15))
PER_USER = Limit("user", 50, timedelta(minutes=5))
LIMITS = (PER_PAIR, PER_ADDRESS, PER_USER)


@dataclass(frozen=True)
class Claimed:
    limit: Limit
    key: str
    window_started_at: datetime


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt as counted: what it claimed, or, refused, how long to wait."""

    claims: list[Claimed] = field(default_factory=list)
    retry_after: int | None = None  # seconds, when refused

    @property
    def refused(self) -> bool:
        return self.retry_after is not None


def keys_for(*, username: str, address: str) -> list[tuple[Limit, str]]:
    name, addr = username.strip().lower()[:64], address[:64]
    return [(PER_PAIR, f"{addr} {name}"), (PER_ADDRESS, addr), (PER_USER, name)]


def claim(session: Session, *, username: str, address: str, now: datetime | None = None) -> Attempt:
    """Count this attempt against each of its counters, in order; refused (and counted
    nowhere) at the first that is past its limit. Commit before checking the password."""
    now = now or utcnow()
    claims: list[Claimed] = []
    for limit, key in keys_for(username=username, address=address):
        failures, started = _count(session, limit, key, now)
        claimed = Claimed(limit, key, started)
        if failures > limit.failures:
            for given_back in [*claims, claimed]:
                _give_back(session, given_back)
            wait = (started + limit.window - now).total_seconds()
            LOGIN_FAILURES.labels(reason="throttled").inc()
            return Attempt(retry_after=max(1, math.ceil(wait)))
        claims.append(claimed)
    return Attempt(claims)


def settle(session: Session, attempt: Attempt, *, signed_in: bool) -> None:
    """After the password check: a failure stays counted; a success gives its claims
    back, and clears its pair (whoever is at this address knows the password)."""
    if not signed_in:
        return
    for c in attempt.claims:
        if c.limit is PER_PAIR:
            session.execute(
                delete(LoginThrottle).where(
                    LoginThrottle.scope == c.limit.scope, LoginThrottle.key == c.key
                )
            )
        else:
            _give_back(session, c)


def _count(session: Session, limit: Limit, key: str, now: datetime) -> tuple[int, datetime]:
    """Add one to this counter (a new window if the last has ended) and return its
    failures and the start of its window: one statement, so concurrent attempts are
    counted one after another (on PostgreSQL the upsert waits for the row's lock)."""
    expired = LoginThrottle.window_started_at <= now - limit.window
    stamp = literal(now, UTCDateTime())
    stmt = (
        _insert(session)(LoginThrottle)
        .values(scope=limit.scope, key=key, failures=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.scope, LoginThrottle.key],
            set_={
                "failures": case((expired, 1), else_=LoginThrottle.failures + 1),
                "window_started_at": case((expired, stamp), else_=LoginThrottle.window_started_at),
            },
        )
        .returning(LoginThrottle.failures, LoginThrottle.window_started_at)
    )
    failures, started = session.execute(stmt).one()
    return failures, started


def _give_back(session: Session, c: Claimed) -> None:
    # Only within the window it was claimed in: a window begun since owes it nothing.
    session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.scope == c.limit.scope,
            LoginThrottle.key == c.key,
            LoginThrottle.window_started_at == c.window_started_at,
            LoginThrottle.failures > 0,
        )
        .values(failures=LoginThrottle.failures - 1)
    )


def _insert(session: Session) -> Any:
    """The INSERT that knows ON CONFLICT, for the dialect this session runs on."""
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert
