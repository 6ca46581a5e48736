"""The `demarche` command: database, demo data, server, users and cables."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.settings import get_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Demarche Tracker.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
user_app = typer.Typer(no_args_is_help=True, help="Users and access tokens.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
worker_app = typer.Typer(help="The notification worker: reminders and email.")
app.add_typer(worker_app, name="worker")

console = Console()
err = Console(stderr=True)

ROOT = Path(__file__).resolve().parent.parent


def fail(message: str) -> None:
    """One line on stderr and a non-zero exit: the CLI's error contract."""
    from rich.markup import escape

    line = " ".join(str(message).split())  # a database's multi-line error, on one line
    # soft_wrap: never folded at the terminal's width, which a pipe takes to be 80.
    err.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _first_line(exc: BaseException) -> str:
    """What went wrong, without the SQL and parameters SQLAlchemy appends to it."""
    from sqlalchemy.exc import DBAPIError

    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}".rstrip(": ")


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Bring the schema up to date (safe to run again)."""
    from alembic import command

    url = get_settings().database_url
    _ensure_sqlite_folder(url)
    try:
        command.upgrade(alembic_config(url), revision)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a traceback
        fail(f"migration failed: {_first_line(exc)}")
    console.print(f"schema at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Step the schema back to REVISION (`base` empties it)."""
    from alembic import command

    try:
        command.downgrade(alembic_config(get_settings().database_url), revision)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a traceback
        fail(f"migration failed: {_first_line(exc)}")
    console.print(f"schema at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at, and whether it is this code's head."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine
    from app.revisions import current_heads, expected_heads

    url = get_settings().database_url
    file = make_url(url).database if url.startswith("sqlite") else None
    if file and file != ":memory:" and not Path(file).exists():
        fail(f"there is no database at {file}")  # and connecting would make an empty one
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = current_heads(conn)
    except SQLAlchemyError as exc:
        fail(f"the database does not answer: {_first_line(exc)}")
    finally:
        engine.dispose()
    at = ", ".join(sorted(found)) or "none (never migrated)"
    head = ", ".join(sorted(expected_heads()))
    print(f"{at} (head)" if found == expected_heads() else f"{at} (head is {head})")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="A new file: never overwritten")]) -> None:
    """Back the database up to PATH while it serves (SQLite's backup API, or pg_dump)."""
    from app.backup import BackupError, backup

    try:
        done = backup(get_settings().database_url, path)
    except BackupError as exc:
        fail(str(exc))
    print(done)


@db_app.command("restore")
def db_restore(path: Annotated[Path, typer.Argument(help="A file `db backup` wrote")]) -> None:
    """Restore a backup into the database, which must be empty (nothing is overwritten)."""
    from app.backup import BackupError, restore

    try:
        done = restore(get_settings().database_url, path)
    except BackupError as exc:
        fail(str(exc))
    print(done)


def _session():
    import app.models  # noqa: F401  (every mapper, so relationships across packages resolve)
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(get_settings().database_url)
    return make_sessionmaker(engine)()


@worker_app.callback(invoke_without_command=True)
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Drain what is due, then exit.")] = False,
) -> None:
    """Run the reminder checks and deliver queued email (several may run on PostgreSQL)."""
    if ctx.invoked_subcommand is not None:
        return
    import signal

    from app.db import make_engine, make_sessionmaker
    from app.notifications.worker import run_forever, run_once

    settings = get_settings()
    factory = make_sessionmaker(make_engine(settings.database_url))
    if once:
        typer.echo(f"claimed {run_once(factory, settings)} email(s)")
        return
    if not settings.smtp_host:
        typer.echo("note: SMTP_HOST is unset: reminders are written, email waits in the outbox")
    # Ctrl-C or SIGTERM stops it with exit 0. Set explicitly: `make run` starts it in the
    # background, where the shell leaves SIGINT ignored. A stop mid-batch rolls the batch
    # back: its rows are sent again, with the same Message-ID, by the next claim.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _stopped)
    run_forever(factory, settings)


