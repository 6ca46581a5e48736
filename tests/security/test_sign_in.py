"""Attacks on signing in (issue 13, item 9): racing the limit, forging the address it
counts, and using it to lock someone else out.

The limit counts an address and user pair (5 failures), an address (20) and a user
across addresses (50, a shorter wait): app/auth/throttle.py.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import LoginAttempt
from app.auth.throttle import PER_ADDRESS, PER_PAIR, PER_USER
from app.deps import get_session
from app.main import create_app
from app.settings import Settings
from tests.databases import BACKENDS, drop_database, fresh_database, migrated_engine
from tests.factories import CSRF, PASSWORD, make_signin_user

REPO = Path(__file__).resolve().parents[2]


def _form(c: TestClient | httpx.Client) -> str:
    page = c.get("/login")
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match
    return match.group(1)


def _post(c, token: str, username: str, password: str, **headers: str):
    return c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        headers=headers,
        follow_redirects=False,
    )


def sign_in(c, username: str = "desk", password: str = PASSWORD, **headers: str):
    return _post(c, _form(c), username, password, **headers)


@pytest.fixture
def from_address(client) -> Iterator:
    """Browsers at given addresses, on the test's app and database (`client` wires them)."""
    opened: list[TestClient] = []

    def browser(address: str, app=None) -> TestClient:
        c = TestClient(app or client.app, client=(address, 40000), raise_server_exceptions=False)
        opened.append(c)
        return c

    yield browser
    for c in opened:
        c.close()


@pytest.fixture
def desk(db):
    return make_signin_user(db, "desk")


def _attempts(db, **where: str) -> list[str]:
    stmt = select(LoginAttempt.address)
    for k, v in where.items():
        stmt = stmt.where(getattr(LoginAttempt, k) == v)
    return list(db.scalars(stmt))


# -- the guesser waits; the person guessed at does not -------------------------------


def test_five_wrong_passwords_do_not_lock_the_real_user_out(from_address, desk):
    attacker, officer = from_address("198.51.100.66"), from_address("192.0.2.7")
    for _ in range(PER_PAIR.failures):
        assert sign_in(attacker, password="guess").status_code == 401
    refused = sign_in(attacker, password="guess")
    assert refused.status_code == 429, refused.text
    assert 0 < int(refused.headers["retry-after"]) <= PER_PAIR.window.total_seconds()
    assert sign_in(attacker).status_code == 429  # the right password too, from there
    r = sign_in(officer)
    assert r.status_code == 303, r.text  # the desk officer signs in as usual


def test_hammering_a_waiting_pair_counts_nowhere(from_address, desk, db):
    """Refused attempts are given back: past the pair's limit they push neither the
    address's nor the user's counter, so one address cannot lock the user out."""
    attacker, officer = from_address("198.51.100.66"), from_address("192.0.2.7")
    for _ in range(PER_PAIR.failures):
        sign_in(attacker, password="guess")
    statuses = Counter(
        sign_in(attacker, password="guess").status_code for _ in range(PER_USER.failures + 5)
    )
    assert statuses == {429: PER_USER.failures + 5}
    assert len(_attempts(db, username="desk")) == PER_PAIR.failures  # only those checked
    assert sign_in(officer).status_code == 303


def test_a_success_clears_its_own_pair(from_address, desk):
    officer = from_address("192.0.2.7")
    for _ in range(PER_PAIR.failures - 1):
        assert sign_in(officer, password="typo").status_code == 401
    assert sign_in(officer).status_code == 303
    officer.cookies.clear()
    for _ in range(PER_PAIR.failures - 1):  # a fresh allowance, not one left
        assert sign_in(officer, password="typo").status_code == 401
    assert sign_in(officer).status_code == 303


