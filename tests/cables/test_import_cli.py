"""`demarche cable import`: many cables, duplicates skipped, failures listed, exit status."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.audit import AuditEvent
from app.cables.cli import cable_app, run_import
from app.cables.models import Cable, CableReply
from app.cables.parser import parse_cable
from tests.cables._corpus import CABLES, manifest, needs_corpus
from tests.cables.samples import instruction
from tests.databases import fresh_database, migrated_engine

runner = CliRunner()


def _items(texts: list[str]):
    return [(f"c{i}", t, None, parse_cable(t)) for i, t in enumerate(texts)]


def test_run_import_skips_duplicates_and_reports_failures_without_stopping(db):
    texts = [instruction(str(200000 + n)) for n in range(7)]
    items = _items(texts + texts[:2]) + [("junk", "hello", None, parse_cable("hello"))]
    items.append(("gone", "", "cannot read: No such file", None))
    result = run_import(db, items, batch_size=3)
    assert (result.imported, result.duplicates) == (7, 2)
    assert [name for name, _ in result.failures] == ["junk", "gone"]
    assert db.scalar(select(func.count()).select_from(Cable)) == 7
    ingests = db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "ingest")
    )
    assert ingests == 7
    # Run again: everything is already stored.
    again = run_import(db, _items(texts), batch_size=3)
    assert (again.imported, again.duplicates, again.failures) == (0, 7, [])


def test_a_bad_row_fails_alone_and_its_batch_still_lands(db):
    texts = [instruction(str(300000 + n)) for n in range(4)]
    items = _items(texts)
    # A row the service chokes on (here: broken references) must not sink its batch.
    name, text, err, parsed = items[1]
    items[1] = (name, text, err, dataclasses.replace(parsed, kind="report", references=None))  # type: ignore[arg-type]
    result = run_import(db, items, batch_size=10)
    assert result.imported == 3 and [n for n, _ in result.failures] == [name]
    assert db.scalar(select(func.count()).select_from(Cable)) == 3


@needs_corpus
def test_import_command_on_the_corpus_folder(tmp_path: Path):
    url = fresh_database("sqlite", tmp_path)
    engine = migrated_engine(url)
    folder = tmp_path / "cables"
    folder.mkdir()
    rows = manifest()
    for row in rows:
        shutil.copy(row.path, folder / row.file)
    (folder / "dup.txt").write_bytes((CABLES / "07STATE166909.txt").read_bytes())
    (folder / "notes.txt").write_text("shopping list: milk", encoding="utf-8")

    result = runner.invoke(
        cable_app, ["import", str(folder), "--database-url", url, "--workers", "1"]
    )
    assert result.exit_code == 1, result.output
    assert "notes.txt" in result.output and "failed" in result.output
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Cable))
        replies = conn.scalar(select(func.count()).select_from(CableReply))
        reports = conn.scalar(select(func.count()).select_from(Cable).where(Cable.kind == "report"))
    distinct = len({parse_cable(r.text()).ref_id or r.file for r in rows})
    assert stored == distinct
    assert replies == reports > 0  # every report is filed, matched or not
    assert "skipped 1 duplicate" in result.output or "duplicate" in result.output

    # A second run stores nothing new and, with no bad file, exits 0.
    (folder / "notes.txt").unlink()
    again = runner.invoke(
        cable_app, ["import", str(folder), "--database-url", url, "--workers", "1"]
    )
    assert again.exit_code == 0, again.output
    assert "imported 0" in again.output
    engine.dispose()