@worker_app.command("status")
def worker_status() -> None:
    """How many emails are queued, failing (retrying), dead and sent."""
    from app.notifications.worker import status

    with _session() as session:
        counts = status(session)
    typer.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))


def _me() -> str:
    """This command as the operator typed it (`.venv/bin/demarche` under `make run`), so
    a hint can be pasted as it is; `demarche` when run some other way."""
    return sys.argv[0] if Path(sys.argv[0]).name == "demarche" else "demarche"


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Load only into a database with no posts.")
    ] = False,
    credentials: Annotated[
        bool,
        typer.Option(
            "--credentials",
            help="Load nothing: print the demo users' passwords and a new API token each.",
        ),
    ] = False,
) -> None:
    """Load the demo: posts, users, and demarches in mixed states."""
    from sqlalchemy.exc import SQLAlchemyError

    from app import demo as demo_data

    again = f"{_me()} demo --credentials"
    try:
        creds = _demo(demo_data, if_empty=if_empty, credentials=credentials)
    except SQLAlchemyError as exc:  # most often a database never migrated
        fail(f"{_first_line(exc)} (has `{_me()} db upgrade` run?)")
    if creds is None:  # a re-run of `make run`: say how to see them again
        print("demo: database already has data; left as it is")
        print(f"demo users' passwords, and a new API token each: {again}")
        return
    # Plain lines, not a table: a terminal narrower than a token must not cut it short.
    print("Demo users (sign in at /login with the password; the token is for the API):")
    for line in demo_data.credential_lines(creds):
        print("  " + line)
    print(f"Again later: {again} (the same passwords, new tokens)")


