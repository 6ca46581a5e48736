"""Every migration upgrades and downgrades a database that holds data, on both databases,
and no row is lost on the way (issue 14, item 5).

The database is filled at head (the demo, then a row or two in every table the demo
leaves empty, made from the models' own columns, so a table a later migration adds is
filled too), then walked down one revision at a time. At each revision it goes up one
step and back down again, so that every upgrade runs over a database whose tables all
hold rows, and every downgrade too. From the first revision it then goes up to head
(the issue's case: a database at the first revision holding demo data), down to base
and up again. After every step each table that exists holds the same rows as before,
compared on the columns both revisions have.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Enum,
    Integer,
    String,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

import app.models  # noqa: F401
from app import demo
from app.db import Base, make_engine
from app.search.ddl import FTS
from tests.databases import BACKENDS, drop_database, fresh_database, migration_config

Snapshot = dict[str, tuple[list[str], list[tuple[Any, ...]]]]

ROWS_PER_EMPTY_TABLE = 2


def _revisions(cfg) -> list[str]:
    """Every revision, first to head (one line of history: the walk needs no branches)."""
    script = ScriptDirectory.from_config(cfg)
    assert len(script.get_heads()) == 1, "more than one head: merge them first"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def _kind(column: Any) -> Any:
    """The column's type as the database sees it (a TypeDecorator's underlying type)."""
    kind = column.type
    return kind.impl_instance if isinstance(kind, TypeDecorator) else kind


def _value(table: Table, column: Any, n: int, conn: Connection) -> Any:
    """A plausible value of the column's type for the table's n-th filled row."""
    for fk in column.foreign_keys:
        target = fk.column
        ids = conn.execute(select(target).order_by(target)).scalars().all()
        assert ids, f"{table.name}.{column.name}: {target.table.name} is empty"
        return ids[n % len(ids)]
    kind = _kind(column)
    if isinstance(kind, Enum):
        members = list(kind.enum_class) if kind.enum_class else kind.enums
        return members[n % len(members)]
    if isinstance(kind, DateTime):
        return datetime.now(UTC)
    if isinstance(kind, Date):
        return date.today()
    if isinstance(kind, Boolean):
        return bool(n % 2)
    if isinstance(kind, Integer):
        return n + 1
    if isinstance(kind, JSON):
        return {"filled": n}
    if isinstance(kind, String):  # Text too; distinct per row, for unique columns
        word = f"{table.name[:8]}-{column.name[:8]}-{n}"
        return word[-kind.length :] if kind.length else word
    raise AssertionError(f"{table.name}.{column.name}: no filler for {kind!r}")


def _fill_empty_tables(conn: Connection) -> None:
    for table in Base.metadata.sorted_tables:  # parents before children
        if conn.execute(select(func.count()).select_from(table)).scalar():
            continue
        for n in range(ROWS_PER_EMPTY_TABLE):
            row = {
                c.name: _value(table, c, n, conn)
                for c in table.columns
                if not (c.primary_key and c.autoincrement is True)
                and not (c.primary_key and isinstance(c.type, Integer) and not c.foreign_keys)
            }
            conn.execute(table.insert().values(**row))


def _snapshot(conn: Connection) -> Snapshot:
    """Each table's columns and rows, ordered by its primary key."""
    found: Snapshot = {}
    inspector = inspect(conn)
    for name in inspector.get_table_names():
        if name == "alembic_version":
            continue
        columns = [c["name"] for c in inspector.get_columns(name)]
        order = inspector.get_pk_constraint(name)["constrained_columns"] or columns
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = conn.execute(
            text(f'SELECT {quoted} FROM "{name}" ORDER BY ' + ", ".join(f'"{c}"' for c in order))
        ).all()
        found[name] = (columns, [tuple(r) for r in rows])
    return found


def _same_rows(before: Snapshot, after: Snapshot, where: str) -> None:
    """Every table in both holds the same rows, on the columns both have."""
    for name in sorted(before.keys() & after.keys()):
        (cols_a, rows_a), (cols_b, rows_b) = before[name], after[name]
        assert len(rows_b) == len(rows_a), (
            f"{where}: {name} had {len(rows_a)} rows, now {len(rows_b)}"
        )
        common = [c for c in cols_a if c in cols_b]
        ia, ib = [cols_a.index(c) for c in common], [cols_b.index(c) for c in common]
        assert [tuple(r[i] for i in ia) for r in rows_a] == [
            tuple(r[i] for i in ib) for r in rows_b
        ], f"{where}: rows of {name} changed"


