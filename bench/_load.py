"""Bulk writers for the generator: PostgreSQL COPY through psycopg, SQLite executemany.

Rows are tuples in the table's column order (as the models declare it). They are
buffered per table and flushed in foreign-key order, so a COPY never sees a row
whose parent has not been written yet.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(v: Any) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):  # StrEnum members included: str() is the value
        s = str(v)
        return s.translate(_ESCAPES) if ("\\" in s or "\t" in s or "\n" in s or "\r" in s) else s
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":")).translate(_ESCAPES)
    raise TypeError(f"cannot COPY {type(v).__name__}")


class BulkWriter:
    """Collects rows per table; `flush()` writes every buffer in the order tables were given."""

    def __init__(self, conn: Connection, tables: list[Table], *, batch_rows: int = 50_000):
        self.conn = conn
        self.tables = {t.name: t for t in tables}
        self.order = [t.name for t in tables]
        self.columns = {t.name: [c.name for c in t.columns] for t in tables}
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in tables}
        self.counts: dict[str, int] = {t.name: 0 for t in tables}
        self.batch_rows = batch_rows
        self.pending = 0
        self.postgres = conn.dialect.name == "postgresql"

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.buffers[table].append(row)
        self.pending += 1

    def maybe_flush(self) -> None:
        if self.pending >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        for name in self.order:
            rows = self.buffers[name]
            if rows:
                self._write(name, rows)
                self.counts[name] += len(rows)
                self.buffers[name] = []
        self.pending = 0

    def _write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        cols = self.columns[name]
        if self.postgres:
            raw = self.conn.connection.dbapi_connection
            assert raw is not None
            quoted = ", ".join(f'"{c}"' for c in cols)
            with raw.cursor() as cur, cur.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                chunk: list[str] = []
                for row in rows:
                    chunk.append("\t".join([_copy_value(v) for v in row]))
                    if len(chunk) >= 5000:
                        copy.write("\n".join(chunk) + "\n")
                        chunk = []
                if chunk:
                    copy.write("\n".join(chunk) + "\n")
        else:
            table = self.tables[name]
            self.conn.execute(table.insert(), [dict(zip(cols, row, strict=True)) for row in rows])
