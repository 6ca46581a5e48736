"""The log as an operator reads it: one JSON object a line, a request id on each line of a
request (and in its answer), one access line per request, and nothing in any line that
the log's readers may not read (a password, a token, a cookie, a cable's or a demarche's
text)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.classification import Classification
from app.deps import SessionDep, get_session
from app.logs import JsonFormatter
from app.main import create_app
from app.web import SESSION_COOKIE
from tests.cables.samples import instruction
from tests.factories import (
    CSRF,
    PASSWORD,
    demarche_payload,
    login,
    make_region_post,
    make_signin_user,
    make_user,
    write,
)
from tests.ops.server import Served

CANARY = "KUMQUAT-7731"  # in every classified text the flow sends
WRONG_PASSWORD = "wrong-horse-PLUM-4417"
HEX32 = re.compile(r"[0-9a-f]{32}")


class Captured:
    """The lines the app's loggers write, formatted as app/logs.py formats them on stderr."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        # The test's own HTTP client logs the URLs it calls: that is not the server's log.
        self.handler.addFilter(lambda r: not r.name.startswith(("httpx", "httpcore")))

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]

    def access(self) -> list[dict]:
        return [line for line in self.lines() if line["logger"] == "app.http"]


@pytest.fixture
def captured(client) -> Iterator[Captured]:
    """Everything logged at DEBUG and up while the test runs (after the app, which sets
    the level, exists): what an operator with LOG_LEVEL=DEBUG would collect."""
    cap = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(cap.handler)
    root.setLevel(logging.DEBUG)
    yield cap
    root.removeHandler(cap.handler)
    root.setLevel(level)