def test_many_addresses_meet_the_slower_limit_per_user(from_address, desk):
    """A guesser with many addresses: the user's own counter stops them, for a shorter
    wait (the trade-off: the real user waits too, and sees why)."""
    per_address = PER_PAIR.failures
    addresses = -(-PER_USER.failures // per_address)
    for n in range(addresses):
        bot = from_address(f"203.0.113.{n + 1}")
        for _ in range(per_address):
            assert sign_in(bot, password="guess").status_code == 401
    fresh = sign_in(from_address("203.0.113.250"), password="guess")
    assert fresh.status_code == 429
    assert 0 < int(fresh.headers["retry-after"]) <= PER_USER.window.total_seconds()
    assert PER_USER.window < PER_PAIR.window  # the user's wait is the shorter one
    assert sign_in(from_address("192.0.2.7")).status_code == 429


def test_one_address_spraying_many_users_meets_the_address_limit(from_address, db):
    sprayer = from_address("198.51.100.99")
    for n in range(PER_ADDRESS.failures):
        assert sign_in(sprayer, f"user{n}", "Winter2026!").status_code == 401
    assert sign_in(sprayer, "another", "Winter2026!").status_code == 429
    assert sign_in(from_address("192.0.2.8"), "another", "Winter2026!").status_code == 401


def test_unknown_and_known_users_are_throttled_alike(from_address, desk):
    """The limit tells nothing about which user names exist."""
    guesser = from_address("198.51.100.5")
    for name in ("desk", "nobody"):
        for _ in range(PER_PAIR.failures):
            assert sign_in(guesser, name, "guess").status_code == 401
        r = sign_in(guesser, name, "guess")
        assert r.status_code == 429
        assert r.headers["retry-after"]


# -- the address counted is the peer, unless a configured proxy names another ---------


def test_forwarded_for_from_an_untrusted_peer_is_ignored(from_address, desk, db):
    attacker = from_address("198.51.100.66")
    for n in range(PER_PAIR.failures):
        r = sign_in(attacker, password="guess", **{"X-Forwarded-For": f"10.9.9.{n}"})
        assert r.status_code == 401
    r = sign_in(attacker, password="guess", **{"X-Forwarded-For": "10.9.9.200"})
    assert r.status_code == 429
    assert set(_attempts(db, username="desk")) == {"198.51.100.66"}


def test_a_configured_proxy_names_the_client(from_address, desk, db, app_settings, client):
    proxied = create_app(app_settings.model_copy(update={"forwarded_allow_ips": "10.0.0.1"}))
    proxied.dependency_overrides[get_session] = client.app.dependency_overrides[get_session]
    proxy, stranger = from_address("10.0.0.1", proxied), from_address("10.0.0.2", proxied)
    assert sign_in(proxy, password="x", **{"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    assert sign_in(stranger, password="x", **{"X-Forwarded-For": "203.0.113.10"}).status_code == 401
    assert sorted(_attempts(db, username="desk")) == ["10.0.0.2", "203.0.113.9"]
    # Behind the proxy, one client's guesses are that client's: another still signs in.
    for _ in range(PER_PAIR.failures):
        sign_in(proxy, password="x", **{"X-Forwarded-For": "203.0.113.9"})
    assert sign_in(proxy, **{"X-Forwarded-For": "203.0.113.9"}).status_code == 429
    assert sign_in(proxy, **{"X-Forwarded-For": "192.0.2.7"}).status_code == 303


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, str, Path]:
    db_file = tmp_path / f"serve-{len(list(tmp_path.iterdir()))}.db"
    full = {**os.environ, "DATABASE_URL": f"sqlite:///{db_file}"}
    full.pop("FORWARDED_ALLOW_IPS", None)  # only what the test sets
    full.update(env)
    cli = [sys.executable, "-m", "app.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=full, cwd=REPO, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=full,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base, db_file
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise AssertionError("demarche serve did not start")


def _address_counted(tmp_path: Path, **env: str) -> list[str]:
    proc, base, db_file = _serve(tmp_path, **env)
    try:
        with httpx.Client(base_url=base) as c:
            r = sign_in(c, "desk", "guess", **{"X-Forwarded-For": "6.6.6.6"})
            assert r.status_code == 401, r.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with sqlite3.connect(db_file) as conn:
        return [a for (a,) in conn.execute("SELECT address FROM login_attempts")]


def test_demarche_serve_believes_no_proxy_by_default(tmp_path):
    """uvicorn by itself takes X-Forwarded-For from any process on 127.0.0.1."""
    assert _address_counted(tmp_path) == ["127.0.0.1"]


def test_demarche_serve_believes_a_configured_proxy(tmp_path):
    assert _address_counted(tmp_path, FORWARDED_ALLOW_IPS="127.0.0.1") == ["6.6.6.6"]


# -- the race -----------------------------------------------------------------------

N = 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_wrong_passwords_are_checked_only_up_to_the_limit(backend, tmp_path):
    """Real commits on separate connections, all released at once by a barrier: each
    attempt is counted by one statement before its password is checked, so exactly
    the limit's worth are checked and the rest are refused unchecked."""
    url = fresh_database(backend, tmp_path)
    engine = migrated_engine(url)
    app = create_app(Settings(database_url=url))
    try:
        with Session(engine, expire_on_commit=False) as s:
            make_signin_user(s, "desk")
        barrier = threading.Barrier(N)
        statuses: list[int] = [0] * N

        def guess(i: int) -> None:
            with TestClient(app, raise_server_exceptions=False) as c:
                token = _form(c)
                barrier.wait(timeout=30)
                statuses[i] = _post(c, token, "desk", f"guess {i}").status_code

        threads = [threading.Thread(target=guess, args=(i,)) for i in range(N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert Counter(statuses) == {401: PER_PAIR.failures, 429: N - PER_PAIR.failures}
        with engine.connect() as conn:
            checked = conn.scalar(select(func.count()).select_from(LoginAttempt))
        assert checked == PER_PAIR.failures
    finally:
        app.state.engine.dispose()
        engine.dispose()
        drop_database(url)
