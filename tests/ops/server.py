"""A real `demarche serve` for the operator's tests: its own database, port and stderr.

The tests here read what an operator reads (the log lines on stderr, /metrics, the
probes while a worker is busy), so they run the command the operator runs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.service import issue_token
from app.classification import Classification
from app.db import make_engine, make_sessionmaker
from tests.databases import migrated_engine
from tests.factories import make_signin_user

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`demarche serve` on 127.0.0.1 over a migrated database, stderr kept in a file."""

    def __init__(self, tmp_path: Path, url: str | None = None, *, workers: int = 1, **env: str):
        self.url = url or f"sqlite:///{tmp_path / 'serve.db'}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stderr_path = tmp_path / f"serve-{self.port}.log"
        self.workers = workers
        self.env = {**os.environ, "DATABASE_URL": self.url, "LOG_LEVEL": "INFO", **env}
        for name in ("FORWARDED_ALLOW_IPS", "METRICS_TOKEN", "METRICS_ALLOW_IPS"):
            if name not in env:
                self.env.pop(name, None)
        if "PROMETHEUS_MULTIPROC_DIR" not in env:
            self.env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self.proc: subprocess.Popen[bytes] | None = None
        migrated_engine(self.url).dispose()

    def desk(self, username: str = "desk") -> tuple[str, str]:
        """A SECRET desk officer who can sign in (tests.factories.PASSWORD), and a token."""
        engine = make_engine(self.url)
        try:
            with make_sessionmaker(engine)() as session:
                return username, self._token(session, username)
        finally:
            engine.dispose()

    @staticmethod
    def _token(session: Session, username: str) -> str:
        user = make_signin_user(
            session, username, role=Role.DESK_OFFICER, clearance=Classification.SECRET
        )
        secret = issue_token(session, user=user, name="ops test").secret
        session.commit()
        return secret

    def __enter__(self) -> Served:
        err = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
            + ["--workers", str(self.workers)],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # its own group: stopped with its workers, and only them
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"demarche serve exited:\n{self.stderr_path.read_text()}")
            try:
                if httpx.get(f"{self.base}/health/live", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("demarche serve did not start")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """Every stderr line, each parsed as the JSON object it must be."""
        return [json.loads(line) for line in self.stderr().splitlines() if line.strip()]