def test_every_line_of_a_request_carries_its_id_and_the_answer_returns_it(client, db, captured):
    user, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    r = client.get("/api/v1/demarches/424242", headers={**desk, "X-Request-ID": "req-42.a_B"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "req-42.a_B"
    assert r.json()["request_id"] == "req-42.a_B"
    mine = [line for line in captured.lines() if line.get("request_id") == "req-42.a_B"]
    (line,) = [x for x in mine if x["logger"] == "app.http"]
    assert line["route"] == "/api/v1/demarches/{demarche_id}"
    assert (line["method"], line["status"], line["user_id"]) == ("GET", 404, user.id)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert {"time", "level", "message", "pid"} <= set(line)


@pytest.mark.parametrize(
    "sent",
    ["", "has space", 'quo"te', "x" * 129, "semi;colon", "ünïcode", "a/b"],
)
def test_an_incoming_id_that_is_not_a_plain_token_is_replaced(client, sent):
    r = client.get("/health/live", headers={"X-Request-ID": sent.encode()})
    assert HEX32.fullmatch(r.headers["x-request-id"])


def test_without_an_incoming_id_each_request_gets_its_own(client):
    ids = {client.get("/health/live").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(HEX32.fullmatch(i) for i in ids)


def test_every_problem_answer_carries_the_request_id(client, db):
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    answers = [
        client.get("/api/v1/demarches"),  # 401
        client.get("/api/v1/nothing-here", headers=desk),  # 404, no route
        client.get("/api/v1/demarches/999", headers=desk),  # 404, no record
        client.get("/api/v1/demarches?limit=0", headers=desk),  # 422
        client.post(
            "/api/v1/demarches",
            headers=desk,
            content=b"{",
        ),  # 400
        client.post(
            "/api/v1/demarches",
            headers={**desk, "content-type": "application/json"},
            content=b"[" + b" " * 1_100_000 + b"]",
        ),  # 413, from the body limit, outside the routes
    ]
    for r in answers:
        assert r.headers["content-type"] == "application/problem+json", r.text
        assert r.json()["request_id"] == r.headers["x-request-id"], (r.status_code, r.text)


@pytest.fixture
def failing_client(app_settings, db) -> Iterator[TestClient]:
    """An app of its own with one route that fails the way a bug would: a database error
    whose statement carries the canary, with the canary also on its message's second line."""
    app = create_app(app_settings)

    def boom(session: SessionDep) -> None:
        try:
            session.execute(text("INSERT INTO posts (code) VALUES (:code)"), {"code": CANARY})
        except Exception as exc:
            raise RuntimeError(f"posting failed\nwhile storing {CANARY}") from exc

    app.get("/api/v1/boom")(boom)

    def _session() -> Iterator[Session]:
        yield db

    app.dependency_overrides[get_session] = _session
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_an_unexpected_error_is_logged_with_its_frames_but_not_what_it_quotes(
    failing_client, captured
):
    r = failing_client.get("/api/v1/boom", headers={"X-Request-ID": "boom-1"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "boom-1" and r.json()["request_id"] == "boom-1"
    lines = [line for line in captured.lines() if line.get("request_id") == "boom-1"]
    (failure,) = [line for line in lines if "exc" in line]
    assert "RuntimeError: posting failed" in failure["exc"]
    assert "IntegrityError" in failure["exc"]  # the cause, by its first line
    assert 'File "' in failure["exc"] and "in boom" in failure["exc"]  # the frames
    (access,) = [line for line in lines if line["logger"] == "app.http"]
    assert access["status"] == 500 and access["route"] == "/api/v1/boom"
    assert CANARY not in captured.text


def test_a_realistic_flow_logs_no_secret_and_no_classified_text(client, db, captured):
    """Sign in, fail to sign in, mint a token, write, issue and read a demarche, upload
    a cable and draft from it, on the API and the pages: the log names the routes, the
    statuses and the users' ids, and none of the secrets or texts that went by."""
    posts = [make_region_post(db, "HANOI"), make_region_post(db, "SUVA")]
    user, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    make_signin_user(db, "dora")
    token = desk["Authorization"].removeprefix("Bearer ")

    minted = client.post("/api/v1/tokens", headers=desk, json={"name": f"ci {CANARY}"})
    assert minted.status_code == 201, minted.text
    new_token = minted.json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_token}"}).is_success

    body = demarche_payload(
        posts,
        subject=f"UNSC: {CANARY} VOTE",
        summary=f"Summary {CANARY}.",
        objectives=[f"Objective {CANARY}."],
        talking_points=[{"text": f"Point {CANARY}.", "use": "public"}],
    )
    created = client.post("/api/v1/demarches", headers=desk, json=body)
    assert created.status_code == 201, created.text
    did = created.json()["id"]
    issued = write(client, "POST", f"/api/v1/demarches/{did}/issue", desk)
    assert issued.status_code == 200, issued.text
    assert CANARY in client.get(f"/api/v1/demarches/{did}", headers=desk).text
    refused = client.post("/api/v1/demarches", headers=desk, json={**body, "deadline": "x"})
    assert refused.status_code == 422

    cable = instruction(serial="771234").replace("COUNCIL VOTE", f"{CANARY} VOTE")
    cable = cable.replace("vote yes.", f"vote yes on {CANARY}.")
    up = client.post(
        "/api/v1/cables", headers={**desk, "content-type": "text/plain"}, content=cable.encode()
    )
    assert up.status_code == 201, up.text
    drafted = client.post(f"/api/v1/cables/{up.json()['id']}/draft-demarche", headers=desk)
    assert drafted.status_code == 201, drafted.text

    page = client.get("/login")
    bad = client.post(
        "/login",
        data={
            "username": "dora",
            "password": WRONG_PASSWORD,
            "csrf_token": CSRF.search(page.text).group(1),
        },
    )
    assert bad.status_code in (200, 401, 422)
    csrf = login(client, "dora")
    cookie = client.cookies[SESSION_COOKIE]
    pasted = client.post(
        "/cables/import/instruction",
        data={"csrf_token": csrf, "text": instruction(serial="771235") + f"\n{CANARY}\n"},
    )
    assert pasted.status_code == 200, pasted.text
    assert client.get(f"/demarches/{did}").status_code == 200

    forged = client.get("/api/v1/me", headers={"Authorization": f"Bearer {CANARY}-token"})
    assert forged.status_code == 401
    client.cookies.set(SESSION_COOKIE, f"{CANARY}-cookie")
    assert client.get("/inbox", follow_redirects=False).status_code == 303

    access = captured.access()
    assert len(access) >= 15
    assert {line["user_id"] for line in access} >= {user.id}
    assert all("request_id" in line for line in captured.lines() if line["logger"] == "app.http")
    for secret in (CANARY, PASSWORD, WRONG_PASSWORD, token, new_token, cookie, csrf):
        assert secret not in captured.text, secret


def test_demarche_serve_writes_only_json_lines_and_no_uvicorn_access_log(tmp_path):
    """The real command at DEBUG: the supervisor's and uvicorn's own lines are JSON too,
    uvicorn's access line (which names the raw path and query) is off, ours is on."""
    server = Served(tmp_path, LOG_LEVEL="DEBUG")
    _, token = server.desk()
    with server, httpx.Client(base_url=server.base, timeout=10) as c:
        auth = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/me", headers=auth).status_code == 200
        r = c.get(f"/api/v1/demarches?tag={CANARY}", headers={**auth, "X-Request-ID": "srv-1"})
        assert r.status_code in (200, 422)
        assert r.headers["x-request-id"] == "srv-1"
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {CANARY}"}).status_code == 401
    lines = server.log_lines()  # each one parses as JSON, or this fails
    assert lines, server.stderr()
    assert not [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # "Started server process"
    (mine,) = [x for x in lines if x["logger"] == "app.http" and x.get("request_id") == "srv-1"]
    assert mine["route"] == "/api/v1/demarches" and mine["status"] in (200, 422)
    assert CANARY not in server.stderr() and token not in server.stderr()
