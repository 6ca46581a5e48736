"""Load-test the tracker over loopback and print its figures beside the stack's ceiling.

For each database given (built by bench/generate.py), it starts the app with production
settings (`demarche serve --workers 2`), signs in for the pages, and drives each scenario
with wrk: a warm-up pass (thrown away), one client (latency), then N clients (throughput,
errors, and the CPU milliseconds each request cost the app's processes and, on a local
PostgreSQL, every process of the database server, read from /proc). Each read scenario
rotates over (path, credential) pairs spread over the generator's readers and what each
may read (bench/_readers.py), and each database's section records the machine's load,
the database's settings and the data's size (bench/_state.py). For each read scenario
it also times the bare SQL the app sends for those requests (captured in process, replayed
through the driver in the same rotation, right after the one-client run) and prints
endpoint / bare SQL. Logging a delivery counts the
Delivery rows before and after: nothing lost, nothing doubled. On PostgreSQL it also runs
/work/shared/bench/ceiling_app.py on the same server and, in --rounds paired rounds (the
ceiling, then ours, with the same load), prints our GET-a-tasking and page-of-50 figures
as the median of the rounds' ratios to the ceiling's, by throughput and by CPU per
request (ceiling / ours: the headline, >= 1.0 when we use less). Every load loop is bounded by
--duration; only 127.0.0.1 is used.

Run: python bench/run.py --database-url URL [--database-url URL2] [--duration 10] [--write]
(without --write nothing is written to bench/RESULTS.md: figures are printed only)
Writes (logging deliveries) add rows: rebuild with generate.py for pristine data.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import _baresql, _cpu, _state, _wrk  # noqa: E402
from bench._readers import (  # noqa: E402
    Reader,
    bearer_line,
    cookie_line,
    describe,
    pick_for_cookies,
    readers_from,
    split_line,
    spread,
)
from bench._server import Server, free_port  # noqa: E402
from bench.generate import default_credentials_path  # noqa: E402

CEILING_DIR = Path("/work/shared/bench")
RESULTS = REPO / "bench" / "RESULTS.md"
OUT = REPO / "bench" / "out"
READS = ["home", "demarche_page", "inbox", "overdue", "api_demarches", "api_tasking"]
BARE_PATHS = 40  # paths per scenario whose bare SQL is replayed (wrk rotates over them all)
WORKERS = 2  # uvicorn workers of the app and of the ceiling
ROTATION = 2000  # (path, credential) pairs per read scenario
TASKINGS_PER_POST = 30  # taskings of each post, spread over its history, to read
DEEP_PAGES = 60  # of the filtered lists, how many are followed to a later page (up to 10)
PAGES = ["home", "demarche_page", "inbox", "overdue"]  # read with a session cookie
WRITES = ["deliver", "cable"]
SCENARIOS = READS + WRITES
TITLES = {
    "home": "home dashboard `/`",
    "demarche_page": "demarche page, 200 target posts",
    "inbox": "post inbox `/inbox`",
    "overdue": "overdue board `/overdue`",
    "api_demarches": "`GET /api/v1/demarches` filtered, page of 50",
    "api_tasking": "`GET /api/v1/taskings/{id}`",
    "deliver": "log a delivery (POST, If-Match)",
    "cable": "ingest a cable (POST)",
    "ceiling_key": "ceiling: one row by key",
    "ceiling_page": "ceiling: page of 50",
}


@dataclass
class Result:
    scenario: str
    one: _wrk.Figures | None = None
    many: _wrk.Figures | None = None
    bare_ms: float | None = None
    statements: int | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # CPU ms per request, many clients
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.one and self.bare_ms:
            return self.one.p50_ms / self.bare_ms
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "one_client": self.one.as_dict() if self.one else None,
            "clients": self.many.as_dict() if self.many else None,
            "bare_sql_ms": round(self.bare_ms, 3) if self.bare_ms else None,
            "statements": self.statements,
            "ratio": round(self.ratio, 2) if self.ratio else None,
            "cpu_ms_per_request": {k: round(v, 3) for k, v in self.cpu.items()},
            "note": self.note,
            **self.extra,
        }


@dataclass
class Setup:
    """What the scenarios need: who reads as whom, which ids to read and write."""

    creds: dict[str, Any]
    readers: list[Reader]
    tokens: dict[str, str]  # the named bench users' (desk, viewer, post)
    taskings_by_post: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    post_codes: list[str] = field(default_factory=list)
    big_classification: str = "SECRET"
    big_posts: set[int] = field(default_factory=set)
    lines: dict[str, list[str]] = field(default_factory=dict)  # the wrk rotation per scenario
    spread: dict[str, dict[str, Any]] = field(default_factory=dict)
    writable: list[tuple[int, str]] = field(default_factory=list)


# -- set-up ---------------------------------------------------------------------


def sign_in(base: str, username: str, password: str) -> str:
    """The session cookie of a browser sign-in (CSRF double-submit, as the form does it)."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as c:
        form = c.get("/login")
        csrf = form.cookies.get("dmt_login_csrf") or re.search(
            r'name="csrf_token" value="([^"]+)"', form.text
        ).group(1)  # type: ignore[union-attr]
        r = c.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": csrf, "next": "/"},
            cookies={"dmt_login_csrf": csrf},
        )
        cookie = r.cookies.get("dmt_session")
        if r.status_code != 303 or not cookie:
            raise RuntimeError(f"sign-in as {username} failed: {r.status_code}")
        return cookie


