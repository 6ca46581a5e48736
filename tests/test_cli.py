"""The CLI as an operator runs it: a real process against a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest


@pytest.fixture
def run(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=env,
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
