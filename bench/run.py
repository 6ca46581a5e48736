"""Load-test the tracker over loopback and print its figures beside the stack's ceiling.

For each database given (built by bench/generate.py), it starts the app with production
settings (`demarche serve --workers 2`), signs in for the pages, and drives each scenario
with wrk: one client (latency) then N clients (throughput, errors). For each read scenario
it also times the bare SQL the app sends for those requests (captured in process, replayed
through the driver in the same rotation, right after the one-client run) and prints
endpoint / bare SQL. Logging a delivery counts the
Delivery rows before and after: nothing lost, nothing doubled. On PostgreSQL it also runs
/work/shared/bench/ceiling_app.py on the same server and, in --rounds paired rounds (the
ceiling, then ours, with the same load), prints our GET-a-tasking and page-of-50 figures
as the median of the rounds' ratios to the ceiling's. Every load loop is bounded by
--duration; only 127.0.0.1 is used.

Run: python bench/run.py --database-url URL [--database-url URL2] [--duration 10] [--write]
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

from bench import _baresql, _wrk  # noqa: E402
from bench._server import Server, free_port  # noqa: E402
from bench.generate import default_credentials_path  # noqa: E402

CEILING_DIR = Path("/work/shared/bench")
RESULTS = REPO / "bench" / "RESULTS.md"
OUT = REPO / "bench" / "out"
READS = ["home", "demarche_page", "inbox", "overdue", "api_demarches", "api_tasking"]
BARE_PATHS = 40  # paths per scenario whose bare SQL is replayed (wrk rotates over them all)
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
            "note": self.note,
            **self.extra,
        }


@dataclass
class Setup:
    """What the scenarios need: who signs in, which ids to read and write."""

    creds: dict[str, Any]
    tokens: dict[str, str]
    cookies: dict[str, str] = field(default_factory=dict)
    paths: dict[str, list[str]] = field(default_factory=dict)
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
    s = Setup(creds=creds, tokens={k: v["token"] for k, v in users.items()})
    with engine.connect() as conn:
        ids = list(conn.scalars(text("SELECT id FROM taskings ORDER BY id")))
        s.paths["api_tasking"] = [
            f"/api/v1/taskings/{i}" for i in rng.sample(ids, min(2000, len(ids)))
        ]
        popular = list(
            conn.scalars(
                text(
                    "SELECT p.code FROM posts p JOIN taskings t ON t.post_id = p.id "
                    "GROUP BY p.code ORDER BY count(*) DESC, p.code LIMIT 20"
                )
            )
        )
        s.paths["api_demarches"] = [f"/api/v1/demarches?post={c}&limit=50" for c in popular]
        s.paths["demarche_page"] = [f"/demarches/{creds['big_demarche_id']}"]
        s.paths["home"] = ["/"]
        s.paths["inbox"] = ["/inbox"]
        s.paths["overdue"] = ["/overdue"]
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


def add_second_pages(base: str, s: Setup) -> None:
    """Paging: add each filtered list's second page (its cursor) to the rotation."""
    more = []
    with httpx.Client(
        base_url=base, timeout=30, headers={"Authorization": f"Bearer {s.tokens['desk']}"}
    ) as c:
        for path in s.paths["api_demarches"][:10]:
            cursor = c.get(path).json().get("next_cursor")
            if cursor:
                more.append(f"{path}&cursor={cursor}")
    s.paths["api_demarches"] += more


def headers_for(scenario: str, s: Setup) -> dict[str, str]:
    if scenario == "inbox":
        return {"Cookie": f"dmt_session={s.cookies['post']}"}
    if scenario in ("home", "overdue", "demarche_page"):
        return {"Cookie": f"dmt_session={s.cookies['desk']}"}
    return {"Authorization": f"Bearer {s.tokens['desk']}"}


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
            hdrs = headers_for(scenario, s)
            found = []
            for path in s.paths[scenario][:BARE_PATHS]:

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


