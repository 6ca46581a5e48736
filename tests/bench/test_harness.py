"""The benchmark harness works end to end at a tiny scale (SQLite, a second or two of load)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

import app.models as m
from bench import _wrk

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    db = tmp_path_factory.mktemp("bench") / "tiny.db"
    url = f"sqlite:///{db}"
    out = subprocess.run(
        [
            sys.executable,
            "bench/generate.py",
            "--database-url",
            url,
            "--scale",
            "0.001",
            "--seed",
            "3",
            "--today",
            "2026-11-28",
            "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["taskings"] > 200  # the demarche with 200 target posts, at least
    return url, Path(summary["credentials"])


def test_generator_builds_a_consistent_data_set(tiny):
    url, creds_path = tiny
    creds = json.loads(creds_path.read_text())
    assert {"desk", "viewer", "post"} <= creds["users"].keys()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.Post)) == 280
        assert conn.scalar(select(func.count()).select_from(m.User)) == 300
        big = conn.scalar(
            select(func.count()).where(m.Tasking.demarche_id == creds["big_demarche_id"])
        )
        assert big >= 200
        taskings = conn.scalar(select(func.count()).select_from(m.Tasking))
        audit = conn.scalar(select(func.count()).select_from(m.AuditEvent))
        assert 2 * taskings <= audit <= 5 * taskings
        assert conn.scalar(select(func.count()).select_from(m.Delivery)) > 0
    engine.dispose()


def test_same_seed_same_data(tiny, tmp_path):
    url, creds_path = tiny
    again = f"sqlite:///{tmp_path / 'again.db'}"
    subprocess.run(
        [
            sys.executable,
            "bench/generate.py",
            "--database-url",
            again,
            "--scale",
            "0.001",
            "--seed",
            "3",
            "--today",
            "2026-11-28",
            "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = []
    for u in (url, again):
        engine = create_engine(u)
        with engine.connect() as conn:
            rows.append(
                conn.execute(
                    select(
                        m.Tasking.id, m.Tasking.post_id, m.Tasking.status, m.Tasking.due_date
                    ).order_by(m.Tasking.id)
                ).all()
            )
        engine.dispose()
    assert rows[0] == rows[1]


def _run(url: str, creds: Path, *extra: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--database-url",
            url,
            "--credentials",
            str(creds),
            "--no-ceiling",
            "--scenarios",
            "api_tasking,api_demarches,deliver",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULTSJSON "))
    return json.loads(line.removeprefix("RESULTSJSON "))


def test_bare_sql_is_captured_without_load(tiny):
    url, creds = tiny
    payload = _run(url, creds, "--no-load")
    results = {r["scenario"]: r for r in payload["runs"][0]["results"]}
    # One query: the token is already in the worker's credential cache.
    assert results["api_tasking"]["statements"] >= 1
    assert results["api_tasking"]["bare_sql_ms"] > 0
    assert payload["machine"]["nproc"]


@pytest.mark.skipif(not _wrk.have_wrk(), reason="wrk is not installed (apt-get install -y wrk)")
def test_a_short_loaded_run_prints_figures_that_parse(tiny):
    url, creds = tiny
    payload = _run(
        url, creds, "--duration", "1", "--one-duration", "1", "--connections", "2", "--warmup", "1"
    )
    results = {r["scenario"]: r for r in payload["runs"][0]["results"]}
    read = results["api_tasking"]
    assert read["clients"]["requests"] > 0 and read["clients"]["errors"] == 0
    assert read["one_client"]["p50_ms"] <= read["one_client"]["p99_ms"]
    assert read["ratio"] > 0
    deliver = results["deliver"]
    assert deliver["lost"] == 0 and deliver["duplicated"] == 0
    assert payload["runs"][0]["memory"]


def test_the_ratio_to_the_ceiling_is_the_median_of_paired_rounds():
    import argparse

    from bench.run import Pair, report

    pair = Pair("api_tasking", "ceiling_key", 0.7, ours=[100, 50, 90], ceiling=[200, 200, 100])
    assert pair.ratios == [0.5, 0.25, 0.9]
    assert pair.ratio == 0.5  # one slow round (or one fast ceiling round) does not decide it
    a = argparse.Namespace(
        rounds=3, connections=16, threads=2, duration=8, one_duration=5, warmup=3
    )
    info = {"nproc": "2", "cpu": "x", "memory": "1 GiB", "sqlite": "3", "python": "3.11"}
    run = {
        "backend": "postgresql",
        "database": "pg",
        "scale": 1.0,
        "taskings": 10,
        "memory": [],
        "_results": [],
        "_pairs": [pair],
    }
    text = report([run], a, info)
    row = next(ln for ln in text.splitlines() if "| 100 / 50 / 90 |" in ln)
    assert row.startswith("| `GET /api/v1/taskings") and "0.50 / 0.25 / 0.90" in row
    assert row.endswith("| 0.50 | 0 | ≥ 0.7 missed |")


def test_waiting_for_idle_outlasts_the_backlog(tmp_path):
    from bench._server import Server

    class Busy(Server):
        """Workers that burn CPU for the first 0.4 s, then idle."""

        def __init__(self) -> None:
            super().__init__(["true"], port=0, env={}, cwd=tmp_path, log=tmp_path / "log")
            self.started = time.monotonic()
            self.ticks = 0

        def cpu_ticks(self) -> int:
            if time.monotonic() - self.started < 0.4:
                self.ticks += 5
            return self.ticks

    busy = Busy()
    waited = busy.wait_idle(quiet_for=0.3, timeout=5)
    assert 0.55 <= waited < 2.0  # the busy 0.4 s, then 0.3 s of quiet (to a 0.1 s step)


# -- the pure pieces: no wrk, no server -------------------------------------------------


def _readers() -> list:
    from bench._readers import Reader

    out = [
        Reader(f"officer{i:03d}", "post_officer", c, f"tok-p{i}", post_id=i, post_rank=i)
        for i, c in enumerate(["CONFIDENTIAL", "SECRET"] * 20, start=1)
    ]
    out += [
        Reader(f"desk{i}", "desk_officer", c, f"tok-d{i}")
        for i, c in enumerate(["CONFIDENTIAL", "SECRET"] * 5)
    ]
    out += [
        Reader(f"viewer{i}", "viewer", c, f"tok-v{i}")
        for i, c in enumerate(["CONFIDENTIAL", "SECRET"] * 2)
    ]
    return out


def test_the_rotation_spreads_over_readers_and_each_reads_what_it_may():
    import random

    from bench._readers import bearer_line, describe, split_line, spread

    readers = _readers()
    # Taskings 1..400: tasking t belongs to post t % 40 + 1; every third one is SECRET.
    cls = {t: "SECRET" if t % 3 == 0 else "CONFIDENTIAL" for t in range(1, 401)}

    def may_read(r):
        own = [t for t in cls if r.role != "post_officer" or t % 40 + 1 == r.post_id]
        return [f"/t/{t}" for t in own if r.cleared_for(cls[t])]

    pairs = spread(readers, may_read, 1000, random.Random(1))
    d = describe(pairs)
    assert d["requests"] == 1000 and d["credentials"] == len(readers)  # nobody left out
    assert d["posts"] == 40 and d["paths"] > 300
    assert set(d["by_kind"]) == {
        f"{r}/{c}"
        for r in ("post_officer", "desk_officer", "viewer")
        for c in ("CONFIDENTIAL", "SECRET")
    }
    assert 300 < sum(n for k, n in d["by_kind"].items() if k.startswith("post")) < 600
    for path, r in pairs:
        assert path in may_read(r)
    # Consecutive requests are different people (the credential cache cannot ride along).
    assert sum(a[1] is b[1] for a, b in zip(pairs, pairs[1:], strict=False)) < 100
    path, headers = split_line(bearer_line(*pairs[0]))
    assert path == pairs[0][0] and headers == {"Authorization": f"Bearer {pairs[0][1].token}"}


def test_cookies_go_to_busy_and_quiet_posts_the_desk_and_viewers_at_each_clearance():
    import random

    from bench._readers import pick_for_cookies

    chosen = pick_for_cookies(_readers(), 12, random.Random(2))
    assert len({r.username for r in chosen}) == 12
    kinds = {(r.role, r.clearance, (r.post_rank or 0) > 40 or r.post_rank is None) for r in chosen}
    assert {("desk_officer", "CONFIDENTIAL", True), ("viewer", "SECRET", True)} <= kinds
    assert {r.clearance for r in chosen if r.role == "post_officer"} == {"CONFIDENTIAL", "SECRET"}


def test_readers_of_an_old_credentials_file_are_the_three_named_users():
    from bench._readers import readers_from

    users = {
        k: {"token": k, "role": r, "post_id": None}
        for k, r in (("desk", "desk_officer"), ("viewer", "viewer"), ("post", "post_officer"))
    }
    assert {r.username for r in readers_from({"users": users})} == {"desk", "viewer", "post"}


def test_cpu_time_is_read_from_proc_for_this_process_and_its_tree():
    import os
    import subprocess

    from bench import _cpu

    st = _cpu.read_stat(os.getpid())
    assert st is not None and st.pid == os.getpid() and st.ppid == os.getppid()
    # A name with spaces and parentheses does not shift the fields.
    odd = _cpu.parse_stat("42 (a b) c) S 7 1 1 0 -1 0 0 0 0 0 11 12 13 14 20 0 1 0 5 0 0")
    assert (odd.pid, odd.ppid, odd.ticks) == (42, 7, 11 + 12 + 13 + 14)
    before = _cpu.Meter({"me": os.getpid()}).sample()["me"]
    end = time.process_time() + 0.15
    while time.process_time() < end:
        pass
    subprocess.run([sys.executable, "-c", "sum(range(3_000_000))"], check=True)  # reaped child
    after = _cpu.Meter({"me": os.getpid()}).sample()["me"]
    ms = _cpu.Meter.ms_per_request({"me": before}, {"me": after}, 1)
    assert ms["me"] >= 100 and ms["total"] == ms["me"]
    assert _cpu.tree_ticks(os.getpid()) >= after


def test_the_machine_state_is_recorded_for_sqlite(tmp_path):
    from sqlalchemy import create_engine

    from app.db import Base
    from bench import _state

    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    state = {
        "cpu": _state.cpu(),
        "load_before": _state.load_average(),
        "load_after": _state.load_average(),
        "database": _state.database(url),
    }
    db = state["database"]
    assert db["settings"] == {"journal_mode": "wal", "synchronous": "NORMAL"}  # the app's own
    assert db["rows"] == dict.fromkeys(_state.COUNTED, 0) and db["bytes"] > 0
    assert state["cpu"]["nproc"] >= 1 and len(state["load_before"]) == 3
    machine, database, data = _state.describe(state)
    assert "load average" in machine and "before" in machine and "after" in machine
    assert "journal_mode=wal" in database and "0 taskings" in data and "MiB on disk" in data


def test_the_report_gives_cpu_per_request_and_the_ceilings_cpu_ratio():
    import argparse

    from bench.run import Pair, report

    pair = Pair(
        "api_tasking",
        "ceiling_key",
        1.0,
        ours=[100, 100, 100],
        ceiling=[100, 100, 100],
        cpu_ours=[2.0, 4.0, 2.5],
        cpu_ceiling=[2.0, 2.0, 3.0],
    )
    assert pair.cpu_ratios == [1.0, 0.5, 1.2] and pair.cpu_ratio == 1.0
    a = argparse.Namespace(
        rounds=3, connections=16, threads=2, duration=8, one_duration=5, warmup=3
    )
    info = {"nproc": "2", "cpu": "x", "memory": "1 GiB", "sqlite": "3", "python": "3.11"}
    run = {
        "backend": "postgresql",
        "database": "pg",
        "scale": 1.0,
        "taskings": 10,
        "memory": [],
        "_results": [],
        "_pairs": [pair],
    }
    text = report([run], a, info)
    assert "ceiling / ours (≥ 1.0 means we use less CPU than the ceiling)" in text
    row = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("| `GET /api/v1/taskings") and "2.00 / 4.00" in ln
    )
    assert "1.00 / 0.50 / 1.20 | 1.00 | ≥ 1.0 met |" in row


@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_URL"), reason="TEST_POSTGRES_URL not set")
def test_the_machine_state_is_recorded_for_postgresql():
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.db import Base
    from bench import _cpu, _state
    from bench.run import postmaster_pid

    u = make_url(os.environ["TEST_POSTGRES_URL"])
    name = f"bench_state_{os.getpid()}"
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = u.set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        db = _state.database(url)
        assert db["server"].startswith("PostgreSQL ")
        assert set(db["settings"]) == set(_state.PG_SETTINGS)
        assert db["settings"]["fsync"] in ("on", "off") and db["bytes"] > 0
        assert db["rows"]["taskings"] == 0
        # The server is local: its postmaster's tree is what a pass's database CPU sums.
        postmaster = postmaster_pid(url)
        assert postmaster is not None and _cpu.tree_ticks(postmaster) > 0
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
