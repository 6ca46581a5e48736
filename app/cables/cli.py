"""`cable` sub-commands: parse telegram files into JSON Lines or a short summary."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from .parser import looks_like_cable, parse_cable

cable_app = typer.Typer(help="Read State Department telegrams.", no_args_is_help=True)


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
                    json.dumps(
                        {"file": name, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
                    )
                )
            else:
                console.print(f"[bold red]{name}[/]: cannot read ({exc.strerror or exc})")
            continue
        parsed = parse_cable(text)
        if as_json:
            typer.echo(json.dumps({"file": name, **parsed.to_dict()}, ensure_ascii=False))
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
