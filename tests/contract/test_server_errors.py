"""An unexpected exception is answered with the 500 problem JSON and the connection
stays open: Starlette's ServerErrorMiddleware answered, then re-raised, and uvicorn
closes the connection of any request whose exception reaches it, so a keep-alive
client lost its connection on every 500 (issue 14).

Served by real uvicorn: `demarche serve` over a database that cannot be opened (a real
server error, no route of the app changed), and the app itself with a route added
that fails, in this process, to see the answer and the log line.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from app.errors import PROBLEM_JSON
from app.handlers import AnswerUnexpectedErrors
from app.main import create_app
from app.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, str, bytes]:
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.getheader("content-type", ""), r.read()


def _wait_for(port: int, path: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            if _get(conn, path)[0] == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def _assert_kept_open(port: int, failing: str, healthy: str) -> None:
    """A server error, then two more requests, all on the one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    status, ctype, body = _get(conn, failing)
    assert status >= 500 and ctype == PROBLEM_JSON, (status, body)
    assert json.loads(body)["status"] == status
    first = conn.sock
    assert first is not None, "the server asked to close the connection"
    assert _get(conn, healthy)[0] == 200
    assert _get(conn, failing)[0] == status
    assert conn.sock is first, "the client had to open a new connection"
    conn.close()


def test_demarche_serve_keeps_the_connection_after_a_server_error(tmp_path):
    # A database nobody can open: every route that asks it fails, the probe of the
    # process alone does not.
    url = f"sqlite:///{tmp_path / 'no-such-directory' / 'x.db'}"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "CRITICAL"},
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, "/health/live")
        _assert_kept_open(port, "/health", "/health/live")
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def failing_app_server(tmp_path) -> Iterator[int]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("the secret text of a SECRET cable")

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="critical")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield server.config.port
    server.should_exit = True
    thread.join(timeout=10)


def test_the_app_answers_an_unexpected_exception_once_and_keeps_the_connection(
    failing_app_server, caplog
):
    caplog.set_level(logging.ERROR)
    _assert_kept_open(failing_app_server, "/api/v1/boom", "/health/live")
    conn = http.client.HTTPConnection("127.0.0.1", failing_app_server, timeout=10)
    conn.request("GET", "/api/v1/boom")
    r = conn.getresponse()
    body = json.loads(r.read())
    assert body["title"] == "Internal server error"
    assert "SECRET" not in json.dumps(body)  # what failed is the log's, not the caller's
    assert r.getheader("x-content-type-options") == "nosniff"  # through every middleware
    conn.close()
    logged = [rec for rec in caplog.records if rec.name == "app.errors"]
    assert len(logged) == 3  # once per 500, with its traceback; uvicorn logged none
    assert all(rec.exc_info and rec.exc_info[0] is RuntimeError for rec in logged)
    assert not [rec for rec in caplog.records if rec.name.startswith("uvicorn")]


def test_an_exception_after_the_answer_started_still_reaches_the_server():
    """Half an answer is out: only closing the connection can say it is not whole."""
    sent: list[dict] = []

    async def half(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("mid-body")

    async def send(message) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": []}
    with pytest.raises(RuntimeError, match="mid-body"):
        asyncio.run(AnswerUnexpectedErrors(half)(scope, receive, send))
    assert [m["type"] for m in sent] == ["http.response.start"]
