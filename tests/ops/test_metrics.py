"""/metrics: what it counts, in the Prometheus text format, and to whom it answers (a peer
in METRICS_ALLOW_IPS or the bearer of METRICS_TOKEN; anyone else gets what any path that
does not exist gets). Several workers add their counts up through PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text

from app.auth.models import Role
from app.auth.throttle import PER_PAIR
from app.classification import Classification
from app.db import make_engine
from app.deps import get_session
from app.main import create_app
from app.metrics import watch_pool
from tests.cables.samples import instruction
from tests.databases import BACKENDS, drop_database, fresh_database
from tests.factories import CSRF, make_signin_user, make_user
from tests.ops.server import Served

LOCAL = ("127.0.0.1", 40000)
REMOTE = ("203.0.113.9", 40000)
TOKEN = "scrape-token-0123456789abcdef"


def value(exposition: str, sample: str, **labels: str) -> float:
    """The value of one sample (0 when absent, as a counter not yet touched)."""
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


@pytest.fixture
def browser(client) -> Iterator:
    """TestClients on the test's app and database at a given peer address."""
    opened: list[TestClient] = []

    def at(address: tuple[str, int], app=None) -> TestClient:
        c = TestClient(app or client.app, client=address, raise_server_exceptions=False)
        opened.append(c)
        return c

    yield at
    for c in opened:
        c.close()


@pytest.fixture
def configured(app_settings, db) -> Iterator:
    """An app of its own with other metrics settings, on the test's database."""
    made: list[TestClient] = []

    def with_settings(address: tuple[str, int], **settings) -> TestClient:
        app = create_app(app_settings.model_copy(update=settings))

        def _session():
            yield db

        app.dependency_overrides[get_session] = _session
        c = TestClient(app, client=address, raise_server_exceptions=False)
        made.append(c)
        return c

    yield with_settings
    for c in made:
        c.close()


def scrape(c: TestClient) -> str:
    r = c.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    return r.text


def test_requests_are_counted_by_route_template_method_and_status_class(client, db, browser):
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    local = browser(LOCAL)
    labels = {"route": "/api/v1/demarches/{demarche_id}", "method": "GET", "status": "4xx"}
    before = scrape(local)
    for i in range(3):
        assert client.get(f"/api/v1/demarches/{1000 + i}", headers=desk).status_code == 404
    after = scrape(local)
    count = "demarche_http_requests_total"
    assert value(after, count, **labels) - value(before, count, **labels) == 3
    hist = "demarche_http_request_duration_seconds_count"
    assert value(after, hist, **labels) - value(before, hist, **labels) == 3
    assert value(after, "demarche_http_request_duration_seconds_bucket", le="+Inf", **labels) > 0
    assert "/api/v1/demarches/1000" not in after  # templates only, never paths


def test_labels_take_bounded_values_whatever_is_sent(client, browser):
    local = browser(LOCAL)
    before = scrape(local)
    client.request("BREW", "/coffee/pot-17?x=1")
    client.get("/no/such/path/8c1f")
    after = scrape(local)
    count = "demarche_http_requests_total"
    assert value(after, count, route="unmatched", method="other") > value(
        before, count, route="unmatched", method="other"
    )
    assert "BREW" not in after and "pot-17" not in after and "8c1f" not in after


def _same_as_a_missing_path(r: httpx.Response, missing: httpx.Response) -> None:
    assert r.status_code == missing.status_code == 404
    assert r.headers["content-type"] == missing.headers["content-type"]
    assert r.content == missing.content.replace(b"/metricz", b"/metrics")
    skip = {"x-request-id", "date"}
    assert {k: v for k, v in r.headers.items() if k not in skip} == {
        k: v for k, v in missing.headers.items() if k not in skip
    }


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE", "OPTIONS"])
def test_anyone_else_gets_the_404_of_a_path_that_does_not_exist(client, db, browser, method):
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    remote = browser(REMOTE)
    for headers in ({}, desk, {"Authorization": f"Bearer {TOKEN}"}, {"accept": "application/json"}):
        r = remote.request(method, "/metrics", headers=headers)
        _same_as_a_missing_path(r, remote.request(method, "/metricz", headers=headers))
    r = remote.get("/metrics?x=%00")  # the NUL guard, which a route would run, must not tell
    _same_as_a_missing_path(r, remote.get("/metricz?x=%00"))
    assert "/metrics" not in client.get("/openapi.json").text


def test_a_configured_token_opens_it_from_anywhere(configured):
    remote = configured(REMOTE, metrics_token=SecretStr(TOKEN))
    assert remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert remote.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, "Bearer "):
        assert remote.get("/metrics", headers={"Authorization": wrong}).status_code == 404


def test_a_short_metrics_token_is_refused_at_start(app_settings):
    with pytest.raises(ValueError, match="at least 16"):
        app_settings.model_validate({**app_settings.model_dump(), "metrics_token": "short"})


