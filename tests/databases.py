"""Test databases: a SQLite file always, a real PostgreSQL server when TEST_POSTGRES_URL is set.

Each is built by running the migrations, never by create_all, so the tests see
the schema production sees.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.auth import credentials
from app.cli import alembic_config
from app.db import make_engine

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
NO_POSTGRES = "PostgreSQL half skipped: set TEST_POSTGRES_URL (bash .ci/run does)"

PREFIX = "demarche_t_"  # the test databases fresh_database makes on PostgreSQL

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES),
    ),
]


def fresh_database(backend: str, tmp_dir: Path) -> str:
    """A new, empty database on the backend; returns its URL."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
    assert POSTGRES_URL
    name = f"{PREFIX}{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    assert POSTGRES_URL
    name = make_url(url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migration_config(url: str) -> Config:
    """The Alembic config for this database, leaving the test run's logging alone."""
    cfg = alembic_config(url)
    cfg.attributes["configure_logging"] = False
    return cfg


# backend -> a database at head, migrated once per process, that new ones are copied from.
_TEMPLATES: dict[str, str] = {}


def migrated_engine(url: str) -> Engine:
    """An engine on url, brought to head by the migrations.

    An empty database (fresh_database's, or a SQLite file not there yet) becomes a copy
    of one the migrations built at the first such call in this process: a copy takes
    milliseconds, the migrations a second or more (a commit per step), and some tests
    want a database of their own each. One with tables in it is upgraded as it is.
    """
    if _empty(url):
        _copy_template(url)
    else:
        command.upgrade(migration_config(url), "head")
    return make_engine(url)


def _empty(url: str) -> bool:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return bool(u.database) and (not Path(u.database).exists() or _no_tables(url))
    # Only a database of our own making is dropped and made again from the template.
    return bool(u.database and u.database.startswith(PREFIX)) and _no_tables(url)


def _no_tables(url: str) -> bool:
    engine = create_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _copy_template(url: str) -> None:
    backend = make_url(url).get_backend_name()
    if backend not in _TEMPLATES:
        template = fresh_database(backend, Path(tempfile.mkdtemp(prefix="demarche-template-")))
        command.upgrade(migration_config(template), "head")
        _TEMPLATES[backend] = template
        atexit.register(drop_database, template)
    template = _TEMPLATES[backend]
    if backend == "sqlite":
        source = sqlite3.connect(make_url(template).database)
        target = sqlite3.connect(make_url(url).database)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    assert POSTGRES_URL
    name, source_name = make_url(url).database, make_url(template).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source_name}"'))
    admin.dispose()


@contextmanager
def savepoint_session(conn: Connection) -> Iterator[Session]:
    """A session whose every change, commits included, is undone when the block ends.

    It works inside a SAVEPOINT of conn's open transaction (SQLAlchemy's "join an
    external transaction" recipe, one level down): a commit releases only the session's
    own inner savepoint, and the block's is rolled back at the end. So rows conn already
    holds (a module's shared world) are there, unchanged, for the next block.
    """
    block = conn.begin_nested()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        if block.is_active:
            block.rollback()
        forget_credentials()


def forget_credentials() -> None:
    """Make the app's credential cache ask the database again.

    A rollback the app never saw may have brought back a token, a session or a user
    as it was; the cache (app/auth/credentials.py) forgets on every credential change
    it sees, and this is such a change.
    """
    credentials._bump()
