"""The benchmark harness works end to end at a tiny scale (SQLite, a second or two of load)."""

from __future__ import annotations

import json
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
    payload = _run(url, creds, "--duration", "1", "--one-duration", "1", "--connections", "2")
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
    a = argparse.Namespace(rounds=3, connections=16, threads=2, duration=8, one_duration=5)
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
    row = next(ln for ln in text.splitlines() if ln.startswith("| `GET /api/v1/taskings"))
    assert "100 / 50 / 90" in row and "0.50 / 0.25 / 0.90" in row
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
