"""The operator's probes and the server's hold on its sockets.

`/health/live` answers while the process does, whatever the database; `/health/ready`
answers 200 only when the database answers at the schema this code expects, else a
503 problem that names nothing but what is wrong in general. A real `demarche serve`
closes sockets that send nothing or send their request head too slowly, and on SIGTERM
finishes the requests in flight, within a bound, before it exits.
"""

from __future__ import annotations

import socket

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.errors import PROBLEM_JSON
from app.main import create_app
from app.settings import Settings


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
