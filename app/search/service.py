"""Rebuilding the search index from what the database holds (`demarche search reindex`)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.search import ddl
from app.search.models import portions


def steps(dialect: str) -> int:
    return sum(1 for _ in ddl.backfill_steps(dialect))


def reindex(session: Session, *, step: Callable[[str], None] | None = None) -> int:
    """Every portion written again from its source row, in the caller's transaction (the
    caller commits); `step` hears what each statement indexed. Returns the rows now held."""
    for what, statement in ddl.backfill_steps(session.get_bind().dialect.name):
        session.connection().exec_driver_sql(statement)
        if step:
            step(what)
    return session.scalar(select(func.count()).select_from(portions)) or 0
