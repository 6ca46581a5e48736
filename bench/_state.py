"""The machine's and the database's state beside a run's figures, so a figure can be
checked afterwards: load average, CPU, the database server's durability and memory
settings, and how much data it held."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

PG_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "max_connections",
    "jit",
)
COUNTED = ("demarches", "taskings", "cables", "deliveries", "audit_events")
SQLITE_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu() -> dict[str, Any]:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "nproc": os.cpu_count()}


def database(url: str) -> dict[str, Any]:
    """Server version and settings as the app's own connections see them, rows, bytes."""
    from app.db import make_engine

    engine = make_engine(url)
    out: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                out["server"] = "PostgreSQL " + str(conn.scalar(text("SHOW server_version")))
                out["settings"] = {k: str(conn.scalar(text(f"SHOW {k}"))) for k in PG_SETTINGS}
                out["bytes"] = int(conn.scalar(text("SELECT pg_database_size(current_database())")))
            else:
                out["server"] = f"SQLite {sqlite3.sqlite_version}"
                sync = int(conn.exec_driver_sql("PRAGMA synchronous").scalar() or 0)
                out["settings"] = {
                    "journal_mode": str(conn.exec_driver_sql("PRAGMA journal_mode").scalar()),
                    "synchronous": SQLITE_SYNCHRONOUS.get(sync, str(sync)),
                }
                path = make_url(url).database or ""
                out["bytes"] = sum(
                    os.path.getsize(f"{path}{s}")
                    for s in ("", "-wal")
                    if os.path.exists(f"{path}{s}")
                )
            out["rows"] = {
                t: int(conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in COUNTED
            }
    finally:
        engine.dispose()
    return out


def describe(state: dict[str, Any]) -> list[str]:
    """Report lines (Markdown list items) for a run's section of bench/RESULTS.md."""
    db = state["database"]
    settings = ", ".join(f"{k}={v}" for k, v in db["settings"].items())
    rows = ", ".join(f"{v:,} {k}" for k, v in db["rows"].items())
    before, after = state["load_before"], state["load_after"]
    return [
        f"- machine: {state['cpu']['nproc']} CPUs ({state['cpu']['cpu']}); load average "
        f"(1, 5, 15 min) {' / '.join(map(str, before))} before, "
        f"{' / '.join(map(str, after or ['–']))} after",
        f"- database: {db['server']}; {settings}",
        f"- data: {rows}; {db['bytes'] / 2**20:,.0f} MiB on disk",
    ]
