"""Bulk-import throughput into the database named by DATABASE_URL (cables/s).

The shared corpus is repeated until --min cables, each copy's reference number made
unique, then imported the way `demarche cable import` does it (parse in worker
processes, one savepoint per cable, a commit every --batch). Prints figures only.

Run: DATABASE_URL=postgresql+psycopg://... python bench/import_cables.py [--min 5000]
The schema must be migrated (`demarche db upgrade`). Imported rows are left in place.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import app.models  # noqa: E402,F401
from app.cables.cli import run_import  # noqa: E402
from app.cables.parser import ParsedCable, parse_cable  # noqa: E402
from app.db import make_engine, make_sessionmaker  # noqa: E402
from app.settings import get_settings  # noqa: E402

CABLES = (REPO / ".." / "shared" / "cables").resolve()


def _parse(item: tuple[str, str, int]) -> tuple[str, str, str | None, ParsedCable | None]:
    # Each copy gets its own ref id (and, for hash ids, its own text): same work, new rows.
    name, text, copy = item
    text = f"{text}\n{copy}\n"
    parsed = parse_cable(text)
    if parsed.ref_id:
        parsed = dataclasses.replace(parsed, ref_id=f"{parsed.ref_id}-{copy}")
    return name, text, None, parsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--min", type=int, default=5000, help="cables to import at least")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1))
    args = ap.parse_args()
    texts = [p.read_bytes().decode("utf-8", errors="replace") for p in sorted(CABLES.glob("*.txt"))]
    if not texts:
        print(f"no cables found in {CABLES}", file=sys.stderr)
        return 2
    rounds = -(-args.min // len(texts))
    run = uuid.uuid4().int % 9000 + 1000  # a fresh id space per run
    workload = [(f"{i}", t, run * rounds + r) for r in range(rounds) for i, t in enumerate(texts)]
    url = get_settings().database_url
    engine = make_engine(url)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(
        f"cables:   {len(workload)} ({len(texts)} files x {rounds}), batch {args.batch}, "
        f"{args.workers} parse workers"
    )
    started = time.perf_counter()
    with make_sessionmaker(engine)() as session:
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers) as pool:
                result = run_import(
                    session, pool.map(_parse, workload, chunksize=32), batch_size=args.batch
                )
        else:
            result = run_import(session, map(_parse, workload), batch_size=args.batch)
    wall = time.perf_counter() - started
    engine.dispose()
    print(
        f"imported: {result.imported}  duplicates: {result.duplicates}  "
        f"failed: {len(result.failures)}"
    )
    print(f"time:     {wall:.2f} s")
    print(f"rate:     {result.imported / wall:.0f} cables/s")
    for name, why in result.failures[:5]:
        print(f"  failed {name}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
