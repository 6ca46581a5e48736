"""Access to the shared cable corpus (never copied into the repo) and its hand-checked manifest."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CABLES = (REPO / ".." / "shared" / "cables").resolve()
MANIFEST = CABLES / "MANIFEST.tsv"
SKIP_REASON = (
    f"shared cable corpus not found at {CABLES} (tests read real cables from ../shared/cables)"
)

needs_corpus = pytest.mark.skipif(not MANIFEST.is_file(), reason=SKIP_REASON)


@dataclass(frozen=True)
class Row:
    file: str
    ref_id: str
    dtg: str
    originator: str
    classification: str
    subject: str
    kind: str
    refs_cited: tuple[str, ...]
    deadline: str
    action_request: bool
    note: str

    @property
    def path(self) -> Path:
        return CABLES / self.file

    def text(self) -> str:
        return self.path.read_bytes().decode("utf-8", errors="replace")


def manifest() -> list[Row]:
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(encoding="utf-8", newline="") as fh:
        return [
            Row(
                file=r["file"],
                ref_id=r["ref_id"],
                dtg=r["dtg"],
                originator=r["originator"],
                classification=r["classification"],
                subject=r["subject"],
                kind=r["kind"],
                refs_cited=tuple(r["refs_cited"].split()),
                deadline=r["deadline"],
                action_request=r["action_request"].strip().lower() == "yes",
                note=r.get("note") or "",
            )
            for r in csv.DictReader(fh, delimiter="\t")
        ]


def corpus_texts() -> list[str]:
    return [row.text() for row in manifest()]
