"""`cable` sub-commands: parse telegram files (JSON Lines or a summary), bulk-import them."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Cable
from .parser import MAX_CHARS, ParsedCable, looks_like_cable, parse_cable

cable_app = typer.Typer(help="Read State Department telegrams.", no_args_is_help=True)


def json_line(record: dict) -> str:
    """One JSON Lines record: UTF-8 as is, but the two Unicode line breaks escaped, which
    a consumer splitting on line boundaries (str.splitlines, many JSON Lines readers)
    would otherwise cut a record at."""
    return (
        json.dumps(record, ensure_ascii=False)
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


@cable_app.callback()
def _cable() -> None:
    """Read State Department telegrams."""


@cable_app.command("parse")
def parse(
    files: list[Path] = typer.Argument(..., help="Cable text files, parsed in the order given."),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object per file (JSON Lines)."
    ),
) -> None:
    """Parse cable files; an unreadable file gets an "error" line and a non-zero exit at the end."""
    console = Console(highlight=False, soft_wrap=True)
    failed = False
    for path in files:
        name = str(path)
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            failed = True
            if as_json:
                typer.echo(
                    json_line(
                        {"file": name, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
                    )
                )
            else:
                console.print(f"[bold red]{name}[/]: cannot read ({exc.strerror or exc})")
            continue
        parsed = parse_cable(text)
        if as_json:
            typer.echo(json_line({"file": name, **parsed.to_dict()}))
        else:
            _summary(console, name, parsed)
    if failed:
        raise typer.Exit(code=1)


def _summary(console: Console, name: str, parsed: object) -> None:
    from .parser import ParsedCable

    assert isinstance(parsed, ParsedCable)
    p = parsed
    console.print(
        f"[bold]{name}[/]  {p.ref_id or '?'}  [cyan]{p.kind}[/]  {p.classification or ''}"
    )
    console.print(f"  {p.dtg or 'no DTG'}  FM {p.originator or '?'}  {p.precedence or ''}")
    if p.subject:
        console.print(f"  SUBJECT: {p.subject}")
    if p.action_addressees or p.info_addressees:
        console.print(f"  TO {len(p.action_addressees)} / INFO {len(p.info_addressees)} addressees")
    refs = [r.ref_id for r in p.references if r.ref_id]
    if refs:
        console.print(f"  REF: {' '.join(refs)}")
    if p.action_request:
        extra = ", ".join(
            x
            for x in (
                f"deadline {p.deadline}" if p.deadline else "",
                p.delivery_level or "",
                f"{len(p.talking_points)} talking points" if p.talking_points else "",
            )
            if x
        )
        console.print(
            f"  action request (paras {list(p.action_paragraphs)}){': ' + extra if extra else ''}"
        )
    console.print(
        f"  {len(p.paragraphs)} paragraphs" + (f", signed {p.signature}" if p.signature else "")
    )
    if not looks_like_cable(p):
        console.print("  [yellow]does not look like a cable[/]")
    for w in p.warnings:
        console.print(f"  [yellow]warning:[/] {w}")


# -- bulk import ------------------------------------------------------------------


@dataclass
class ImportResult:
    imported: int = 0
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.imported / self.seconds if self.seconds else 0.0


def cable_files(paths: Iterable[Path]) -> list[Path]:
    """Files given, and the files under folders given (sorted, so runs are repeatable)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in (".txt", ""))
            )
        else:
            out.append(p)
    return out


