"""`demarche db backup` and `restore`, as an operator runs them (a real process), on both
databases: a backup of a database holding data, restored into an empty one, holds the
same revision and the same rows; a restore never goes over data; every refusal is one
line and a non-zero exit."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import app.backup as backup_module
from app import demo
from app.backup import BackupError, pg_tool
from app.db import make_engine
from app.main import create_app
from app.settings import Settings
from tests.databases import BACKENDS, drop_database, fresh_database, migrated_engine

REPO = Path(__file__).resolve().parents[2]


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_refusal(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert r.stderr.startswith("error: "), r.stderr
    return r.stderr


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return {
                n: conn.execute(select(func.count()).select_from(table(n))).scalar_one()
                for n in names
            }
    finally:
        engine.dispose()


@pytest.fixture
def databases(request, tmp_path):
    """A database at head holding the demo, and a URL for an empty one beside it."""
    source = fresh_database(request.param, tmp_path)
    target = fresh_database(request.param, tmp_path)
    engine = migrated_engine(source)
    with Session(engine) as session:
        demo.load(session)
        session.commit()
    engine.dispose()
    yield source, target
    drop_database(source)
    drop_database(target)


@pytest.mark.parametrize("databases", BACKENDS, indirect=True)
def test_a_backup_restores_into_an_empty_database_only_with_every_row(databases, tmp_path):
    source, target = databases
    dump = tmp_path / "demarche.backup"

    made = cli(source, "db", "backup", str(dump))
    assert made.returncode == 0, made.stderr
    restored = cli(target, "db", "restore", str(dump))
    assert restored.returncode == 0, restored.stderr

    before, after = cli(source, "db", "current"), cli(target, "db", "current")
    assert before.returncode == after.returncode == 0
    assert before.stdout == after.stdout and "(head)" in after.stdout
    counts = row_counts(source)
    assert counts["demarches"] and counts["taskings"] and counts["audit_events"]
    assert row_counts(target) == counts

    # The restored database is one the app serves, with its guards: ready, and the audit
    # trail still refuses to be edited.
    with TestClient(create_app(Settings(database_url=target))) as client:
        assert client.get("/health/ready").status_code == 200
    engine = make_engine(target)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET action = 'forged'"))
    finally:
        engine.dispose()

    # A restore never goes over data, nor a backup over a file.
    assert "not empty" in one_line_refusal(cli(target, "db", "restore", str(dump)))
    assert row_counts(target) == counts
    assert "exists" in one_line_refusal(cli(source, "db", "backup", str(dump)))


@pytest.mark.parametrize("databases", BACKENDS, indirect=True)
def test_what_is_not_a_backup_is_refused_in_one_line(databases, tmp_path):
    _source, target = databases
    junk = tmp_path / "junk.backup"
    junk.write_text("not a backup\n" * 10)
    one_line_refusal(cli(target, "db", "restore", str(junk)))
    one_line_refusal(cli(target, "db", "restore", str(tmp_path / "missing.backup")))
    assert row_counts(target) == {}  # and nothing was made of it


def test_a_sqlite_backup_is_taken_while_a_writer_is_busy(tmp_path):
    """Online: an open write transaction neither blocks the backup nor gets into it."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrated_engine(url).dispose()
    writer = sqlite3.connect(tmp_path / "live.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO collectives (code, name) VALUES ('UNCOMMITTED', 'not yet committed')"
        )
        made = cli(url, "db", "backup", str(tmp_path / "copy.db"))
        assert made.returncode == 0, made.stderr
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("SELECT count(*) FROM collectives").fetchone() == (0,)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone()


def test_missing_postgresql_programs_are_named_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backup_module, "PG_BIN_GLOB", str(tmp_path / "postgresql" / "*" / "bin"))
    with pytest.raises(BackupError) as caught:
        pg_tool("pg_dump")
    assert "pg_dump" in str(caught.value) and "\n" not in str(caught.value)


def test_debian_s_newest_postgresql_programs_are_found_off_path(tmp_path, monkeypatch):
    for major in ("9", "16", "15"):
        bin_dir = tmp_path / "postgresql" / major / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "pg_restore").write_text("")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(backup_module, "PG_BIN_GLOB", str(tmp_path / "postgresql" / "*" / "bin"))
    assert pg_tool("pg_restore") == str(tmp_path / "postgresql" / "16" / "bin" / "pg_restore")


def test_a_postgresql_password_stays_off_the_command_line():
    uri, env = backup_module._libpq(
        backup_module.make_url("postgresql+psycopg://ops:s3cret@db.example:5433/demarche")
    )
    assert "s3cret" not in uri and uri == "postgresql://ops@db.example:5433/demarche"
    assert env["PGPASSWORD"] == "s3cret"