def _demo(demo_data, *, if_empty: bool, credentials: bool):
    """What `demo` does but print: the credentials to show, or None if it left the
    database as it was."""
    from app.errors import DomainError

    with _session() as session:
        if credentials:
            creds = demo_data.credentials(session)
            if not creds:
                fail(f"no demo user in this database: load the demo with `{_me()} demo`")
            session.commit()
        elif if_empty and not demo_data.is_empty(session):
            return None
        else:
            try:
                creds = demo_data.load(session)
                session.commit()
            except DomainError as exc:
                session.rollback()
                fail(exc.detail)
    return creds


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(envvar="HOST")] = None,
    port: Annotated[int | None, typer.Option(envvar="PORT")] = None,
    workers: Annotated[int, typer.Option(envvar="WORKERS")] = 1,
    reload: bool = False,
) -> None:
    """Serve the app with uvicorn.

    Proxy headers are the app's to believe (FORWARDED_ALLOW_IPS, app/main.py), never
    uvicorn's: by default it takes X-Forwarded-For from any process on 127.0.0.1.
    No socket stays open doing nothing (app/serving.py), and on SIGTERM the requests in
    flight finish, within GRACEFUL_SHUTDOWN_SECONDS, before the workers exit.
    Every process logs JSON lines on stderr (app/logs.py; uvicorn's access log is off,
    app.http's line replaces it), and with PROMETHEUS_MULTIPROC_DIR set the workers
    count into that folder together (app/metrics.py).
    """
    import os
    import signal

    import uvicorn

    from app.logs import configure_logging
    from app.serving import http_protocol

    settings = get_settings()
    configure_logging(settings.log_level)  # the supervisor's own lines; workers do it again
    if settings.prometheus_multiproc_dir:
        # Before this process or a worker imports prometheus_client, which reads it once.
        _empty_metrics_dir(settings.prometheus_multiproc_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.prometheus_multiproc_dir
    # Ctrl-C or SIGTERM is how a server is stopped. uvicorn lets the requests in flight
    # finish, then raises the signal again for its default action (a KeyboardInterrupt,
    # or death by SIGTERM), which a supervisor or `make run` reports as a failure
    # ("make: *** [run] Interrupt"): a clean stop exits 0 instead.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, _stopped)
    uvicorn.run(
        "app.main:serve_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        reload=reload,
        log_level=settings.log_level.lower(),
        log_config=None,
        access_log=False,
        proxy_headers=False,
        http=http_protocol(),
        timeout_keep_alive=settings.keep_alive_seconds,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        limit_concurrency=settings.limit_concurrency,
    )


def _stopped(signum: int, frame: object) -> None:
    sys.exit(0)


# The files prometheus_client writes in PROMETHEUS_MULTIPROC_DIR, one set per process.
_METRIC_FILE = re.compile(r"(?:counter|gauge_[a-z]+|histogram|summary)_\d+\.db")


def _empty_metrics_dir(path: str) -> None:
    """Remove the metric files a previous run left (prometheus_client asks for the folder
    to be emptied before the processes start), and only those: a folder set by mistake to
    somewhere else loses nothing else. Imports nothing of prometheus_client, whose first
    import in a process must come after (app/metrics.py)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for file in folder.iterdir():
        if _METRIC_FILE.fullmatch(file.name):
            file.unlink()


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="desk_officer, post_officer, viewer, administrator")],
    clearance: Annotated[str, typer.Option(help="UNCLASSIFIED, SBU, CONFIDENTIAL, SECRET")],
    full_name: Annotated[str | None, typer.Option()] = None,
    post: Annotated[str | None, typer.Option(help="Post code, for post officers")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="DEMARCHE_PASSWORD", help="Or set DEMARCHE_PASSWORD")
    ] = None,
) -> None:
    """Add a user."""
    from app.auth.models import Role
    from app.auth.service import add_user
    from app.classification import Classification
    from app.errors import DomainError

    try:
        role_v = Role(role.lower())
        clearance_v = Classification(clearance.upper())
    except ValueError as exc:
        fail(str(exc))
    with _session() as session:
        try:
            user = add_user(
                session,
                username=username,
                full_name=full_name or username,
                role=role_v,
                clearance=clearance_v,
                post_code=post,
                password=password,
            )
            session.commit()
        except DomainError as exc:
            fail(exc.detail)
        console.print(f"added {user.username} ({user.role.value}, {user.clearance.value})")


@user_app.command("list")
def user_list() -> None:
    """List users."""
    from sqlalchemy import select

    from app.auth.models import User

    with _session() as session:
        table = Table()
        for col in ("username", "name", "role", "clearance", "post", "active"):
            table.add_column(col)
        for u in session.scalars(select(User).order_by(User.username)):
            table.add_row(
                u.username,
                u.full_name,
                u.role.value,
                u.clearance.value,
                u.post.code if u.post else "",
                "yes" if u.active else "no",
            )
        console.print(table)


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user: their tokens and sessions stop working at once (audited)."""
    from app.auth.service import get_user, update_user
    from app.errors import DomainError

    with _session() as session:
        try:
            user = get_user(session, username)
        except DomainError as exc:
            fail(exc.detail)
        update_user(session, user, active=False)  # the operator: no administrator's limits
        session.commit()
        console.print(f"disabled {user.username}")


@user_app.command("token")
def user_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expire after this many days")] = None,
) -> None:
    """Create a personal access token and print it (shown only this once)."""
    from datetime import timedelta

    from app.auth.service import get_user, issue_token
    from app.errors import DomainError

    with _session() as session:
        try:
            user = get_user(session, username)
        except DomainError as exc:
            fail(exc.detail)
        if not user.active:
            fail(f"user {username} is disabled")
        issued = issue_token(
            session, user=user, name=name, ttl=timedelta(days=days) if days else None
        )
        session.commit()
        print(issued.secret)


search_app = typer.Typer(no_args_is_help=True, help="The full-text search index.")
app.add_typer(search_app, name="search")


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from every demarche, cable, response, delivery and post."""
    from rich.progress import Progress

    from app.search import service as search

    with _session() as session:
        total = search.steps(session.get_bind().dialect.name)
        with Progress(transient=False) as progress:
            task = progress.add_task("Reindexing", total=total)
            count = search.reindex(
                session, step=lambda table: progress.update(task, advance=1, description=table)
            )
        session.commit()
    print(f"{count} portions indexed")


def _mount_cable_commands() -> None:
    from app.cables.cli import cable_app

    app.add_typer(cable_app, name="cable")


_mount_cable_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