def _read_and_parse(path: Path) -> tuple[str, str | None, ParsedCable | None]:
    """(text, error, parsed): runs in worker processes, so it touches no database. A file
    longer than any cable (the largest upload) is refused, as the API refuses it."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CHARS + 1)
    except OSError as exc:
        return "", f"cannot read: {exc.strerror or exc}", None
    if len(raw) > MAX_CHARS:
        return "", f"larger than any cable ({MAX_CHARS:,} bytes at most)", None
    text = raw.decode("utf-8", errors="replace")
    return text, None, parse_cable(text)


def run_import(
    session: Session,
    items: Iterable[tuple[str, str, str | None, ParsedCable | None]],
    *,
    batch_size: int = 200,
    on_item: Callable[[], None] | None = None,
) -> ImportResult:
    """Store (name, text, error, parsed) items, committing every `batch_size` cables.

    Duplicates (same ref id, in this run or already stored) are skipped; a failure
    is recorded and the import goes on. A batch is written in a few round trips; if
    it fails (a bad row, a concurrent importer), it is retried cable by cable, each
    in its own savepoint, so one bad cable never takes the others with it.
    """
    from .ingest import ref_id_for

    result = ImportResult()
    started = time.perf_counter()
    seen: set[str] = set()
    batch: list[tuple[str, str, ParsedCable]] = []
    for name, text, error, parsed in items:
        if on_item:
            on_item()
        if error or parsed is None:
            result.failures.append((name, error or "unreadable"))
            continue
        if not looks_like_cable(parsed):
            result.failures.append((name, "not a cable: " + "; ".join(parsed.warnings[:3])))
            continue
        ref_id = ref_id_for(text, parsed)
        if ref_id in seen:
            result.duplicates += 1
            continue
        seen.add(ref_id)
        batch.append((name, text, parsed))
        if len(batch) >= batch_size:
            _store_batch(session, batch, result)
            batch = []
    if batch:
        _store_batch(session, batch, result)
    result.seconds = time.perf_counter() - started
    return result


def _store_batch(
    session: Session, batch: list[tuple[str, str, ParsedCable]], result: ImportResult
) -> None:
    from .ingest import ingest_batch, ingest_parsed, ref_id_for

    refs = [ref_id_for(text, parsed) for _, text, parsed in batch]
    stored = set(session.scalars(select(Cable.ref_id).where(Cable.ref_id.in_(refs))))
    new = [item for item, ref in zip(batch, refs, strict=True) if ref not in stored]
    result.duplicates += len(batch) - len(new)
    try:
        with session.begin_nested():
            ingest_batch(session, [(text, parsed) for _, text, parsed in new], actor=None)
        result.imported += len(new)
    except Exception:  # noqa: BLE001 - fall back to one cable at a time to find the bad one
        for name, text, parsed in new:
            try:
                with session.begin_nested():
                    got = ingest_parsed(session, text, parsed, actor=None, savepoint=False)
            except Exception as exc:  # noqa: BLE001 - report it at the end, keep importing
                result.failures.append((name, f"{type(exc).__name__}: {exc}"[:300]))
                continue
            if got.created:
                result.imported += 1
            else:
                result.duplicates += 1
    session.commit()


@cable_app.command("import")
def import_cables(
    paths: list[Path] = typer.Argument(..., help="Cable files, or folders of them."),
    batch_size: int = typer.Option(200, "--batch", min=1, help="Commit every N cables."),
    workers: int = typer.Option(
        0, "--workers", min=0, help="Parsing processes (0: one per CPU, up to 8)."
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Defaults to DATABASE_URL from the settings."
    ),
) -> None:
    """Import cables into the database: duplicates skipped, failures listed at the end."""
    import app.models  # noqa: F401  (every mapper configured before the first query)
    from app.db import make_engine, make_sessionmaker
    from app.settings import get_settings

    console = Console(highlight=False, soft_wrap=True)
    files = cable_files(paths)
    engine = make_engine(database_url or get_settings().database_url)
    n_workers = workers or min(8, os.cpu_count() or 1)
    with (
        make_sessionmaker(engine)() as session,
        Progress(
            TextColumn("[bold]importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task("cables", total=len(files))
        if n_workers > 1 and len(files) > 50:
            with ProcessPoolExecutor(n_workers) as pool:
                parsed = pool.map(_read_and_parse, files, chunksize=16)
                items = ((str(f), *r) for f, r in zip(files, parsed, strict=True))
                result = run_import(
                    session, items, batch_size=batch_size, on_item=lambda: progress.advance(task)
                )
        else:
            items = ((str(f), *_read_and_parse(f)) for f in files)
            result = run_import(
                session, items, batch_size=batch_size, on_item=lambda: progress.advance(task)
            )
    engine.dispose()
    console.print(
        f"imported {result.imported}, skipped {result.duplicates} duplicate(s), "
        f"{len(result.failures)} failed, in {result.seconds:.1f} s ({result.rate:.0f} cables/s)"
    )
    for name, why in result.failures:
        console.print(f"[red]failed[/] {name}: {why}")
    if result.failures:
        raise typer.Exit(code=1)