def run_read(
    srv: Server,
    url: str,
    scenario: str,
    s: Setup,
    a: argparse.Namespace,
    captured: list[_baresql.Captured] | None,
) -> Result:
    base = srv.base_url
    hdrs = headers_for(scenario, s)
    res = Result(scenario)
    status = route_answers(base, s.paths[scenario][0], hdrs)
    if status in (404, 405):
        res.note = f"skipped: {s.paths[scenario][0]} answers {status} (route not built yet)"
        return res
    if status != 200:
        res.note = f"skipped: {s.paths[scenario][0]} answers {status}"
        return res
    paths = write_lines(s.paths[scenario])
    srv.wait_idle()
    res.one = _wrk.run(
        base, "get.lua", [paths], connections=1, threads=1, seconds=a.one_duration, headers=hdrs
    )
    time_bare_sql(url, res, captured)
    srv.wait_idle()
    res.many = _wrk.run(
        base,
        "get.lua",
        [paths],
        connections=a.connections,
        threads=a.threads,
        seconds=a.duration,
        headers=hdrs,
    )
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


def run_deliver(srv: Server, url: str, s: Setup, a: argparse.Namespace) -> Result:
    res = Result("deliver")
    if not s.writable:
        res.note = "skipped: no writable tasking in the data set"
        return res
    nonce = f"{os.getpid()}{int(time.time())}"
    figures = []
    created = delta = keys = 0
    for label, conns, threads, secs in (
        ("one", 1, 1, a.one_duration),
        ("many", a.connections, a.threads, a.duration),
    ):
        srv.wait_idle()  # and every write of the last run is committed
        lines = write_lines(etag_lines(url, s))  # re-read: the last run spent the ETags
        before = count(url, "SELECT count(*) FROM deliveries")
        f = _wrk.run(
            srv.base_url,
            "deliver.lua",
            [lines, f"{nonce}{label}", str(threads), DELIVERY],
            connections=conns,
            threads=threads,
            seconds=secs,
        )
        srv.wait_idle()  # requests wrk left in flight finish before the count
        after = count(url, "SELECT count(*) FROM deliveries")
        # Each committed delivery stores its Idempotency-Key in the same transaction.
        keys += count(
            url,
            "SELECT count(*) FROM idempotency_keys WHERE key LIKE :k",
            k=f"bench-{nonce}{label}-%",
        )
        created += f.statuses.get("201", 0)
        delta += after - before
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


def run_cable(srv: Server, s: Setup, a: argparse.Namespace) -> Result:
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
    srv.wait_idle()
    res.many = _wrk.run(
        base,
        "post_cable.lua",
        [files],
        connections=a.connections,
        threads=a.threads,
        seconds=a.duration,
        headers=hdrs,
    )
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
    eng.dispose()
    env = {"CEILING_DB": ceiling_db}
    if n != 600_000:
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


# Our figure, the ceiling's matching one, the ceiling's path, and the target ratio.
PAIRS = (
    ("api_tasking", "ceiling_key", "/items/12345", 0.7),
    ("api_demarches", "ceiling_page", "/items?post=POST007", 0.8),
)


@dataclass
class Pair:
    mine: str
    theirs: str
    target: float
    ours: list[float] = field(default_factory=list)  # req/s, one per round
    ceiling: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def ratios(self) -> list[float]:
        return [m / c for m, c in zip(self.ours, self.ceiling, strict=True) if c]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.mine,
            "ceiling_figure": self.theirs,
            "ours_rps": [round(x, 1) for x in self.ours],
            "ceiling_rps": [round(x, 1) for x in self.ceiling],
            "ratios": [round(x, 3) for x in self.ratios],
            "median_ratio": round(self.ratio, 3) if self.ratios else None,
            "target": self.target,
            "errors": self.errors,
        }