def prepare(url: str, creds: dict[str, Any], rng: random.Random) -> Setup:
    engine = create_engine(url)
    users = creds["users"]
    s = Setup(
        creds=creds, readers=readers_from(creds), tokens={k: v["token"] for k, v in users.items()}
    )
    with engine.connect() as conn:
        # Of each post, taskings spread over its whole history (a fixed shuffle of ids),
        # with their demarche's classification: what each reader may open is known here.
        rows = conn.execute(
            text(
                "SELECT id, post_id, classification FROM (SELECT t.id, t.post_id, "
                "d.classification, row_number() OVER (PARTITION BY t.post_id "
                "ORDER BY CAST(t.id AS BIGINT) * 7919 % 10007, t.id) AS rn "
                "FROM taskings t JOIN demarches d ON d.id = t.demarche_id) x "
                "WHERE rn <= :k ORDER BY id"
            ),
            {"k": TASKINGS_PER_POST},
        ).all()
        for tid, pid, cls in rows:
            s.taskings_by_post.setdefault(pid, []).append((tid, str(cls)))
        s.post_codes = list(conn.scalars(text("SELECT code FROM posts ORDER BY code")))
        big = creds["big_demarche_id"]
        s.big_classification = str(
            conn.scalar(text("SELECT classification FROM demarches WHERE id = :d"), {"d": big})
        )
        s.big_posts = set(
            conn.scalars(text("SELECT post_id FROM taskings WHERE demarche_id = :d"), {"d": big})
        )
        # Writable by the post: open action taskings of issued demarches at posts whose
        # officer (with a bench token) is cleared to see the demarche.
        rank = (
            "CASE {} WHEN 'UNCLASSIFIED' THEN 0 WHEN 'SBU' THEN 1 "
            "WHEN 'CONFIDENTIAL' THEN 2 ELSE 3 END"
        )
        rows = conn.execute(
            text(
                "SELECT t.id, t.post_id FROM taskings t JOIN demarches d ON d.id = t.demarche_id "
                "JOIN users u ON u.post_id = t.post_id AND u.role = 'post_officer' "
                "WHERE d.status = 'issued' AND t.role = 'action' "
                "AND t.status IN ('pending', 'acknowledged', 'delivered') "
                f"AND {rank.format('d.classification')} <= {rank.format('u.clearance')} "
                "ORDER BY t.id"
            )
        ).all()
    engine.dispose()
    tokens = creds["post_tokens"]
    s.writable = [(tid, tokens[str(pid)]) for tid, pid in rows if str(pid) in tokens]
    rng.shuffle(s.writable)
    return s


def candidates(scenario: str, s: Setup) -> Any:
    """For a read scenario, the paths a reader may read (none: the reader is left out)."""
    cleared: dict[str, list[str]] = {}

    def tasking_paths(r: Reader) -> list[str]:
        if r.role == "post_officer":  # its own post's taskings, the ones it is cleared for
            own = s.taskings_by_post.get(r.post_id or 0, [])
            return [f"/api/v1/taskings/{t}" for t, c in own if r.cleared_for(c)]
        if r.clearance not in cleared:
            cleared[r.clearance] = [
                f"/api/v1/taskings/{t}"
                for rows in s.taskings_by_post.values()
                for t, c in rows
                if r.cleared_for(c)
            ]
        return cleared[r.clearance]

    def list_paths(r: Reader) -> list[str]:
        codes = [r.post_code] if r.role == "post_officer" else s.post_codes
        return [f"/api/v1/demarches?post={c}&limit=50" for c in codes if c]

    def big_page(r: Reader) -> list[str]:
        tasked = r.role != "post_officer" or r.post_id in s.big_posts
        if r.cookie and tasked and r.cleared_for(s.big_classification):
            return [f"/demarches/{s.creds['big_demarche_id']}"]
        return []

    def page(path: str, roles: tuple[str, ...]) -> Any:
        return lambda r: [path] if r.cookie and r.role in roles else []

    everyone = ("post_officer", "desk_officer", "viewer")
    return {
        "api_tasking": tasking_paths,
        "api_demarches": list_paths,
        "demarche_page": big_page,
        "home": page("/", everyone),
        "inbox": page("/inbox", ("post_officer",)),
        "overdue": page("/overdue", ("desk_officer", "viewer")),
    }[scenario]


