"""full text search

One row per searchable portion (app/search/ddl.py), kept current by triggers on every
source table; PostgreSQL indexes it in a generated tsvector (English, unaccented) with
a GIN index, SQLite in an FTS5 table. The rows are built from what the database holds.
Going down drops the index, its triggers and functions: nothing else depends on them
(the unaccent extension, if this installed it, stays: it is harmless and may be shared).

Revision ID: 0007a
Revises: 0006b
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from app.search import ddl

revision: str = "0007a"
down_revision: str | None = "0006b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    unaccent = False
    if dialect == "postgresql":
        # A trusted extension since PostgreSQL 13: a database owner may create it. Where
        # contrib is missing, search_fold falls back to translate().
        unaccent = bool(
            bind.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")
            ).scalar()
        )
    for statement in ddl.create(dialect, unaccent=unaccent):
        bind.exec_driver_sql(statement)
    for statement in ddl.backfill(dialect):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in ddl.drop(bind.dialect.name):
        bind.exec_driver_sql(statement)
