"""Alembic environment: the URL comes from the app's settings unless a caller passes one.

On SQLite every migration runs with foreign keys off. Batch mode alters a table by
copying it and dropping the original; with foreign keys on, that DROP TABLE deletes
the children first (ON DELETE CASCADE: every point, target and tasking of every
demarche) or, where a child has no ON DELETE, fails with "FOREIGN KEY constraint
failed", so a database holding data could not be migrated either way. SQLite ignores
PRAGMA foreign_keys inside a transaction, so it is set when the connection opens, and
each migration's own transaction checks `PRAGMA foreign_key_check` before it commits:
a migration that left a dangling reference rolls back instead of landing.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, event

import app.models  # noqa: F401  (registers every table on the metadata)
from app.db import Base, make_engine
from app.search.ddl import outside_models
from app.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _check_foreign_keys(ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
    """After each migration, inside its transaction: no row points at nothing."""
    conn = ctx.connection
    if conn is None or conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        moved = f"{'+'.join(step.source_revision_ids) or 'base'} -> " + (
            "+".join(step.destination_revision_ids) or "base"
        )
        raise RuntimeError(
            f"after {moved}, {len(broken)} rows would point at rows that do not exist "
            f"(in {', '.join(tables)}); the step was rolled back"
        )


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        compare_type=True,
        # The search index is the database's own (app/search/ddl.py), not mapped.
        include_name=outside_models,
        # SQLite cannot ALTER most things in place; batch mode copies the table.
        render_as_batch=True,
        literal_binds=connection is None,
        on_version_apply=[_check_foreign_keys],
    )


def run_migrations_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url") or get_settings().database_url)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # A caller's connection: on SQLite, foreign keys off for the run if it is not in
        # a transaction yet (inside one SQLite would ignore the pragma), then as it was.
        sqlite = connection.dialect.name == "sqlite" and not connection.in_transaction()
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            _run(connection)
        finally:
            if sqlite and not connection.in_transaction():
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _foreign_keys_off(dbapi_conn: Any, _record: Any) -> None:
            # After make_engine's own listener, which turns them on for the app.
            dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