def run_pairs(ours: Server, pg_url: str, s: Setup, a: argparse.Namespace) -> list[Pair]:
    """Ours and the ceiling's, back to back, round after round, with the same load.

    On a shared machine the throughput of either drifts by a third from one minute to
    the next; figures taken minutes apart made the ratio mostly noise. Alternating
    them in rounds and keeping the median of each round's ratio lets the drift cancel.
    """
    pairs = [Pair(mine, theirs, target) for mine, theirs, _, target in PAIRS]
    paths = {theirs: write_lines([path]) for _, theirs, path, _ in PAIRS}
    with ceiling_server(pg_url) as ceiling:
        for _ in range(a.rounds):
            for pair in pairs:
                hdrs = headers_for(pair.mine, s)
                ours.wait_idle()
                ceiling.wait_idle()
                theirs = _wrk.run(
                    ceiling.base_url,
                    "get.lua",
                    [paths[pair.theirs]],
                    connections=a.connections,
                    threads=a.threads,
                    seconds=a.duration,
                )
                ceiling.wait_idle()
                mine = _wrk.run(
                    ours.base_url,
                    "get.lua",
                    [write_lines(s.paths[pair.mine])],
                    connections=a.connections,
                    threads=a.threads,
                    seconds=a.duration,
                    headers=hdrs,
                )
                pair.errors += theirs.errors + mine.errors
                pair.ceiling.append(theirs.rps)
                pair.ours.append(mine.rps)
                print(
                    f"  round: {pair.mine} {mine.rps:,.0f} req/s, {pair.theirs} "
                    f"{theirs.rps:,.0f} req/s, ratio {mine.rps / theirs.rps:.2f}",
                    flush=True,
                )
    return pairs


def run_database(url: str, a: argparse.Namespace, *, compare: bool) -> dict[str, Any]:
    backend = make_url(url).get_backend_name()
    creds_path = Path(a.credentials) if a.credentials else default_credentials_path(url)
    creds = json.loads(creds_path.read_text())
    rng = random.Random(7)
    s = prepare(url, creds, rng)
    port = free_port()
    env = {"DATABASE_URL": url, "LOG_LEVEL": a.log_level}
    cmd = [
        str(REPO / ".venv" / "bin" / "demarche"),
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
        s.cookies["desk"] = sign_in(srv.base_url, "desk", creds["password"])
        s.cookies["post"] = sign_in(srv.base_url, "post", creds["password"])
        add_second_pages(srv.base_url, s)
        captured = capture_bare_sql(url, s, a.scenarios)
        for scenario in a.scenarios:
            if a.no_load:
                res = Result(scenario, note="no load (--no-load)")
                time_bare_sql(url, res, captured.get(scenario))
            elif scenario in READS:
                res = run_read(srv, url, scenario, s, a, captured.get(scenario))
            elif scenario == "deliver":
                res = run_deliver(srv, url, s, a)
            else:
                res = run_cable(srv, s, a)
            results.append(res)
            print(format_row(res), flush=True)
        memory = srv.worker_memory_mb()
        pairs = run_pairs(srv, url, s, a) if compare else []
    return {
        "backend": backend,
        "database": make_url(url).render_as_string(hide_password=True),
        "scale": creds.get("scale"),
        "taskings": creds.get("counts", {}).get("taskings"),
        "seconds": round(time.perf_counter() - t0, 1),
        "memory": memory,
        "results": [r.as_dict() for r in results],
        "against_ceiling": [p.as_dict() for p in pairs],
        "_results": results,
        "_pairs": pairs,
    }


# -- reporting ----------------------------------------------------------------------


HEADER = (
    "| scenario | 1 client p50 / p95 / p99 ms | 16 clients req/s | 16 clients p50 / p95 / "
    "p99 ms | errors | bare SQL ms (stmts) | endpoint / SQL |"
)
RULE = "|---|---|---|---|---|---|---|"


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
        return f"| {title} | {r.note} | | | | {bare} | |"
    return (
        f"| {title} | {_ms(r.one)} | {many.rps:,.0f} | {_ms(many)} | {errors} | {bare} | {ratio} |"
        if many
        else f"| {title} | – | – | – | – | {bare} | – |"
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
        f"per scenario, after one client for {a.one_duration:g} s; app and ceiling with "
        "two uvicorn workers each.",
        "",
    ]
    for run in runs:
        lines += [
            f"### {run['backend']}: {run['database']} (scale {run['scale']}, "
            f"{run['taskings']:,} taskings)",
            "",
            HEADER,
            RULE,
        ]
        lines += [format_row(r) for r in run["_results"]]
        notes = [f"- {TITLES[r.scenario]}: {r.note}" for r in run["_results"] if r.note and r.many]
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
            f"{a.rounds} rounds; in each, the ceiling then ours, {a.connections} clients for "
            f"{a.duration:g} s apiece. The ratio is the median of the rounds' ratios.",
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
    if not (0 < a.duration <= 600 and 0 < a.one_duration <= 600):
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
