"""What the service counts for Prometheus (`/metrics`, app/observability.py).

Every label takes a bounded set of values, so no request can make a new series: a
route is its template or "unmatched", a method one of the standard seven or "other", a
status its class ("2xx"). Nothing here holds a user, a path or any text.

Several processes (`demarche serve --workers N`): with PROMETHEUS_MULTIPROC_DIR set
before the first import of prometheus_client (`demarche serve` sets it from the setting
of that name and empties the folder at start), every process writes its values to
files there and a scrape of any worker adds them all up; gauges of processes that are
gone (a worker killed and replaced) are dropped at the next scrape.

A notification queue does not exist yet; when one does, its depth belongs here as a
Gauge set by whatever owns the queue, or, if the queue lives in the database, read at
scrape time (a collector beside `exposition`), so that every worker reports the same
number instead of each its own share.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import Engine, event

T = TypeVar("T")

log = logging.getLogger("app.metrics")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "demarche_http_requests",
    "HTTP requests answered, by route template, method and status class.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "demarche_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IN_FLIGHT = Gauge(
    "demarche_http_requests_in_flight",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)
DB_CHECKED_OUT = Gauge(
    "demarche_db_connections_checked_out",
    "Database connections in use (checked out of the pool) now.",
    multiprocess_mode="livesum",
)
CABLE_PARSE_SECONDS = Histogram(
    "demarche_cable_parse_seconds",
    "Time to parse one uploaded cable.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LOGIN_FAILURES = Counter(
    "demarche_login_failures",
    "Refused sign-ins: a wrong password, an unknown or disabled user (password), or an "
    "attempt refused by the throttle before any check (throttled).",
    ["reason"],
)

# A parse slower than this is logged (its size, never its text): the parser is linear and
# an upload at most MAX_CABLE_BYTES, so one this slow means either has stopped holding.
SLOW_PARSE_SECONDS = 1.0


def status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status else "none"


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def observe_request(route: str, method: str, status: int | None, seconds: float) -> None:
    labels = (route, method_label(method), status_class(status))
    REQUESTS.labels(*labels).inc()
    REQUEST_SECONDS.labels(*labels).observe(seconds)


def timed_parse(parse: Callable[[str], T], text: str) -> T:
    """parse(text), its time observed (and logged when slow), also when it gave up."""
    started = time.perf_counter()
    try:
        return parse(text)
    finally:
        took = time.perf_counter() - started
        CABLE_PARSE_SECONDS.observe(took)
        if took > SLOW_PARSE_SECONDS:
            log.warning("slow cable parse: %.2f s for %d characters", took, len(text))


def watch_pool(engine: Engine) -> None:
    """Count the engine's checked-out connections in DB_CHECKED_OUT (once per engine)."""

    @event.listens_for(engine, "checkout")
    def _out(*_: Any) -> None:
        DB_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _in(*_: Any) -> None:
        DB_CHECKED_OUT.dec()


def exposition() -> tuple[bytes, str]:
    """The text format of every metric: this process's, or all processes' when several
    share PROMETHEUS_MULTIPROC_DIR. Reads files in that case: call it off the event loop."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    _forget_dead_processes(path)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path)
    return generate_latest(registry), CONTENT_TYPE_LATEST


_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db$")


def _forget_dead_processes(path: str) -> None:
    """A worker that died without telling anyone (kill -9, a crash) leaves its live gauges
    (connections, requests in flight) behind; they would be added in for ever."""
    for file in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        m = _LIVE_GAUGE_FILE.search(os.path.basename(file))
        if m and not _alive(int(m.group(1))):
            mark_process_dead(int(m.group(1)), path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
