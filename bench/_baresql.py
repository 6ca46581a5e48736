"""The bare-SQL yardstick: the statements the app sends for a request, replayed without it.

`capture` runs one request in process (TestClient) and records every statement and its
parameters exactly as SQLAlchemy hands them to the driver. `replay` sends the same
statements through psycopg or sqlite3 directly (fetching every row, one transaction, as
the app does) and returns the median time. endpoint latency / bare SQL is then what the
stack (HTTP, auth, ORM, serialisation) costs on top of the database work.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url


@dataclass
class Captured:
    statements: list[tuple[str, Any]]
    status: int

    @property
    def count(self) -> int:
        return len(self.statements)


def capture(engine: Engine, do_request: Callable[[], int]) -> Captured:
    do_request()  # warm caches (and let the hourly token "last used" write happen now)
    seen: list[tuple[str, Any]] = []

    def _before(_conn, _cursor, statement, parameters, _context, executemany):
        if statement.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK"):
            return
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", _before)
    try:
        status = do_request()
    finally:
        event.remove(engine, "before_cursor_execute", _before)
    return Captured(seen, status)


def replay(
    url: str, requests: list[Captured], *, max_seconds: float = 2.0, max_rounds: int = 400
) -> float:
    """Median seconds to run one request's captured statements, in one transaction.

    The requests are replayed in turn, as wrk rotates over the scenario's paths, so
    the median covers the same mix of rows (and of cached pages) as the endpoint's."""
    u = make_url(url)
    times: list[float] = []
    minimum = 2 * len(requests)

    def more() -> bool:
        return len(times) < max_rounds and (len(times) < minimum or time.perf_counter() < deadline)

    if u.get_backend_name() == "postgresql":
        import psycopg

        dsn = u.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            deadline = time.perf_counter() + max_seconds
            while more():
                captured = requests[len(times) % len(requests)]
                t0 = time.perf_counter()
                with conn.cursor() as cur:
                    for stmt, params in captured.statements:
                        cur.execute(stmt, params)
                        if cur.description is not None:
                            cur.fetchall()
                conn.rollback()  # reads only; nothing to keep
                times.append(time.perf_counter() - t0)
    else:
        conn = sqlite3.connect(u.database or "", isolation_level=None)
        try:
            deadline = time.perf_counter() + max_seconds
            while more():
                captured = requests[len(times) % len(requests)]
                t0 = time.perf_counter()
                cur = conn.cursor()
                cur.execute("BEGIN")
                for stmt, params in captured.statements:
                    cur.execute(stmt, params)
                    cur.fetchall()
                cur.execute("ROLLBACK")
                times.append(time.perf_counter() - t0)
        finally:
            conn.close()
    return statistics.median(times)