def build_rotations(s: Setup, rng: random.Random) -> None:
    """Each read scenario's (path, credential) pairs: pages by session cookie, the API by
    bearer token, spread over readers (bench/_readers.py) and over what each may read."""
    for scenario in READS:
        if scenario in PAGES and not any(r.cookie for r in s.readers):
            continue
        n = ROTATION if scenario.startswith("api_") else ROTATION // 4
        pairs = spread(s.readers, candidates(scenario, s), n, rng)
        line = bearer_line if scenario.startswith("api_") else cookie_line
        s.lines[scenario] = [line(p, r) for p, r in pairs]
        s.spread[scenario] = describe(pairs)


def add_deeper_pages(base: str, s: Setup, rng: random.Random) -> None:
    """Paging: follow some of the filtered lists, each as its own reader, to a page
    between the 2nd and the 10th, and put that page in the rotation too."""
    lines = s.lines["api_demarches"]
    more = []
    with httpx.Client(base_url=base, timeout=30) as c:
        for line in rng.sample(lines, min(DEEP_PAGES, len(lines))):
            path, hdrs = split_line(line)
            url = path
            for _ in range(rng.randint(1, 9)):
                cursor = c.get(url, headers=hdrs).json().get("next_cursor")
                if not cursor:
                    break
                url = f"{path}&cursor={cursor}"
            if url != path:
                more.append(line.replace(path, url, 1))
    s.lines["api_demarches"] += more
    s.spread["api_demarches"]["later_pages"] = len(more)


# -- bare SQL ---------------------------------------------------------------------


