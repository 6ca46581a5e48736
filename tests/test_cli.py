"""The CLI as an operator runs it: a real process against a real SQLite file."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app import demo


@pytest.fixture
def run(tmp_path):
    base_env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env={**base_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return _run


def test_upgrade_demo_and_token_are_safe_to_repeat(run):
    assert run("db", "upgrade").returncode == 0
    first = run("demo", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "demo-desk-2026" in first.stdout
    assert run("db", "upgrade").returncode == 0  # again: nothing to do, no error
    second = run("demo", "--if-empty")
    assert second.returncode == 0 and "already has data" in second.stdout
    token = run("user", "token", "desk", "--name", "curl")
    assert token.returncode == 0 and token.stdout.strip().startswith("dmt_")


def test_bad_input_is_one_line_and_non_zero(run):
    run("db", "upgrade")
    r = run("user", "add", "x", "--role", "emperor", "--clearance", "SECRET")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "emperor" in r.stderr
    r = run(
        "user", "add", "y", "--role", "post_officer", "--clearance", "SECRET", "--post", "NOWHERE"
    )
    assert r.returncode == 1 and "NOWHERE" in r.stderr
    r = run("user", "token", "nobody")
    assert r.returncode == 1 and "nobody" in r.stderr


def test_the_operator_disables_a_user_and_the_trail_says_so(run, tmp_path):
    assert run("db", "upgrade").returncode == 0
    assert run("user", "add", "vera", "--role", "viewer", "--clearance", "SBU").returncode == 0
    r = run("user", "disable", "vera")
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        rows = conn.execute(
            "SELECT action, actor_id, before, after FROM audit_events WHERE entity = 'user' "
            "ORDER BY id"
        ).fetchall()
    assert [(a, actor) for a, actor, _, _ in rows] == [("create", None), ("change", None)]
    assert (rows[1][2], rows[1][3]) == ('{"active": true}', '{"active": false}')


# -- `make run`: the demo users' sign-in, whole, and a quiet stop (issue 15) ----------

DEMO_LINE = re.compile(r"^\s+(\w+)\s+(\w+)\s+(demo-\w+-2026)\s+(dmt_\S+)$")


def _demo_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """user -> (password, token) from the lines `demo` prints."""
    rows = {}
    for line in stdout.splitlines():
        m = DEMO_LINE.match(line)
        if m:
            rows[m[1]] = (m[3], m[4])
    return rows


def _token_owner(db_file, token: str) -> str:
    import app.models  # noqa: F401  (every mapper)
    from app.auth.service import user_for_token

    engine = create_engine(f"sqlite:///{db_file}")
    try:
        with Session(engine) as db:
            return user_for_token(db, token).username
    finally:
        engine.dispose()


def test_demo_prints_each_password_and_whole_token_however_narrow_the_terminal(run, tmp_path):
    assert run("db", "upgrade").returncode == 0
    # A narrow terminal used to cut each token to "dmt_h…" (rich fitted a table to it).
    first = run("demo", "--if-empty", env={"COLUMNS": "40"})
    assert first.returncode == 0, first.stderr
    rows = _demo_rows(first.stdout)
    assert set(rows) == {u[0] for u in demo.USERS}, first.stdout
    for username, (password, token) in rows.items():
        assert password == demo.password_for(username)
        assert _token_owner(tmp_path / "cli.db", token) == username
    assert "…" not in first.stdout and "demo --credentials" in first.stdout

    # A re-run (make run again) loads nothing and says how to see them again.
    second = run("demo", "--if-empty")
    assert second.returncode == 0 and "already has data" in second.stdout
    assert "demarche demo --credentials" in second.stdout and "dmt_" not in second.stdout
    again = run("demo", "--credentials")
    assert again.returncode == 0, again.stderr
    fresh = _demo_rows(again.stdout)
    assert set(fresh) == set(rows)
    for username, (password, token) in fresh.items():
        assert password == rows[username][0] and token != rows[username][1]
        assert _token_owner(tmp_path / "cli.db", token) == username
        # The first token still works: asking again mints, it revokes nothing.
        assert _token_owner(tmp_path / "cli.db", rows[username][1]) == username


def test_demo_credentials_without_a_demo_or_a_schema_say_so_in_one_line(run):
    r = run("demo", "--credentials")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "db upgrade" in r.stderr and "Traceback" not in r.stderr
    assert run("db", "upgrade").returncode == 0
    r = run("demo", "--credentials")
    assert r.returncode == 1 and "no demo user" in r.stderr and r.stderr.count("\n") == 1


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_server_stopped_by_ctrl_c_or_sigterm_exits_0(run, tmp_path, stop):
    """`make run` ends in `exec demarche serve`: make reports the recipe as failed
    ("make: *** [Makefile:NN: run] Interrupt") unless the server exits 0."""
    assert run("db", "upgrade").returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        for line in server.stderr:  # JSON lines; this one once it listens
            if "Uvicorn running" in line:
                break
        else:
            raise AssertionError("the server did not start")
        server.send_signal(stop)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_worker_once_and_status(run):
    """Without SMTP_HOST the worker writes the day's reminders and leaves email queued;
    its status says so."""
    assert run("db", "upgrade").returncode == 0
    assert run("demo").returncode == 0
    once = run("worker", "--once")
    assert once.returncode == 0, once.stderr
    assert "claimed 0 email(s)" in once.stdout
    shown = run("worker", "status")
    assert shown.returncode == 0, shown.stderr
    queued = int(re.search(r"queued: (\d+)", shown.stdout).group(1))
    assert queued > 0 and "dead: 0" in shown.stdout


def test_search_reindex_says_how_many_portions(run):
    assert run("db", "upgrade").returncode == 0
    done = run("search", "reindex")
    assert done.returncode == 0, done.stderr
    assert "portions indexed" in done.stdout
