"""Declarative base, portable column types, engine and session factory."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

log = logging.getLogger("app.db")

# Named constraints, so migrations on SQLite (batch mode) and PostgreSQL agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones: we store UTC there and hand back aware values, so
    code never compares naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC value")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_utc() -> date:
    return utcnow().date()


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum: VARCHAR plus a named CHECK, identical on SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}


# How long a request waits for SQLite's write lock before it gives up and answers 503
# (settings.database_busy_timeout sets it). Writers queue for the lock one at a time,
# each for a few milliseconds; waiting longer than this means the database is
# overloaded, and the client is better told to retry than left hanging.
SQLITE_BUSY_TIMEOUT = 5.0


def make_engine(url: str, *, sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT, **kw: Any) -> Engine:
    # A statement's parameters (a cable's text, a password's hash) stay out of its errors,
    # which end up in the log.
    kw.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        kw.setdefault("connect_args", {"check_same_thread": False, "timeout": sqlite_busy_timeout})
        engine = create_engine(url, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # SQLite ignores foreign keys unless asked; WAL lets readers run beside a writer.
            # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy
            # emit BEGIN itself (the documented recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # A request that will write takes the write lock up front: a read transaction
            # cannot upgrade to a write while another writer holds it ("database is
            # locked"), but an IMMEDIATE one waits its turn (the busy timeout).
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # No pre-ping: it costs a round trip on every request. A connection the server
    # dropped fails one request and the pool replaces it; recycling keeps them fresh.
    kw.setdefault("pool_recycle", 1800)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 10)
    return create_engine(url, **kw)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def make_write_sessionmaker(engine: Engine) -> sessionmaker:
    """Sessions for requests that write: on SQLite they begin IMMEDIATE (see make_engine)."""
    return sessionmaker(
        bind=engine.execution_options(sqlite_immediate=True), expire_on_commit=False
    )


def make_read_sessionmaker(engine: Engine) -> sessionmaker:
    """Sessions for GET requests. On PostgreSQL they run in autocommit: a read needs no
    BEGIN and COMMIT round trips around its few SELECTs (each sees committed data)."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return sessionmaker(bind=engine, expire_on_commit=False)


# -- a busy database ----------------------------------------------------------------

_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available (a
# lock_timeout or NOWAIT).
_PG_BUSY = frozenset({"40001", "40P01", "55P03"})


def is_busy(exc: BaseException) -> bool:
    """Whether the database refused for being busy, not for what was asked: SQLite's
    lock not granted within the busy timeout, PostgreSQL's lock timeout, serialization
    failure or deadlock, or no pooled connection free in time. The same request may
    well succeed a moment later (503 and Retry-After, app/handlers.py)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return (getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)) in _PG_BUSY


# -- brief writes beside a request ----------------------------------------------------

_DEFERRED = "deferred_writes"


def defer_write(session: Session, statement: Executable) -> None:
    """Write this after the session's own transaction has ended, in a brief one of its
    own that gives way when the database is busy (`write_briefly`): for a stamp that no
    answer depends on (a token's last use), which must never fail nor hold up the
    request it rides on. app/deps.py's get_session runs them; a session outside a
    request (a test's, the command line's) never does."""
    session.info.setdefault(_DEFERRED, []).append(statement)


def take_deferred_writes(session: Session) -> list[Executable]:
    deferred: list[Executable] = session.info.pop(_DEFERRED, [])
    return deferred


# A brief write waits this long for a lock, then gives up: it is worth less than the
# requests it would hold up.
BRIEF_WAIT_SECONDS = 0.1


def write_briefly(
    engine: Engine, statements: Iterable[Executable], *, wait: float = BRIEF_WAIT_SECONDS
) -> bool:
    """Run the statements in one short transaction of their own, on a connection of
    their own, waiting at most `wait` seconds for a lock. Best effort: False (logged,
    never raised) if the database was busy or refused.

    SQLite: BEGIN IMMEDIATE with the busy timeout lowered for it (and put back), so it
    either has the write lock at once or soon, or gives up. PostgreSQL: a lock_timeout
    for this transaction only.
    """
    statements = list(statements)
    if not statements:
        return True
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.execution_options(sqlite_immediate=True).connect() as conn:
            driver: Any = conn.connection.driver_connection
            if sqlite:  # on the driver's connection: no statement of SQLAlchemy's, no BEGIN
                (usual,) = driver.execute("PRAGMA busy_timeout").fetchone()
                driver.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            try:
                with conn.begin():
                    if not sqlite:
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'")
                    for statement in statements:
                        conn.execute(statement)
            finally:
                if sqlite:
                    driver.execute(f"PRAGMA busy_timeout = {int(usual)}")
    except SQLAlchemyError as exc:
        if is_busy(exc):
            log.info("brief write skipped: the database is busy")
        else:
            log.warning("brief write failed: %s", type(exc).__name__)
        return False
    return True
