"""The worker's credential cache: what it saves, and how soon a change is honoured.

A change made through this process (any ORM flush touching users, tokens or sessions)
is honoured on the next request. A change this process cannot see (another worker's,
stood in for here by raw SQL, which fires no ORM events) is honoured when the entry
expires: never later than the cache's lifetime, nor than the credential's own expiry.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.auth.credentials import CredentialCache
from app.auth.models import ApiToken, Role, WebSession
from app.auth.passwords import token_digest
from app.auth.service import issue_token, open_session, session_for_cookie, token_for_secret
from app.classification import Classification
from app.db import utcnow
from tests.factories import make_post, make_user
from tests.querycount import count_queries


@pytest.fixture
def use_cache(app) -> Iterator[Callable[[float], CredentialCache]]:
    """Give the app a fresh cache of a given lifetime for this test, then put its own back."""
    kept = app.state.credentials

    def use(ttl: float) -> CredentialCache:
        app.state.credentials = CredentialCache(ttl_seconds=ttl)
        return app.state.credentials

    yield use
    app.state.credentials = kept


@pytest.fixture
def cache(use_cache) -> CredentialCache:
    return use_cache(60)


def _me(client, headers) -> int:
    return client.get("/api/v1/me", headers=headers).status_code


def test_a_known_token_costs_no_query(client, db, cache):
    _, headers = make_user(db, Role.VIEWER, Classification.SBU)
    db.expunge_all()
    with count_queries(db) as first:
        assert _me(client, headers) == 200
    with count_queries(db) as second:
        assert _me(client, headers) == 200
    # The token with its user in one query. Its hourly last-used stamp is not written in
    # the request's transaction but after it, in one of its own (app/db.py, defer_write;
    # tests/reliability/test_busy_sqlite.py), which this fixture's session never runs.
    assert [q.split()[0] for q in first.statements] == ["SELECT"], str(first)
    assert second.count == 0, str(second)


def test_a_browser_session_brings_the_officers_post(db, cache):
    """Pages name the officer's post, error pages after the request's session is closed:
    a browser session, fresh or remembered, has it loaded and never loads it lazily."""
    post = make_post(db)
    user, _ = make_user(db, Role.POST_OFFICER, Classification.SBU, post=post)
    opened = open_session(db, user=user)
    db.commit()
    db.expunge_all()
    digest = token_digest(opened.cookie)
    fresh = cache.fetch(WebSession, digest, lambda: session_for_cookie(db, opened.cookie))
    with count_queries(db) as q:
        remembered = cache.recall(db, WebSession, digest)
    assert q.count == 0, str(q)
    db.expunge_all()  # as once the request is over
    for ws in (fresh, remembered):
        assert ws is not None and ws.user.post is not None
        assert ws.user.post.code == post.code


def test_a_change_made_here_is_honoured_at_once(client, db, cache):
    user, headers = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    assert _me(client, headers) == 200
    assert client.get("/api/v1/me", headers=headers).json()["clearance"] == "SECRET"

    user.clearance = Classification.SBU
    db.commit()
    assert client.get("/api/v1/me", headers=headers).json()["clearance"] == "SBU"

    user.active = False
    db.commit()
    assert _me(client, headers) == 401


def test_revoking_through_the_api_ends_the_token_at_once(client, db, cache):
    user, headers = make_user(db, Role.VIEWER, Classification.SBU)
    other = issue_token(db, user=user, name="other")
    db.commit()
    theirs = {"Authorization": f"Bearer {other.secret}"}
    assert _me(client, theirs) == 200
    assert client.delete(f"/api/v1/tokens/{other.token.id}", headers=headers).status_code == 200
    assert _me(client, theirs) == 401


def test_a_change_made_elsewhere_is_honoured_within_the_lifetime(client, db, use_cache):
    use_cache(0.3)
    user, headers = make_user(db, Role.VIEWER, Classification.SBU)
    assert _me(client, headers) == 200
    # Another worker revokes it: this process sees no ORM event.
    db.execute(
        text("UPDATE api_tokens SET revoked_at = :now WHERE user_id = :u"),
        {"now": utcnow(), "u": user.id},
    )
    db.commit()
    assert _me(client, headers) == 200  # the documented lag
    time.sleep(0.35)
    assert _me(client, headers) == 401


def test_an_entry_never_outlives_its_token(client, db, cache):
    user, _ = make_user(db, Role.VIEWER, Classification.SBU)
    short = issue_token(db, user=user, name="short", ttl=timedelta(seconds=0.5))
    db.commit()
    headers = {"Authorization": f"Bearer {short.secret}"}
    assert _me(client, headers) == 200
    time.sleep(0.6)
    assert _me(client, headers) == 401


def test_lifetime_zero_asks_the_database_every_time(client, db, use_cache):
    use_cache(0)
    _, headers = make_user(db, Role.VIEWER, Classification.SBU)
    assert _me(client, headers) == 200
    db.expunge_all()
    with count_queries(db) as q:
        assert _me(client, headers) == 200
    assert q.count == 1


def test_a_read_that_raced_a_change_is_not_kept(db):
    cache = CredentialCache(ttl_seconds=60)
    user, headers = make_user(db, Role.VIEWER, Classification.SBU)
    secret = headers["Authorization"].removeprefix("Bearer ")
    digest = token_digest(secret)

    def load_while_someone_revokes():
        found = token_for_secret(db, secret)
        token = db.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
        token.revoked_at = utcnow()
        db.flush()  # the change lands after the read, before the answer is kept
        return found

    assert cache.fetch(ApiToken, digest, load_while_someone_revokes) is not None
    assert cache.recall(db, ApiToken, digest) is None


def test_each_session_gets_its_own_copy(db, engine):
    from sqlalchemy.orm import Session

    cache = CredentialCache(ttl_seconds=60)
    _, headers = make_user(db, Role.VIEWER, Classification.SBU)
    secret = headers["Authorization"].removeprefix("Bearer ")
    digest = token_digest(secret)
    kept = cache.fetch(ApiToken, digest, lambda: token_for_secret(db, secret))
    assert kept is not None
    other = Session(bind=db.connection())
    try:
        a, b = cache.recall(db, ApiToken, digest), cache.recall(other, ApiToken, digest)
        assert a is not None and b is not None and a is not b and a.user is not b.user
        assert a.user.username == b.user.username == kept.user.username
        assert b in other and b.user in other
    finally:
        other.close()


def test_a_token_and_a_session_are_kept_apart(db):
    """Remembered as one kind, a credential is never handed out as the other: a session
    cookie is no bearer token, and a token no session (tests/security/test_credentials.py
    makes the same attacks over HTTP)."""
    cache = CredentialCache(ttl_seconds=60)
    user, headers = make_user(db, Role.VIEWER, Classification.SBU)
    secret = headers["Authorization"].removeprefix("Bearer ")
    opened = open_session(db, user=user)
    db.commit()
    token_key, cookie_key = token_digest(secret), token_digest(opened.cookie)
    assert cache.fetch(ApiToken, token_key, lambda: token_for_secret(db, secret)) is not None
    assert cache.fetch(WebSession, cookie_key, lambda: session_for_cookie(db, opened.cookie))
    assert cache.recall(db, WebSession, token_key) is None
    assert cache.recall(db, ApiToken, cookie_key) is None
    assert isinstance(cache.recall(db, ApiToken, token_key), ApiToken)
    assert isinstance(cache.recall(db, WebSession, cookie_key), WebSession)
    with pytest.raises(TypeError):  # a loader of the wrong kind is a bug, not a credential
        cache.fetch(WebSession, token_key, lambda: token_for_secret(db, secret))


def test_entries_past_their_time_are_let_go(db):
    """Credentials that come and go (sign-ins, fresh tokens) are not kept until the cap
    piles up: once an entry's lifetime has passed, the next one remembered sweeps it."""
    user, _ = make_user(db, Role.VIEWER, Classification.SBU)
    secrets = [issue_token(db, user=user, name=f"t{i}").secret for i in range(30)]
    db.commit()
    cache = CredentialCache(ttl_seconds=0.05)
    for secret in secrets[:20]:
        cache.fetch(ApiToken, token_digest(secret), lambda s=secret: token_for_secret(db, s))
    assert len(cache._entries) == 20
    time.sleep(1.1)  # past the entries' lifetime and the sweep's interval (a second at least)
    for secret in secrets[20:]:
        cache.fetch(ApiToken, token_digest(secret), lambda s=secret: token_for_secret(db, s))
    assert len(cache._entries) == 10
