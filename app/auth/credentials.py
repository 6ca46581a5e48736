"""Who a bearer token or session cookie belongs to, remembered for a few seconds per worker.

Every API call and page begins by turning a credential into a user: a query that, on a hot
read, costs as much as the read itself. Remembering the answer briefly removes it.

A bearer token and a session cookie are different credentials: each kind has its own
lookup, and the cache keeps them apart, keyed by (kind, digest). A cookie sent as a
bearer token, or a token sent as the cookie, is looked up as what it was sent as,
and found as nothing.

The price, and its bound: a token revoked, a session closed, or a user disabled or
re-cleared is honoured at once by the worker process that made the change (any flush
or commit there that touches users, tokens or sessions forgets everything), and by the
other workers, on this machine or others, when their entries expire: within
`settings.credential_cache_seconds` (default 5; 0 asks the database every time).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import InstanceState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from starlette.concurrency import run_in_threadpool

from app.auth.models import ApiToken, User, WebSession
from app.auth.passwords import token_digest
from app.db import utcnow

C = TypeVar("C", ApiToken, WebSession)

_CREDENTIAL_TYPES = (User, ApiToken, WebSession)

# Bumped by every flush and commit that changes a user, token or session, in any session
# of this process: an entry remembered under an older epoch is never used.
_epoch = 0
_epoch_lock = threading.Lock()


def _bump() -> None:
    global _epoch
    with _epoch_lock:
        _epoch += 1


@event.listens_for(Session, "after_flush")
def _note_credential_changes(session: Session, _ctx: Any) -> None:
    # after_flush still sees what the flush wrote (dirty, deleted, attribute history).
    if any(map(_changes_a_credential, session.dirty)) or any(
        isinstance(obj, _CREDENTIAL_TYPES) for obj in session.deleted
    ):
        session.info["credentials_changed"] = True
        _bump()  # now: this session's own later lookups must not use the old answer


def _changes_a_credential(obj: object) -> bool:
    if not isinstance(obj, _CREDENTIAL_TYPES):
        return False
    # A token's hourly last-used stamp changes nobody's rights.
    state: InstanceState[Any] = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key != "last_used_at")


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    # Again at commit: a lookup that raced the change (it read the old row before the
    # commit and is about to remember it) started under the previous epoch.
    if session.info.pop("credentials_changed", False):
        _bump()


@event.listens_for(Session, "after_rollback")
def _clear_flag(session: Session) -> None:
    session.info.pop("credentials_changed", None)


@dataclass(slots=True)
class _Entry:
    value: Any  # a detached ApiToken or WebSession, its user loaded
    until: float  # time.monotonic()
    epoch: int


class CredentialCache:
    """(Kind, credential digest) -> a detached copy of its token or web session (and user).

    Hand-outs are merged into the caller's session without a query, so each request
    works with its own instances; the threads share only the detached originals.
    """

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[tuple[type, str], _Entry] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    async def resolve(
        self,
        session: Session,
        kind: type[C],
        secret: str,
        load: Callable[[Session, str], C | None],
    ) -> C | None:
        """Whose credential of this kind the secret is: remembered (no query, no thread),
        else load(session, secret) run in the thread pool, and remembered if found."""
        digest = token_digest(secret)
        found = self.recall(session, kind, digest)
        if found is None:
            found = await run_in_threadpool(
                self.fetch, kind, digest, partial(load, session, secret)
            )
        return found

    def recall(self, session: Session, kind: type[C], digest: str) -> C | None:
        """The remembered credential of this kind, merged into session (no query), or None."""
        entry = self._entries.get((kind, digest))
        if entry is None or entry.epoch != _epoch or entry.until <= time.monotonic():
            return None
        value = session.merge(entry.value, load=False)
        # Belt and braces: the key already names the kind, and a value is kept only
        # under its own (fetch checks); never hand a token out as a session.
        return value if isinstance(value, kind) else None

    def fetch(self, kind: type[C], digest: str, load: Callable[[], C | None]) -> C | None:
        """load() from the database, and remember what it found. Blocking: call it off
        the event loop."""
        started = _epoch
        value = load()
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"a {kind.__name__} lookup returned a {type(value).__name__}")
        if value is not None and self.ttl > 0:
            self._remember((kind, digest), value, started)
        return value

    def _remember(self, key: tuple[type, str], value: ApiToken | WebSession, epoch: int) -> None:
        now = time.monotonic()
        until = now + self.ttl
        if value.expires_at is not None:  # never past the credential's own expiry
            until = min(until, now + (value.expires_at - utcnow()).total_seconds())
        snapshot = _detached_copy(value)
        with self._lock:
            if epoch != _epoch:
                return  # a credential changed while we were reading this one
            if now >= self._next_sweep or len(self._entries) >= self.max_entries:
                self._sweep(now)
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = _Entry(snapshot, until, epoch)

    def _sweep(self, now: float) -> None:
        """Drop what can never be used again: entries past their time, or remembered
        before a credential changed. At most once a lifetime, so the cache holds about
        the credentials seen in the last few seconds; before, an entry stayed until
        max_entries had piled up (some 4 KB each: 40 MB of users come and gone)."""
        self._entries = {
            k: e for k, e in self._entries.items() if e.until > now and e.epoch == _epoch
        }
        self._next_sweep = now + max(self.ttl, 1.0)


def _detached_copy(value: ApiToken | WebSession) -> ApiToken | WebSession:
    """A copy for the cache to own: the same loaded columns, attached to no session.

    The user's post comes along when it was loaded (a browser session's is): pages
    read it, error pages after the request's session is closed.
    """
    copy = _copy_columns(value)
    user = _copy_columns(value.user)
    if "post" in inspect(value.user).dict:
        post = value.user.post
        set_committed_value(user, "post", _copy_columns(post) if post is not None else None)
    set_committed_value(copy, "user", user)
    return copy


def _copy_columns(obj: Any) -> Any:
    mapper = inspect(type(obj))
    copy = mapper.class_manager.new_instance()
    for attr in mapper.column_attrs:
        set_committed_value(copy, attr.key, getattr(obj, attr.key))
    make_transient_to_detached(copy)
    return copy
