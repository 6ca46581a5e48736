"""Parse throughput on the shared cable corpus, repeated to at least 10,000 cables (one core).

Run: python bench/parse.py [--min N]. Prints figures only; no assertion on timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.cables.parser import parse_cable  # noqa: E402

CABLES = (REPO / ".." / "shared" / "cables").resolve()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--min", type=int, default=10_000, help="minimum number of cables to parse")
    args = ap.parse_args()
    texts = [p.read_bytes().decode("utf-8", errors="replace") for p in sorted(CABLES.glob("*.txt"))]
    if not texts:
        print(f"no cables found in {CABLES}", file=sys.stderr)
        return 2
    rounds = -(-args.min // len(texts))
    workload = texts * rounds
    total_bytes = sum(len(t) for t in workload)
    for t in texts[:20]:  # warm-up: regex caches, imports
        parse_cable(t)
    start = time.perf_counter()
    warnings = 0
    for t in workload:
        warnings += bool(parse_cable(t).warnings)
    elapsed = time.perf_counter() - start
    print(
        f"corpus: {len(texts)} cables, repeated {rounds}x = {len(workload)} cables, {total_bytes / 1e6:.1f} MB"
    )
    print(f"time:   {elapsed:.2f} s")
    print(
        f"rate:   {len(workload) / elapsed:,.0f} cables/s  ({total_bytes / 1e6 / elapsed:.1f} MB/s, one core)"
    )
    print(f"mean:   {1000 * elapsed / len(workload):.3f} ms/cable; slowest single cable below")
    slowest = max(texts, key=lambda t: _time_one(t))
    print(f"        {_time_one(slowest) * 1000:.2f} ms ({len(slowest)} chars)")
    print(f"cables with warnings: {warnings // rounds}/{len(texts)}")
    return 0


def _time_one(text: str) -> float:
    start = time.perf_counter()
    parse_cable(text)
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