@pytest.mark.parametrize(
    ("allow", "peer", "answered"),
    [
        ("127.0.0.1,::1", "127.0.0.1", True),
        ("127.0.0.1,::1", "::1", True),
        ("127.0.0.1,::1", "10.1.2.3", False),
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", "::ffff:10.1.2.3", True),
        ("", "127.0.0.1", False),
        ("127.0.0.1", "testclient", False),
    ],
)
def test_the_allow_list_takes_addresses_and_networks(configured, allow, peer, answered):
    c = configured((peer, 40000), metrics_allow_ips=allow)
    assert c.get("/metrics").status_code == (200 if answered else 404)


def test_behind_a_trusted_proxy_the_client_it_names_is_checked_not_the_proxy(configured):
    """A proxy on this machine forwards everyone's requests from 127.0.0.1: the address
    checked is the one it names."""
    proxied = configured(LOCAL, forwarded_allow_ips="127.0.0.1")
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 404
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
def test_checked_out_connections_are_counted(backend, tmp_path, client, browser):
    url = fresh_database(backend, tmp_path)
    engine = make_engine(url)
    watch_pool(engine)
    local = browser(LOCAL)
    name = "demarche_db_connections_checked_out"
    try:
        base = value(scrape(local), name)
        with engine.connect() as a, engine.connect() as b:
            a.execute(text("SELECT 1"))
            b.execute(text("SELECT 1"))
            assert value(scrape(local), name) == base + 2
        assert value(scrape(local), name) == base
    finally:
        engine.dispose()
        drop_database(url)


def test_cable_parses_are_timed(client, db, browser):
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    local = browser(LOCAL)
    name = "demarche_cable_parse_seconds_count"
    before = value(scrape(local), name)
    r = client.post(
        "/api/v1/cables",
        headers={**desk, "content-type": "text/plain"},
        content=instruction(serial="661001").encode(),
    )
    assert r.status_code == 201, r.text
    assert value(scrape(local), name) == before + 1


def test_failed_sign_ins_are_counted_by_reason(client, db, browser):
    make_signin_user(db, "dora")
    guesser, local = browser(("198.51.100.66", 40000)), browser(LOCAL)

    def attempt() -> int:
        form = guesser.get("/login")
        data = {"username": "dora", "password": "guess", "next": "/"}
        data["csrf_token"] = CSRF.search(form.text).group(1)
        return guesser.post("/login", data=data, follow_redirects=False).status_code

    name = "demarche_login_failures_total"
    before = scrape(local)
    assert [attempt() for _ in range(PER_PAIR.failures)] == [401] * PER_PAIR.failures
    assert attempt() == 429
    after = scrape(local)
    assert value(after, name, reason="password") - value(before, name, reason="password") == (
        PER_PAIR.failures
    )
    assert value(after, name, reason="throttled") - value(before, name, reason="throttled") == 1


# -- several workers ------------------------------------------------------------------


def _workers(pid: int) -> set[int]:
    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids |= {int(x) for x in (task / "children").read_text().split()}
        except OSError:
            continue
    found = set()
    for kid in kids:
        try:
            cmdline = Path(f"/proc/{kid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.add(kid)
    return found


@pytest.mark.timeout(180)
def test_several_workers_add_their_counts_up_and_a_killed_one_is_forgotten(tmp_path):
    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")
    (folder / "notes.txt").write_text("not ours")
    server = Served(tmp_path, workers=2, LOG_LEVEL="WARNING", PROMETHEUS_MULTIPROC_DIR=str(folder))
    with server:
        deadline = time.monotonic() + 60
        while len(_workers(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = _workers(server.proc.pid)
        assert len(workers) == 2
        assert not (folder / "counter_1.db").exists() and (folder / "notes.txt").exists()
        labels = {"route": "/health/live", "method": "GET", "status": "2xx"}
        count = "demarche_http_requests_total"
        before = value(httpx.get(f"{server.base}/metrics", timeout=10).text, count, **labels)
        n = 40
        for _ in range(n):  # a new connection each: the kernel spreads them over both
            assert httpx.get(f"{server.base}/health/live", timeout=10).status_code == 200
        written = {p.name.rsplit("_", 1)[1].removesuffix(".db") for p in folder.glob("*.db")}
        assert {str(w) for w in workers} <= written  # both workers answered and counted
        scraped = httpx.get(f"{server.base}/metrics", timeout=10).text
        assert value(scraped, count, **labels) == before + n

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (victim in _workers(server.proc.pid) or len(_workers(server.proc.pid)) < 2) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        scraped = httpx.get(f"{server.base}/metrics", timeout=10).text
        assert not list(folder.glob(f"gauge_live*_{victim}.db"))  # its live gauges are gone
        assert value(scraped, count, **labels) >= before + n  # a dead worker's counts stay
        assert value(scraped, "demarche_http_requests_in_flight") == 1  # this scrape only
