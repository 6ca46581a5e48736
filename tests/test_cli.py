"""The CLI as an operator runs it: a real process against a real SQLite file."""

from __future__ import annotations

import os
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