def capture_bare_sql(
    url: str, s: Setup, scenarios: list[str]
) -> dict[str, list[_baresql.Captured]]:
    """Per read scenario: the statements the app sends for each of its paths, captured in
    process. They are timed later, right after the scenario's one-client run, so that
    both see the database in the same state (a page that scans much evicts what the
    next scenario reads from PostgreSQL's buffers)."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url=url, log_level="WARNING"))
    engine = app.state.engine
    out: dict[str, list[_baresql.Captured]] = {}
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for scenario in scenarios:
            if scenario not in READS:
                continue
            found = []
            for line in s.lines.get(scenario, [])[:BARE_PATHS]:
                path, hdrs = split_line(line)

                def request(path: str = path, hdrs: dict[str, str] = hdrs) -> int:
                    return client.get(path, headers=hdrs, follow_redirects=False).status_code

                captured = _baresql.capture(engine, request)
                if captured.status != 200:
                    break
                found.append(captured)
            if found:
                out[scenario] = found
    engine.dispose()
    return out


def time_bare_sql(url: str, res: Result, captured: list[_baresql.Captured] | None) -> None:
    if captured:
        res.bare_ms = _baresql.replay(url, captured, max_seconds=1.0) * 1000
        res.statements = max(c.count for c in captured)


# -- scenarios ----------------------------------------------------------------------


def route_answers(base: str, path: str, headers: dict[str, str], method: str = "GET") -> int:
    return httpx.request(
        method, base + path, headers=headers, timeout=30, follow_redirects=False
    ).status_code


def write_lines(lines: list[str]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, dir=OUT) as f:
        f.write("\n".join(lines) + "\n")
    return f.name


def warm_up(srv: Server, script: str, args: list[str], a: argparse.Namespace, **kw: Any) -> None:
    """A pass whose figures are thrown away: the first requests pay for cold caches
    (the database's buffers, the workers' compiled statements and templates)."""
    if a.warmup > 0:
        srv.wait_idle()
        _wrk.run(
            srv.base_url,
            script,
            args,
            connections=a.connections,
            threads=a.threads,
            seconds=a.warmup,
            **kw,
        )


def loaded(
    srv: Server, meter: _cpu.Meter, script: str, args: list[str], a: argparse.Namespace, **kw: Any
) -> tuple[_wrk.Figures, dict[str, float]]:
    """The many-client pass, and the CPU each request cost the app and the database."""
    srv.wait_idle()
    before = meter.sample()
    figures = _wrk.run(
        srv.base_url,
        script,
        args,
        connections=a.connections,
        threads=a.threads,
        seconds=a.duration,
        **kw,
    )
    srv.wait_idle()  # what wrk left queued is answered, and paid for, inside the pass
    return figures, meter.ms_per_request(before, meter.sample(), figures.requests)


def run_read(
    srv: Server,
    url: str,
    scenario: str,
    s: Setup,
    a: argparse.Namespace,
    captured: list[_baresql.Captured] | None,
    meter: _cpu.Meter,
) -> Result:
    base = srv.base_url
    res = Result(scenario)
    if not s.lines.get(scenario):
        res.note = "skipped: no reader may read it in this data set"
        return res
    first, hdrs = split_line(s.lines[scenario][0])
    status = route_answers(base, first, hdrs)
    if status in (404, 405):
        res.note = f"skipped: {first} answers {status} (route not built yet)"
        return res
    if status != 200:
        res.note = f"skipped: {first} answers {status}"
        return res
    paths = write_lines(s.lines[scenario])
    warm_up(srv, "get.lua", [paths], a)
    srv.wait_idle()
    res.one = _wrk.run(base, "get.lua", [paths], connections=1, threads=1, seconds=a.one_duration)
    time_bare_sql(url, res, captured)
    res.many, res.cpu = loaded(srv, meter, "get.lua", [paths], a)
    return res


def etag_lines(url: str, s: Setup) -> list[str]:
    """Fresh ETags (re-read from the database) for the writable taskings."""
    engine = create_engine(url)
    ids = [tid for tid, _ in s.writable]
    versions: dict[int, int] = {}
    with engine.connect() as conn:
        for i in range(0, len(ids), 5000):
            chunk = ids[i : i + 5000]
            versions.update(
                conn.execute(
                    text(
                        f"SELECT id, version FROM taskings WHERE id IN ({','.join(map(str, chunk))})"
                    )
                ).all()
            )
    engine.dispose()
    return [f'{tid}\t{tok}\tW/"tasking-{tid}-v{versions[tid]}"' for tid, tok in s.writable]


def count(url: str, sql: str, **params: Any) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = int(conn.scalar(text(sql), params) or 0)
    engine.dispose()
    return n


DELIVERY = json.dumps(
    {
        "delivered_on": datetime.now(UTC).date().isoformat(),
        "delivered_by": "Bench Officer",
        "recipient_name": "Bench Minister",
        "recipient_title": "Minister",
        "level": "minister",
        "method": "meeting",
        "points": [],
        "notes": "bench",
    },
    separators=(",", ":"),
)


def run_deliver(
    srv: Server, url: str, s: Setup, a: argparse.Namespace, meter: _cpu.Meter
) -> Result:
    res = Result("deliver")
    if not s.writable:
        res.note = "skipped: no writable tasking in the data set"
        return res
    nonce = f"{os.getpid()}{int(time.time())}"
    figures = []
    created = delta = keys = 0
    passes = [("one", 1, 1, a.one_duration), ("many", a.connections, a.threads, a.duration)]
    if a.warmup > 0:  # counted for lost and doubled writes too, but not in the figures
        passes.insert(0, ("warm", a.connections, a.threads, a.warmup))
    for label, conns, threads, secs in passes:
        srv.wait_idle()  # and every write of the last run is committed
        lines = write_lines(etag_lines(url, s))  # re-read: the last run spent the ETags
        before = count(url, "SELECT count(*) FROM deliveries")
        cpu_before = meter.sample()
        f = _wrk.run(
            srv.base_url,
            "deliver.lua",
            [lines, f"{nonce}{label}", str(threads), DELIVERY],
            connections=conns,
            threads=threads,
            seconds=secs,
        )
        srv.wait_idle()  # requests wrk left in flight finish before the count
        if label == "many":
            res.cpu = meter.ms_per_request(cpu_before, meter.sample(), f.requests)
        after = count(url, "SELECT count(*) FROM deliveries")
        # Each committed delivery stores its Idempotency-Key in the same transaction.
        keys += count(
            url,
            "SELECT count(*) FROM idempotency_keys WHERE key LIKE :k",
            k=f"bench-{nonce}{label}-%",
        )
        created += f.statuses.get("201", 0)
        delta += after - before
        if label != "warm":
            figures.append(f)
    res.one, res.many = figures
    # wrk stops with requests in flight: the server may commit a delivery whose 201 wrk
    # never reads. A 201 without its row is lost; a row without its key is doubled.
    res.extra = {
        "created_201": created,
        "rows_added": delta,
        "keys_stored": keys,
        "lost": max(0, created - delta),
        "duplicated": max(0, delta - keys),
        "in_flight_at_stop": max(0, keys - created),
        "writable_taskings": len(s.writable),
    }
    if res.many.statuses.get("412"):
        res.note = "more requests than writable taskings: some reused a spent ETag (412)"
    return res


def run_cable(srv: Server, s: Setup, a: argparse.Namespace, meter: _cpu.Meter) -> Result:
    base = srv.base_url
    res = Result("cable")
    hdrs = {"Authorization": f"Bearer {s.tokens['desk']}"}
    status = route_answers(base, "/api/v1/cables", hdrs, method="POST")
    if status in (404, 405):
        res.note = f"skipped: POST /api/v1/cables answers {status} (route not built yet)"
        return res
    corpus = sorted((CEILING_DIR.parent / "cables").glob("*.txt"))
    if not corpus:
        res.note = "skipped: no cables in /work/shared/cables"
        return res
    files = write_lines([str(p) for p in corpus])
    warm_up(srv, "post_cable.lua", [files], a, headers=hdrs)
    srv.wait_idle()
    res.one = _wrk.run(
        base,
        "post_cable.lua",
        [files],
        connections=1,
        threads=1,
        seconds=a.one_duration,
        headers=hdrs,
    )
    res.many, res.cpu = loaded(srv, meter, "post_cable.lua", [files], a, headers=hdrs)
    res.note = (
        f"{len(corpus)} corpus cables in rotation: after the first pass each is "
        "already stored (200, the dedupe path)"
    )
    return res


def ceiling_server(pg_url: str) -> Server:
    """The stack ceiling (see its README) on the same PostgreSQL server, filled once."""
    u = make_url(pg_url)
    db = u.set(database="bench_ceiling")
    ceiling_db = db.render_as_string(hide_password=False)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = 'bench_ceiling'")):
            conn.execute(text('CREATE DATABASE "bench_ceiling"'))
    admin.dispose()
    eng = create_engine(ceiling_db)
    with eng.connect() as conn:
        has = conn.scalar(text("SELECT to_regclass('item') IS NOT NULL"))
        n = conn.scalar(text("SELECT count(*) FROM item")) if has else 0
        # Seeded before the ceiling's page of 50 had its index (its README): seed again.
        indexed = conn.scalar(text("SELECT to_regclass('ix_item_post_due_id') IS NOT NULL"))
    eng.dispose()
    env = {"CEILING_DB": ceiling_db}
    if n != 600_000 or not indexed:
        subprocess.run(
            [sys.executable, "ceiling_app.py"],
            cwd=CEILING_DIR,
            env={**os.environ, **env},
            check=True,
            timeout=600,
        )
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "ceiling_app:app",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return Server(
        cmd, port=port, env=env, cwd=CEILING_DIR, log=OUT / "ceiling.log", health="/items/12345"
    )


# Our figure, the ceiling's matching one, and the target ratio (by CPU and by throughput).
PAIRS = (
    ("api_tasking", "ceiling_key", 1.0),
    ("api_demarches", "ceiling_page", 1.0),
)


def ceiling_lines(rng: random.Random) -> dict[str, list[str]]:
    """The ceiling's rotations, spread as ours are: rows by key across its 600,000 rows,
    and the page of 50 of each of its 280 posts (one hot key would be served from the
    buffers every time, which ours are not)."""
    return {
        "ceiling_key": [f"/items/{i}" for i in rng.sample(range(1, 600_001), ROTATION)],
        "ceiling_page": [f"/items?post=POST{i:03d}" for i in rng.sample(range(280), 280)],
    }


@dataclass
class Pair:
    mine: str
    theirs: str
    target: float
    ours: list[float] = field(default_factory=list)  # req/s, one per round
    ceiling: list[float] = field(default_factory=list)
    cpu_ours: list[float] = field(default_factory=list)  # CPU ms per request, app + database
    cpu_ceiling: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def ratios(self) -> list[float]:
        return [m / c for m, c in zip(self.ours, self.ceiling, strict=True) if c]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def cpu_ratios(self) -> list[float]:
        """Ceiling / ours, by round: ≥ 1.0 means we use less CPU per request than it."""
        return [c / m for m, c in zip(self.cpu_ours, self.cpu_ceiling, strict=True) if m]

    @property
    def cpu_ratio(self) -> float | None:
        return statistics.median(self.cpu_ratios) if self.cpu_ratios else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.mine,
            "ceiling_figure": self.theirs,
            "ours_rps": [round(x, 1) for x in self.ours],
            "ceiling_rps": [round(x, 1) for x in self.ceiling],
            "ratios": [round(x, 3) for x in self.ratios],
            "median_ratio": round(self.ratio, 3) if self.ratios else None,
            "ours_cpu_ms": [round(x, 3) for x in self.cpu_ours],
            "ceiling_cpu_ms": [round(x, 3) for x in self.cpu_ceiling],
            "cpu_ratios_ceiling_over_ours": [round(x, 3) for x in self.cpu_ratios],
            "median_cpu_ratio": round(self.cpu_ratio, 3) if self.cpu_ratio else None,
            "target": self.target,
            "errors": self.errors,
        }


def run_pairs(
    ours: Server, pg_url: str, s: Setup, a: argparse.Namespace, postmaster: int | None
) -> list[Pair]:
    """Ours and the ceiling's, back to back, round after round, with the same load.

    On a shared machine the throughput of either drifts by a third from one minute to
    the next; figures taken minutes apart made the ratio mostly noise. Alternating
    them in rounds and keeping the median of each round's ratio lets the drift cancel.
    CPU per request (each app's processes plus every process of the database server,
    which serves only the one being loaded) drifts less, and is the headline.
    """
    pairs = [Pair(mine, theirs, target) for mine, theirs, target in PAIRS]
    theirs_lines = ceiling_lines(random.Random(11))
    files = {p.theirs: write_lines(theirs_lines[p.theirs]) for p in pairs}
    files |= {p.mine: write_lines(s.lines[p.mine]) for p in pairs}
    with ceiling_server(pg_url) as ceiling:
        meters = {
            ours: _cpu.Meter({"app": ours.pid, "db": postmaster}),
            ceiling: _cpu.Meter({"app": ceiling.pid, "db": postmaster}),
        }
        for pair in pairs:
            warm_up(ceiling, "get.lua", [files[pair.theirs]], a)
            warm_up(ours, "get.lua", [files[pair.mine]], a)
        for _ in range(a.rounds):
            for pair in pairs:
                ours.wait_idle()
                theirs, theirs_cpu = loaded(
                    ceiling, meters[ceiling], "get.lua", [files[pair.theirs]], a
                )
                ceiling.wait_idle()
                mine, mine_cpu = loaded(ours, meters[ours], "get.lua", [files[pair.mine]], a)
                pair.errors += theirs.errors + mine.errors
                pair.ceiling.append(theirs.rps)
                pair.ours.append(mine.rps)
                if "total" in mine_cpu and "total" in theirs_cpu:
                    pair.cpu_ours.append(mine_cpu["total"])
                    pair.cpu_ceiling.append(theirs_cpu["total"])
                print(
                    f"  round: {pair.mine} {mine.rps:,.0f} req/s "
                    f"{mine_cpu.get('total', 0):.2f} CPU ms/req, {pair.theirs} "
                    f"{theirs.rps:,.0f} req/s {theirs_cpu.get('total', 0):.2f} CPU ms/req; "
                    f"throughput ratio {mine.rps / max(theirs.rps, 1e-9):.2f}, CPU ratio "
                    f"(ceiling/ours) "
                    f"{theirs_cpu.get('total', 0) / max(mine_cpu.get('total', 0), 1e-9):.2f}",
                    flush=True,
                )
    return pairs


def postmaster_pid(url: str) -> int | None:
    """The local PostgreSQL server's postmaster (None on SQLite or a remote server)."""
    if make_url(url).get_backend_name() != "postgresql":
        return None
    engine = create_engine(url)
    with engine.connect() as conn:
        backend = int(conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        found = _cpu.postmaster_of(backend)
    engine.dispose()
    return found


def run_database(url: str, a: argparse.Namespace, *, compare: bool) -> dict[str, Any]:
    backend = make_url(url).get_backend_name()
    creds_path = Path(a.credentials) if a.credentials else default_credentials_path(url)
    creds = json.loads(creds_path.read_text())
    state: dict[str, Any] = {
        "cpu": _state.cpu(),
        "load_before": _state.load_average(),
        "database": _state.database(url),
    }
    rng = random.Random(7)
    s = prepare(url, creds, rng)
    postmaster = postmaster_pid(url)
    port = free_port()
    env = {"DATABASE_URL": url, "LOG_LEVEL": a.log_level}
    cmd = [
        str(REPO / ".venv" / "bin" / "python"),
        "-m",
        "app.cli",
        "serve",
        "--workers",
        "2",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    results: list[Result] = []
    memory: list[dict[str, float]] = []
    t0 = time.perf_counter()
    with Server(cmd, port=port, env=env, cwd=REPO, log=OUT / f"server-{backend}.log") as srv:
        meter = _cpu.Meter({"app": srv.pid, "db": postmaster})
        if set(a.scenarios) & set(PAGES):  # a sign-in costs a password hash: only if read
            for r in pick_for_cookies(s.readers, a.cookies, rng):
                r.cookie = sign_in(srv.base_url, r.username, creds["password"])
        build_rotations(s, rng)
        if "api_demarches" in a.scenarios:
            add_deeper_pages(srv.base_url, s, rng)
        captured = capture_bare_sql(url, s, a.scenarios)
        for scenario in a.scenarios:
            if a.no_load:
                res = Result(scenario, note="no load (--no-load)")
                time_bare_sql(url, res, captured.get(scenario))
            elif scenario in READS:
                res = run_read(srv, url, scenario, s, a, captured.get(scenario), meter)
            elif scenario == "deliver":
                res = run_deliver(srv, url, s, a, meter)
            else:
                res = run_cable(srv, s, a, meter)
            results.append(res)
            print(format_row(res), flush=True)
        memory = srv.worker_memory_mb()
        pairs = run_pairs(srv, url, s, a, postmaster) if compare else []
    state["load_after"] = _state.load_average()
    state["database_cpu_measured"] = postmaster is not None
    return {
        "backend": backend,
        "database": make_url(url).render_as_string(hide_password=True),
        "scale": creds.get("scale"),
        "taskings": creds.get("counts", {}).get("taskings"),
        "seconds": round(time.perf_counter() - t0, 1),
        "state": state,
        "readers": {k: s.spread[k] for k in READS if k in s.spread},
        "memory": memory,
        "results": [r.as_dict() for r in results],
        "against_ceiling": [p.as_dict() for p in pairs],
        "_results": results,
        "_pairs": pairs,
    }


# -- reporting ----------------------------------------------------------------------


HEADER = (
    "| scenario | 1 client p50 / p95 / p99 ms | 16 clients req/s | 16 clients p50 / p95 / "
    "p99 ms | CPU ms/req app + db | errors | bare SQL ms (stmts) | endpoint / SQL |"
)
RULE = "|---|---|---|---|---|---|---|---|"


def _cpu_ms(cpu: dict[str, float]) -> str:
    if "total" not in cpu:
        return "–"
    if "db" in cpu:
        return f"{cpu['total']:.2f} ({cpu['app']:.2f} + {cpu['db']:.2f})"
    return f"{cpu['total']:.2f}"


def _ms(f: _wrk.Figures | None) -> str:
    return f"{f.p50_ms:.1f} / {f.p95_ms:.1f} / {f.p99_ms:.1f}" if f else "–"


def format_row(r: Result) -> str:
    many = r.many
    bare = f"{r.bare_ms:.2f} ({r.statements})" if r.bare_ms else "–"
    ratio = f"{r.ratio:.1f}" if r.ratio else "–"
    errors = "–"
    if many:
        errors = str(many.errors + (r.one.errors if r.one else 0))
    title = TITLES.get(r.scenario, r.scenario)
    if r.note and not many:
        return f"| {title} | {r.note} | | | | | {bare} | |"
    return (
        f"| {title} | {_ms(r.one)} | {many.rps:,.0f} | {_ms(many)} | {_cpu_ms(r.cpu)} | "
        f"{errors} | {bare} | {ratio} |"
        if many
        else f"| {title} | – | – | – | – | – | {bare} | – |"
    )


def machine() -> dict[str, str]:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")
    )
    return {
        "nproc": str(os.cpu_count()),
        "memory": f"{int(mem.split()[1]) / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def pg_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        v = str(conn.scalar(text("SHOW server_version")))
    engine.dispose()
    return v


def report(runs: list[dict[str, Any]], a: argparse.Namespace, info: dict[str, str]) -> str:
    lines = [
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Machine: {info['nproc']} cores "
        f"({info['cpu']}), {info['memory']} memory; PostgreSQL {info.get('postgresql', '–')}, "
        f"SQLite {info['sqlite']}, Python {info['python']}.",
        f"Load: wrk, {a.connections} connections on {a.threads} threads for {a.duration:g} s "
        f"per scenario, after a warm-up of {a.warmup:g} s and one client for "
        f"{a.one_duration:g} s; app and ceiling with two uvicorn workers each. CPU ms/req: "
        "user + system time of the app's processes and of every process of the database "
        "server (PostgreSQL; SQLite runs inside the workers), from /proc, over the "
        "many-client pass, divided by the requests answered.",
        "",
    ]
    for run in runs:
        lines += [
            f"### {run['backend']}: {run['database']} (scale {run['scale']}, "
            f"{run['taskings']:,} taskings)",
            "",
            *(_state.describe(run["state"]) if run.get("state") else []),
            *reader_lines(run.get("readers", {})),
            "",
            HEADER,
            RULE,
        ]
        lines += [format_row(r) for r in run["_results"]]
        notes = [f"- {TITLES[r.scenario]}: {r.note}" for r in run["_results"] if r.note and r.many]
        notes += recurrence_lines(run["_results"], run.get("readers", {}))
        for r in run["_results"]:
            if r.scenario == "deliver" and r.extra:
                e = r.extra
                notes.append(
                    f"- log a delivery: {e['created_201']} answered 201, "
                    f"{e['rows_added']} Delivery rows and {e['keys_stored']} "
                    f"Idempotency-Keys added ({e['in_flight_at_stop']} committed while "
                    f"wrk stopped): {e['lost']} lost, {e['duplicated']} duplicated."
                )
        mem = run["memory"]
        if mem:
            notes.append(
                "- worker memory after the load: "
                + ", ".join(
                    f"pid {m['pid']}: {m['rss_mb']:.0f} MB RSS (peak {m['peak_rss_mb']:.0f} MB)"
                    for m in mem
                )
            )
        lines += ["", *notes, ""]
    for run in runs:
        if not run["_pairs"]:
            continue
        lines += [
            "### Against the stack ceiling (PostgreSQL, same server, same load)",
            "",
            f"{a.rounds} rounds after a warm-up of each; in each, the ceiling then ours, "
            f"{a.connections} clients for {a.duration:g} s apiece, our readers spread as above "
            "and the ceiling's keys and posts spread likewise. Each ratio is the median of the "
            "rounds' ratios.",
            "",
            "**CPU per request, ceiling / ours (≥ 1.0 means we use less CPU than the "
            "ceiling)**: "
            + "; ".join(
                f"{TITLES[p.mine]} **{p.cpu_ratio:.2f}**"
                if p.cpu_ratio
                else f"{TITLES[p.mine]} not measured"
                for p in run["_pairs"]
            ),
            "",
            "| figure | ours CPU ms/req by round | ceiling CPU ms/req by round | "
            "ceiling / ours by round | median | target |",
            "|---|---|---|---|---|---|",
        ]
        for pair in run["_pairs"]:
            cpu = pair.cpu_ratio
            verdict = "–" if cpu is None else ("met" if cpu >= pair.target else "missed")
            lines.append(
                f"| {TITLES[pair.mine]} vs {TITLES[pair.theirs]} | "
                f"{' / '.join(f'{x:.2f}' for x in pair.cpu_ours)} | "
                f"{' / '.join(f'{x:.2f}' for x in pair.cpu_ceiling)} | "
                f"{' / '.join(f'{x:.2f}' for x in pair.cpu_ratios)} | "
                f"{'–' if cpu is None else f'{cpu:.2f}'} | ≥ {pair.target} {verdict} |"
            )
        lines += [
            "",
            "| figure | ours req/s by round | ceiling req/s by round | ratio by round | "
            "median ratio | errors | target |",
            "|---|---|---|---|---|---|---|",
        ]
        for pair in run["_pairs"]:
            lines.append(
                f"| {TITLES[pair.mine]} vs {TITLES[pair.theirs]} | "
                f"{' / '.join(f'{x:,.0f}' for x in pair.ours)} | "
                f"{' / '.join(f'{x:,.0f}' for x in pair.ceiling)} | "
                f"{' / '.join(f'{x:.2f}' for x in pair.ratios)} | {pair.ratio:.2f} | "
                f"{pair.errors} | "
                f"≥ {pair.target} {'met' if pair.ratio >= pair.target else 'missed'} |"
            )
        lines.append("")
    return "\n".join(lines)


def reader_lines(readers: dict[str, dict[str, Any]]) -> list[str]:
    """How each read scenario's rotation is spread over readers, for checking afterwards."""
    out = []
    for scenario, d in readers.items():
        kinds = ", ".join(f"{v} {k}" for k, v in d["by_kind"].items())
        later = f", {d['later_pages']} of them later pages" if d.get("later_pages") else ""
        out.append(
            f"- readers, {TITLES[scenario]}: {d['requests']} requests over {d['paths']} "
            f"paths{later}, {d['credentials']} distinct credentials ({kinds}), "
            f"{d['posts']} posts' officers"
        )
    return out


def recurrence_lines(results: list[Result], readers: dict[str, dict[str, Any]]) -> list[str]:
    """How often a worker sees the same credential again, beside how long its credential
    cache keeps one: a recurrence shorter than the cache's lifetime means mostly hits."""
    from app.settings import Settings

    ttl = Settings.model_fields["credential_cache_seconds"].default
    out = []
    for r in results:
        d = readers.get(r.scenario)
        if r.many and r.many.rps and d:
            every = WORKERS * d["credentials"] / r.many.rps
            out.append(
                f"- {TITLES[r.scenario]}: each of {d['credentials']} credentials reaches a "
                f"worker again about every {every:.1f} s at {r.many.rps:,.0f} req/s "
                f"(the credential cache keeps one {ttl:g} s)"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--database-url",
        action="append",
        required=True,
        help="a database built by generate.py (repeat for PostgreSQL and SQLite)",
    )
    ap.add_argument("--credentials", help="credentials JSON (default: next to the database)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per loaded scenario")
    ap.add_argument("--one-duration", type=float, default=5.0, help="seconds with one client")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds of load, thrown away, before each scenario's one-client pass (0: none)",
    )
    ap.add_argument(
        "--cookies", type=int, default=24, help="readers signed in for the pages (session cookies)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    ap.add_argument("--no-ceiling", action="store_true", help="skip the stack ceiling")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="paired rounds, ours then the ceiling's, for the ratios to the ceiling",
    )
    ap.add_argument(
        "--no-load",
        action="store_true",
        help="no wrk: start the app, capture and time the bare SQL only",
    )
    ap.add_argument("--log-level", default="INFO", help="app LOG_LEVEL (production: INFO)")
    ap.add_argument("--write", action="store_true", help="rewrite bench/RESULTS.md")
    a = ap.parse_args(argv)
    a.scenarios = [x.strip() for x in a.scenarios.split(",") if x.strip()]
    unknown = set(a.scenarios) - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not a.no_load and not _wrk.have_wrk():
        ap.error("wrk is not installed (apt-get install -y wrk), or pass --no-load")
    if not (0 < a.duration <= 600 and 0 < a.one_duration <= 600 and 0 <= a.warmup <= 600):
        ap.error("durations must be in (0, 600] seconds")
    OUT.mkdir(parents=True, exist_ok=True)
    info = machine()
    runs: list[dict[str, Any]] = []
    for url in a.database_url:
        compare = False
        if make_url(url).get_backend_name() == "postgresql":
            info["postgresql"] = pg_version(url)
            compare = not a.no_ceiling and not a.no_load and a.rounds > 0
        print(f"\n== {make_url(url).render_as_string(hide_password=True)}", flush=True)
        runs.append(run_database(url, a, compare=compare))
    text_out = report(runs, a, info)
    print("\n" + text_out)
    payload = {
        "machine": info,
        "runs": [{k: v for k, v in r.items() if not k.startswith("_")} for r in runs],
    }
    print("RESULTSJSON " + json.dumps(payload))
    if a.write:
        RESULTS.write_text(results_document(text_out))
        print(f"wrote {RESULTS}")
    return 0


def results_document(body: str) -> str:
    return (
        "# Benchmark results\n\n"
        "Written by `python bench/run.py --write` (see bench/run.py for what each figure "
        "means). Data from `python bench/generate.py --scale 1.0 --seed 1`.\n\n" + body + "\n"
    )


if __name__ == "__main__":
    sys.exit(main())
