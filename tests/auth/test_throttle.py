"""The sign-in counters (app/auth/throttle.py) on their own: windows, waits, give-backs,
and the migration that brings them in with the failures already on record.

Attacks over HTTP are in tests/security/test_sign_in.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import select, text

from app.auth import throttle
from app.auth.models import LoginThrottle
from app.auth.throttle import PER_ADDRESS, PER_PAIR, PER_USER, claim, settle
from app.db import make_engine, utcnow
from tests.databases import BACKENDS, drop_database, fresh_database, migration_config

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _fail(db, n: int, *, at: datetime, user: str = "desk", address: str = "192.0.2.1") -> None:
    for _ in range(n):
        attempt = claim(db, username=user, address=address, now=at)
        assert not attempt.refused
        settle(db, attempt, signed_in=False)


def _counts(db) -> dict[tuple[str, str], int]:
    db.expire_all()
    return {(r.scope, r.key): r.failures for r in db.scalars(select(LoginThrottle))}


def test_the_pair_waits_out_its_window_then_starts_afresh(db):
    _fail(db, PER_PAIR.failures, at=T0)
    later = T0 + timedelta(minutes=4)
    refused = claim(db, username="desk", address="192.0.2.1", now=later)
    assert refused.refused and refused.retry_after == 11 * 60
    assert claim(db, username="desk", address="192.0.2.1", now=T0 + PER_PAIR.window).claims
    assert _counts(db)[("pair", "192.0.2.1 desk")] == 1  # a new window, counting from one


def test_user_names_are_counted_as_they_sign_in(db):
    _fail(db, 2, at=T0, user="Desk ")
    _fail(db, 1, at=T0, user="desk")
    assert _counts(db)[("user", "desk")] == 3


def test_a_refused_attempt_is_given_back_everywhere(db):
    _fail(db, PER_PAIR.failures, at=T0)
    before = _counts(db)
    for _ in range(10):
        assert claim(db, username="desk", address="192.0.2.1", now=T0).refused
    assert _counts(db) == before
    assert before[("user", "desk")] == PER_PAIR.failures
    assert before[("address", "192.0.2.1")] == PER_PAIR.failures


def test_refused_by_the_user_limit_the_pair_and_address_are_given_back(db):
    for n in range(PER_USER.failures // PER_PAIR.failures):
        _fail(db, PER_PAIR.failures, at=T0, address=f"203.0.113.{n}")
    attempt = claim(db, username="desk", address="192.0.2.77", now=T0 + timedelta(minutes=1))
    assert attempt.refused and attempt.retry_after == 4 * 60
    counts = _counts(db)
    assert counts[("pair", "192.0.2.77 desk")] == 0
    assert counts[("address", "192.0.2.77")] == 0
    assert counts[("user", "desk")] == PER_USER.failures


def test_a_success_gives_back_its_claims_and_clears_its_pair(db):
    _fail(db, 3, at=T0)
    attempt = claim(db, username="desk", address="192.0.2.1", now=T0)
    settle(db, attempt, signed_in=True)
    counts = _counts(db)
    assert ("pair", "192.0.2.1 desk") not in counts
    assert counts[("user", "desk")] == 3 and counts[("address", "192.0.2.1")] == 3


def test_a_give_back_never_reaches_into_a_later_window(db):
    attempt = claim(db, username="desk", address="192.0.2.1", now=T0)
    _fail(db, 2, at=T0 + PER_ADDRESS.window, address="192.0.2.1")  # windows begun since
    settle(db, attempt, signed_in=True)
    assert _counts(db)[("address", "192.0.2.1")] == 2


def test_the_limits_are_ordered_as_documented():
    assert PER_USER.failures > PER_ADDRESS.failures > PER_PAIR.failures
    assert PER_USER.window < PER_PAIR.window
    assert throttle.LIMITS == (PER_PAIR, PER_ADDRESS, PER_USER)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_carries_recent_failures_over_and_goes_back_down(backend, tmp_path):
    url = fresh_database(backend, tmp_path)
    cfg = migration_config(url)
    engine = make_engine(url)
    try:
        command.upgrade(cfg, "0004")
        now = utcnow()
        rows = [
            ("desk", "192.0.2.1", now - timedelta(minutes=12)),
            ("desk", "192.0.2.1", now - timedelta(minutes=2)),
            ("desk", "192.0.2.2", now - timedelta(minutes=1)),
            ("desk", "192.0.2.1", now - timedelta(hours=3)),  # long past every window
        ]
        with engine.begin() as conn:
            for username, address, at in rows:
                conn.execute(
                    LoginThrottle.metadata.tables["login_attempts"]
                    .insert()
                    .values(username=username, address=address, at=at)
                )
        command.upgrade(cfg, "0005a")
        with engine.connect() as conn:
            got = {
                (scope, key): failures
                for scope, key, failures in conn.execute(
                    text("SELECT scope, key, failures FROM login_throttles")
                )
            }
        assert got == {
            ("pair", "192.0.2.1 desk"): 2,
            ("pair", "192.0.2.2 desk"): 1,
            ("address", "192.0.2.1"): 2,
            ("address", "192.0.2.2"): 1,
            ("user", "desk"): 2,  # the 5-minute window holds the last two
        }
        command.downgrade(cfg, "0004")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM login_attempts")).scalar() == 4
            tables = conn.dialect.get_table_names(conn)
        assert "login_throttles" not in tables
    finally:
        engine.dispose()
        drop_database(url)
