"""The operator's probes and the server's hold on its sockets.

`/health/live` answers while the process does, whatever the database; `/health/ready`
answers 200 only when the database answers at the schema this code expects, else a
503 problem that names nothing but what is wrong in general. A real `demarche serve`
closes sockets that send nothing or send their request head too slowly, and on SIGTERM
finishes the requests in flight, within a bound, before it exits.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.errors import PROBLEM_JSON
from app.main import create_app
from app.settings import Settings
from tests.databases import migrated_engine

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_not_ready(r: httpx.Response, *hidden: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.headers["retry-after"]
    body = r.json()
    assert body["status"] == 503 and body["type"] == "/problems/not-ready"
    for secret in hidden:
        assert secret not in r.text


def test_live_and_ready_on_a_migrated_database(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    r = client.get("/health/ready")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/health").json() == {"status": "ok"}  # as it always answered


def test_a_probe_does_not_fill_the_log_with_alembic_lines(client, caplog):
    with caplog.at_level(logging.INFO):
        assert client.get("/health/ready").status_code == 200
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []


def test_ready_refuses_a_schema_that_is_not_this_code_s_head(client, db):
    db.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    db.commit()
    _assert_not_ready(client.get("/health/ready"), "0004", "0005")
    assert client.get("/health/live").status_code == 200

    db.execute(text("DELETE FROM alembic_version"))  # never migrated
    db.commit()
    _assert_not_ready(client.get("/health/ready"))


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("sqlite:////nonexistent-folder/secret-name.db", id="sqlite"),
        pytest.param(
            f"postgresql+psycopg://ops:s3cret@127.0.0.1:{_free_port()}/secret-name",
            id="postgresql",
        ),
    ],
)
def test_ready_is_503_when_the_database_does_not_answer_and_live_is_not(url):
    with TestClient(create_app(Settings(database_url=url)), raise_server_exceptions=False) as c:
        assert c.get("/health/live").json() == {"status": "ok"}
        _assert_not_ready(c.get("/health/ready"), "secret-name", "s3cret", "127.0.0.1")


def test_the_openapi_says_what_ready_answers():
    ready = create_app().openapi()["paths"]["/health/ready"]["get"]["responses"]
    assert set(ready) >= {"200", "503"}
    assert PROBLEM_JSON in ready["503"]["content"]


# A real `demarche serve` ------------------------------------------------------------


def _serve(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, int]:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    migrated_engine(url).dispose()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", **env},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("demarche serve did not start")


@pytest.fixture
def stop():
    procs: list[subprocess.Popen] = []
    yield procs.append
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)


def _open(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    return s


def _closed(s: socket.socket) -> bool:
    """The server closed it (what it sent before closing is read and dropped)."""
    try:
        while chunk := s.recv(65536):
            del chunk
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_idle_and_slow_sockets_are_closed(tmp_path, stop):
    proc, port = _serve(tmp_path, KEEP_ALIVE_SECONDS="1", HEADER_TIMEOUT_SECONDS="3")
    stop(proc)
    start = time.monotonic()
    idle = [_open(port) for _ in range(100)]  # connect, send nothing
    after_answer = _open(port)  # one request answered, then nothing
    after_answer.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    slow = _open(port)  # a request head, one line every half second, never finished
    slow.sendall(b"GET /health/live HTTP/1.1\r\n")

    closed_at: dict[str, float] = {}
    lines = 0
    while time.monotonic() - start < 8 and len(closed_at) < 3:
        now = time.monotonic() - start
        if "idle" not in closed_at and all(_closed(s) for s in idle):
            closed_at["idle"] = now
        if "after_answer" not in closed_at and _closed(after_answer):
            closed_at["after_answer"] = now
        if "slow" not in closed_at:
            try:
                if now > lines * 0.5:
                    slow.sendall(f"X-Line-{lines}: still sending\r\n".encode())
                    lines += 1
                if _closed(slow):
                    closed_at["slow"] = now
            except OSError:
                closed_at["slow"] = now
        time.sleep(0.05)
    for s in [*idle, after_answer, slow]:
        s.close()

    # Within the keep-alive timeout (1 s), with a little slack for a busy machine.
    assert closed_at.get("idle", 99) < 2.5, closed_at
    assert closed_at.get("after_answer", 99) < 2.5, closed_at
    # The trickle outlived the keep-alive timer (each line cancels it), not the deadline.
    assert 2.5 < closed_at.get("slow", 99) < 4.5, closed_at
    assert httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).status_code == 200


def test_sigterm_finishes_requests_in_flight_within_a_bound(tmp_path, stop):
    proc, port = _serve(tmp_path, GRACEFUL_SHUTDOWN_SECONDS="3")
    stop(proc)
    body = b"username=desk&password=not-the-password-at-all"
    head = (
        "POST /login HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    finishing, stuck = _open(port), _open(port)
    for s in (finishing, stuck):  # in flight: the head is in, the body half sent
        s.sendall(head + body[:10])
    time.sleep(0.5)
    assert not _closed(finishing) and not _closed(stuck)

    proc.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    time.sleep(0.5)
    with pytest.raises(OSError):  # no new connection once shutting down
        socket.create_connection(("127.0.0.1", port), timeout=1).close()

    finishing.setblocking(True)
    finishing.settimeout(5)
    finishing.sendall(body[10:])
    answer = b""
    while chunk := finishing.recv(65536):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    assert b"connection: close" in answer.lower()

    # The stuck one (its body never comes) does not hold the exit past the bound.
    proc.wait(timeout=10)
    assert time.monotonic() - sent < 3 + 3
    assert proc.returncode in (0, -signal.SIGTERM)
    finishing.close()
    stuck.close()
