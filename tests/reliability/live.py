"""A real database and app for the race tests, and a barrier to release N threads at once.

Each thread talks through its own TestClient, so each request has its own session and
connection, and commits for real: the races are the database's, not a mock's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy import Engine

from app.main import create_app
from app.settings import Settings
from tests.databases import drop_database, fresh_database, migrated_engine

T = TypeVar("T")


@contextmanager
def live_app(backend: str, tmp_path: Path, **settings: Any) -> Iterator[tuple[FastAPI, Engine]]:
    """A fresh migrated database, and an app serving it; the engine is the test's own."""
    url = fresh_database(backend, tmp_path)
    engine = migrated_engine(url)
    app = create_app(Settings(database_url=url, **settings))
    try:
        yield app, engine
    finally:
        app.state.engine.dispose()
        engine.dispose()
        drop_database(url)


def race(n: int, work: Callable[[int, Callable[[], None]], T], *, timeout: float = 120) -> list[T]:
    """Run work(i, go) in n threads; each prepares, calls go() (a barrier: all n are
    released together), then acts. Returns what each returned; a thread's error is
    raised here."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def go() -> None:
        barrier.wait(timeout=60)

    def run(i: int) -> None:
        try:
            results[i] = work(i, go)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    if errors:
        raise errors[0]
    return results
