"""Count the SQL statements a piece of code sends: the guard against N+1 queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session


@dataclass
class Queries:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(f"{i + 1}. {s[:160]}" for i, s in enumerate(self.statements))


@contextmanager
def count_queries(session: Session) -> Iterator[Queries]:
    """Every statement on the session's connection while the block runs (savepoints aside)."""
    conn = session.connection()
    queries = Queries()

    def _before(_conn, _cursor, statement, _params, _context, _executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            queries.statements.append(statement)

    event.listen(conn, "before_cursor_execute", _before)
    try:
        yield queries
    finally:
        event.remove(conn, "before_cursor_execute", _before)
