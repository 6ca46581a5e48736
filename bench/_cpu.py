"""CPU time of process trees from /proc: the app's workers and the database server's backends.

Throughput drifts by a third on a shared machine; the CPU a request costs drifts far less.
The figure is (user + system time of every process of the tree, its reaped children's
included) after a pass minus before it, divided by the requests answered. A process's
cutime/cstime hold only children it has waited for, so summing the four fields over the
live processes of a tree counts each CPU second once: a backend that exits mid-pass moves
its time into the postmaster's cutime, and one started mid-pass counts from zero.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class Stat:
    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        """This process's CPU and that of its reaped children, in clock ticks."""
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(line: str) -> Stat:
    """One /proc/<pid>/stat line. The command name, in parentheses, may hold spaces and
    parentheses itself: the fields are counted from the last ')'."""
    head, _, rest = line.rpartition(")")
    pid = int(head.split("(", 1)[0])
    f = rest.split()
    # f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14-17 (proc(5)).
    return Stat(pid, int(f[1]), int(f[11]), int(f[12]), int(f[13]), int(f[14]))


def read_stat(pid: int) -> Stat | None:
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return None  # gone, or not ours to read


def all_stats() -> dict[int, Stat]:
    out = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (st := read_stat(int(entry.name))) is not None:
            out[st.pid] = st
    return out


def tree_ticks(root: int, stats: dict[int, Stat] | None = None) -> int:
    """CPU ticks of `root` and every live descendant (0 if root is gone)."""
    stats = all_stats() if stats is None else stats
    kids: dict[int, list[int]] = {}
    for st in stats.values():
        kids.setdefault(st.ppid, []).append(st.pid)
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid].ticks
        todo += kids.get(pid, [])
    return total


class Meter:
    """CPU ticks of named process trees, read together (one scan of /proc per sample)."""

    def __init__(self, roots: dict[str, int | None]):
        self.roots = {k: v for k, v in roots.items() if v}

    def sample(self) -> dict[str, int]:
        stats = all_stats()
        return {name: tree_ticks(pid, stats) for name, pid in self.roots.items()}

    @staticmethod
    def ms_per_request(
        before: dict[str, int], after: dict[str, int], requests: int
    ) -> dict[str, float]:
        """CPU milliseconds per request for each tree, and their total ("total")."""
        if requests <= 0:
            return {}
        out = {k: (after[k] - before[k]) * 1000 / CLK_TCK / requests for k in before}
        out["total"] = sum(out.values())
        return out


def postmaster_of(backend_pid: int) -> int | None:
    """The postmaster of a local PostgreSQL backend (its parent), or None if not local."""
    st = read_stat(backend_pid)
    if st is None:
        return None
    parent = PROC / str(st.ppid) / "cmdline"
    try:
        cmd = parent.read_bytes()
    except OSError:
        return None
    return st.ppid if b"postgres" in cmd or b"postmaster" in cmd else None
