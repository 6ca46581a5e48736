"""`demarche db backup` and `restore`: one file holding the whole database, schema and
Alembic revision included.

Both work while the app serves. SQLite's backup API copies a consistent snapshot page
by page (a write in the middle of the copy makes it start over, and it never blocks
readers in WAL mode); pg_dump reads inside one repeatable-read transaction. A restore
goes only into an empty database: it never merges into, nor overwrites, what is there,
so a mistyped DATABASE_URL cannot replace a live database with yesterday's.

Every failure is a BackupError whose text is one line for the operator.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from glob import glob
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from app.revisions import expected_heads, is_known

# Debian installs the PostgreSQL programs per major version, off PATH (.ci/postgres.sh).
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class BackupError(Exception):
    """A backup or restore that did not happen, and why, in one line."""


def backup(url: str, path: Path) -> str:
    """Write the database at `url` to a new file at `path`; say what was written."""
    if path.exists():
        raise BackupError(f"{path} exists; a backup is written to a new file, never over one")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder")
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        revision = _sqlite_backup(_sqlite_file(parsed), path)
    elif parsed.get_backend_name() == "postgresql":
        revision = _pg_backup(parsed, path)
    else:
        raise BackupError(f"no backup for {parsed.get_backend_name()} databases")
    return f"backed up the database at revision {revision} to {path}"


def restore(url: str, path: Path) -> str:
    """Load the backup at `path` into the empty database at `url`; say what was loaded."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        revision = _sqlite_restore(path, _sqlite_file(parsed))
    elif parsed.get_backend_name() == "postgresql":
        revision = _pg_restore(path, parsed)
    else:
        raise BackupError(f"no restore for {parsed.get_backend_name()} databases")
    note = "" if {revision} == expected_heads() else "; run `demarche db upgrade` to bring it up"
    return f"restored {path} (revision {revision}){note}"


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise BackupError("DATABASE_URL is not a database URL") from None


def _known(revision: str | None, what: str) -> str:
    """A restore's revision, which this code must know: it could not migrate it else.
    (A backup takes whatever is there: it is how one keeps a database one cannot read.)"""
    if not revision:
        raise BackupError(f"{what} holds no schema revision: not a backup of this app")
    if not is_known(revision):
        raise BackupError(
            f"{what} is at revision {revision}, which this code does not know (newer code?)"
        )
    return revision


# SQLite ---------------------------------------------------------------------------


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("only a SQLite database in a file can be backed up or restored")
    return Path(url.database)


@contextmanager
def _sqlite(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    """A plain connection; read-only ones never create the file they are asked for."""
    try:
        conn = (
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            if read_only
            else sqlite3.connect(path)
        )
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {path}: {exc}") from None
    try:
        yield conn
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: {exc}") from None
    finally:
        conn.close()


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if not has_table:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def _sqlite_backup(source: Path, path: Path) -> str:
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with _sqlite(source, read_only=True) as src:
            revision = _sqlite_revision(src) or "none"
            with _sqlite(partial) as dst:
                src.backup(dst)
                # One self-contained file, whatever journal the live database keeps.
                dst.execute("PRAGMA journal_mode=DELETE")
        os.replace(partial, path)  # never a half-written file under the name asked for
    finally:
        partial.unlink(missing_ok=True)
    return revision


def _sqlite_restore(path: Path, target: Path) -> str:
    with _sqlite(path, read_only=True) as src:
        revision = _known(_sqlite_revision(src), str(path))
        if target.exists():
            with _sqlite(target, read_only=True) as dst:
                tables = dst.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                ).fetchone()[0]
            if tables:
                raise BackupError(
                    f"the database at {target} is not empty ({tables} tables); "
                    "a restore goes only into an empty database"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        with _sqlite(target) as dst:
            src.backup(dst)
    return revision


# PostgreSQL -----------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: from PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob(f"{PG_BIN_GLOB}/{name}"), key=_major_version)
    if candidates:
        return candidates[-1]
    raise BackupError(
        f"{name} is not on PATH nor in {PG_BIN_GLOB}: install the PostgreSQL client programs"
    )


def _major_version(tool: str) -> int:
    match = re.search(r"/postgresql/(\d+)/", tool)
    return int(match.group(1)) if match else 0


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and an environment holding it: a
    password on a command line is readable by every user of the machine (ps)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    bare = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,  # libpq's own parameters (sslmode, host=/socket/dir, ...)
    )
    uri = bare.render_as_string(hide_password=False)
    return uri, env


def _run(argv: list[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupError(f"cannot run {argv[0]}: {exc}") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        why = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else "")
        raise BackupError(f"{Path(argv[0]).name} failed: {why or f'exit {done.returncode}'}")
    return done.stdout


def _pg_query(url: URL, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise BackupError(f"the database does not answer: {first}") from None
    finally:
        engine.dispose()


def _pg_backup(url: URL, path: Path) -> str:
    has_version = _pg_query(url, "SELECT to_regclass('alembic_version') IS NOT NULL")[0][0]
    rows = _pg_query(url, "SELECT version_num FROM alembic_version") if has_version else []
    revision = rows[0][0] if rows else "none"
    tool = pg_tool("pg_dump")
    uri, env = _libpq(url)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        # The custom format: compressed, and pg_restore can load it in one transaction.
        # No owners nor grants: they name roles the restoring server may not have.
        _run(
            [
                tool,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--file={partial}",
                f"--dbname={uri}",
            ],
            env,
        )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return revision


_COPY_VERSION = re.compile(
    r"^COPY \S*alembic_version \(version_num\) FROM stdin;\n(.*?)\n\\\.$", re.M | re.S
)


def _pg_dump_revision(path: Path, env: dict[str, str]) -> str | None:
    """The revision inside a dump, read without loading it (it also proves it is a dump)."""
    script = _run(
        [pg_tool("pg_restore"), "--data-only", "--table=alembic_version", "--file=-", str(path)],
        env,
    )
    match = _COPY_VERSION.search(script)
    return match.group(1).strip() if match else None


def _pg_restore(path: Path, url: URL) -> str:
    uri, env = _libpq(url)
    revision = _known(_pg_dump_revision(path, env), str(path))
    # Anything of the app's kind already there (a table, a sequence, a view, a function)
    # would be merged with or clash with the dump's: the database must hold none.
    found = _pg_query(
        url,
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "        AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "        AND n.nspname NOT LIKE 'pg_toast%') "
        "     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))",
    )[0][0]
    if found:
        raise BackupError(
            f"the database {url.database} is not empty ({found} tables, sequences or "
            "functions); a restore goes only into an empty database"
        )
    # One transaction: a restore that fails half-way leaves the database empty again.
    _run(
        [
            pg_tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={uri}",
            str(path),
        ],
        env,
    )
    return revision
