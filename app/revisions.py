"""The schema revision this code expects, and the one a database is at.

The expected one is read from migrations/ (the head of its history), so the readiness
probe and the restore command need no list kept by hand.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@lru_cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def expected_heads() -> frozenset[str]:
    """The head revision(s) of migrations/: what a database must be at for this code."""
    return frozenset(_scripts().get_heads())


def is_known(revision: str) -> bool:
    """Whether migrations/ has this revision (a backup from newer code has one it lacks)."""
    try:
        return _scripts().get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
        return False


def current_heads(conn: Connection) -> frozenset[str]:
    """The revision(s) the database is at; empty when it was never migrated.

    Read with plain SQL: alembic's MigrationContext logs two INFO lines each time it is
    made, which every readiness probe would then write."""
    if not inspect(conn).has_table("alembic_version"):
        return frozenset()
    return frozenset(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
