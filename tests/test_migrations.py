"""The migrations build exactly the models' schema, on both databases, and go back down."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import app.models  # noqa: F401
from app.db import Base, make_engine
from app.search.ddl import outside_models
from tests.databases import BACKENDS, drop_database, fresh_database, migration_config


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_matches_models_then_downgrade_empties(backend, tmp_path):
    url = fresh_database(backend, tmp_path)
    cfg = migration_config(url)
    engine = make_engine(url)
    try:
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": outside_models}
            )
            diff = compare_metadata(ctx, Base.metadata)
            assert diff == [], f"migrations and models differ: {diff}"
            assert set(inspect(conn).get_table_names()) >= {"demarches", "taskings", "audit_events"}

        command.downgrade(cfg, "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}

        command.upgrade(cfg, "head")  # and back up again, cleanly
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM posts")).scalar() == 0
    finally:
        engine.dispose()
        drop_database(url)