def _guards_hold(conn: Connection, where: str) -> None:
    """What a SQLite table copy can silently lose: references and the audit triggers."""
    if conn.dialect.name != "sqlite":
        return
    assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == [], where
    if "audit_events" not in inspect(conn).get_table_names():
        return
    triggers = {
        r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")
    }
    assert {"audit_events_no_update", "audit_events_no_delete"} <= triggers, where


@pytest.fixture
def filled(request, tmp_path):
    """(url, alembic config, engine) of a database at head holding the demo and more."""
    url = fresh_database(request.param, tmp_path)
    cfg = migration_config(url)
    command.upgrade(cfg, "head")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            demo.load(session)
            session.commit()
        with engine.begin() as conn:
            _fill_empty_tables(conn)
        yield url, cfg, engine
    finally:
        engine.dispose()
        drop_database(url)


@pytest.mark.parametrize("filled", BACKENDS, indirect=True)
def test_every_step_keeps_every_row(filled):
    _url, cfg, engine = filled
    revisions = _revisions(cfg)

    def at(revision: str, verb: str) -> Snapshot:
        getattr(command, verb)(cfg, revision)
        with engine.connect() as conn:
            _guards_hold(conn, f"{verb} to {revision}")
            return _snapshot(conn)

    def look() -> Snapshot:
        with engine.connect() as conn:
            return _snapshot(conn)

    head = look()
    empty = sorted(name for name, (_cols, rows) in head.items() if not rows)
    assert empty == [], f"tables the fill left empty: {empty}"

    # Down one step at a time; at each revision, up one step and down again.
    upper = head
    for lower_rev, upper_rev in reversed(list(zip(revisions, revisions[1:], strict=False))):
        lower = at(lower_rev, "downgrade")
        _same_rows(upper, lower, f"downgrade {upper_rev} -> {lower_rev}")
        _same_rows(lower, at(upper_rev, "upgrade"), f"upgrade {lower_rev} -> {upper_rev}")
        _same_rows(lower, at(lower_rev, "downgrade"), f"downgrade {upper_rev} -> {lower_rev}")
        upper = lower
    first = upper
    assert first["demarches"][1] and first["taskings"][1] and first["audit_events"][1]

    # The case: the first revision holding demo data, upgraded step by step.
    for revision in revisions[1:]:
        _same_rows(first, at(revision, "upgrade"), f"upgrade to {revision}")
    _same_rows(first, at(revisions[0], "downgrade"), f"downgrade to {revisions[0]}")

    # Down to base with data (every table dropped, in an order the references allow),
    # then up again to an empty schema.
    assert at("base", "downgrade") == {}
    again = at("head", "upgrade")
    # FTS5's own shadow tables hold its configuration even when it indexes nothing.
    assert set(again) == set(head) and all(
        not rows for name, (_cols, rows) in again.items() if not name.startswith(FTS)
    )


def test_the_fill_covers_every_table_the_models_have():
    """The filler knows every column type the models use (a new type fails here first)."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.foreign_keys:
                continue
            assert isinstance(
                _kind(column), Enum | DateTime | Date | Boolean | Integer | JSON | String
            ), f"{table.name}.{column.name}: {column.type!r}"


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, "DATABASE_URL": url},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _said(stderr: str) -> list[str]:
    """What the command said beside alembic's progress lines: one `error:` line."""
    lines = [ln for ln in stderr.splitlines() if not ln.startswith("INFO ")]
    assert all(ln.startswith("error: ") for ln in lines), stderr
    return lines


def test_a_step_that_leaves_a_dangling_reference_rolls_back_in_one_line(tmp_path):
    """The foreign keys are off while migrating SQLite, never unchecked: a step that
    ends with a row pointing at nothing is rolled back, and the operator told in a line."""
    file = tmp_path / "dangling.db"
    url = f"sqlite:///{file}"
    cfg = migration_config(url)
    before_head = _revisions(cfg)[-2]
    command.upgrade(cfg, before_head)
    with sqlite3.connect(file) as conn:  # foreign keys off: what a careless tool can do
        conn.execute(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
            "VALUES (999, 'orphan', 'h', 'p', '2026-12-01 00:00:00')"
        )
    failed = _cli(url, "db", "upgrade")
    assert failed.returncode == 1
    said = _said(failed.stderr)
    assert len(said) == 1 and "api_tokens" in said[0] and before_head in said[0], said
    with sqlite3.connect(file) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (before_head,)
        ]

    unknown = _cli(url, "db", "downgrade", "no-such-revision")
    assert unknown.returncode == 1 and len(_said(unknown.stderr)) == 1, unknown.stderr
