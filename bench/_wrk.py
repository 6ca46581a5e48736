"""Drive a server with wrk over loopback and read back the figures the Lua scripts print."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class Figures:
    requests: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: int = 0  # socket errors, timeouts and non-2xx/3xx answers
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "errors": self.errors,
            "statuses": self.statuses,
        }


def parse(output: str) -> Figures:
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{output[-2000:]}")
    d = json.loads(line.removeprefix("BENCHJSON "))
    errors = (
        d["connect_errors"]
        + d["read_errors"]
        + d["write_errors"]
        + d["status_errors"]
        + d["timeouts"]
    )
    return Figures(
        requests=d["requests"],
        seconds=d["duration_us"] / 1e6,
        p50_ms=d["p50_us"] / 1000,
        p95_ms=d["p95_us"] / 1000,
        p99_ms=d["p99_us"] / 1000,
        max_ms=d["max_us"] / 1000,
        errors=errors,
        statuses=d["statuses"],
    )


def run(
    base_url: str,
    script: str,
    args: list[str],
    *,
    connections: int,
    threads: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> Figures:
    """One bounded wrk run (it stops by itself after `seconds`)."""
    assert base_url.startswith("http://127.0.0.1:"), "loopback only"
    cmd = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
    ]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    cmd += [base_url, "--", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr[-2000:]}")
    return parse(out.stdout)
