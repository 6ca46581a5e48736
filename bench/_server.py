"""Start and stop a server process on loopback, and read its workers' memory from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A child process serving HTTP on 127.0.0.1:port; stopped by its own pid only."""

    def __init__(
        self,
        cmd: list[str],
        *,
        port: int,
        env: dict[str, str],
        cwd: Path,
        log: Path,
        health: str = "/health",
    ):
        self.cmd, self.port, self.env, self.cwd, self.log = cmd, port, env, cwd, log
        self.health = health
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The supervisor's pid: its process tree is the app (bench/_cpu.py)."""
        return self.proc.pid if self.proc is not None else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: see {self.log}")
            try:
                answered = httpx.get(self.base_url + self.health, timeout=2).status_code < 500
                # Both workers must be up before the load starts.
                if answered and (len(self.workers()) >= 2 or time.monotonic() > deadline - 50):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server did not answer on {self.base_url}: see {self.log}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # Our own process group (start_new_session): the supervisor and its workers only.
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def workers(self) -> list[int]:
        """The uvicorn worker processes (spawned children of the supervisor)."""
        if self.proc is None:
            return []
        found = []
        for pid in _children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(pid)
        return found

    def cpu_ticks(self) -> int:
        """CPU time used so far by the workers (user + system, in clock ticks)."""
        total = 0
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total

    def wait_idle(self, *, quiet_for: float = 0.5, timeout: float = 30.0) -> float:
        """Wait until the workers stop using CPU: when wrk stops, requests it had queued
        are still being answered, and a measurement taken meanwhile would pay for the
        last scenario. Returns the seconds waited."""
        start = time.monotonic()
        step = 0.1
        quiet = 0.0
        last = self.cpu_ticks()
        while quiet < quiet_for and time.monotonic() - start < timeout:
            time.sleep(step)
            now = self.cpu_ticks()
            quiet = quiet + step if now - last <= 1 else 0.0
            last = now
        return time.monotonic() - start

    def worker_memory_mb(self) -> list[dict[str, float]]:
        out = []
        for pid in self.workers():
            status = _status(pid)
            out.append(
                {
                    "pid": pid,
                    "rss_mb": status.get("VmRSS", 0) / 1024,
                    "peak_rss_mb": status.get("VmHWM", 0) / 1024,
                }
            )
        return out


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def _status(pid: int) -> dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values
