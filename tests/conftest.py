from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.passwords import use_fast_hashing_for_tests
from app.classification import Classification
from app.deps import get_session
from app.main import create_app
from app.posts.models import Region
from app.settings import Settings
from tests.databases import (
    BACKENDS,
    drop_database,
    fresh_database,
    migrated_engine,
    savepoint_session,
)
from tests.factories import make_collective, make_demarche, make_region_post, make_signin_user

use_fast_hashing_for_tests()

T = TypeVar("T")


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = fresh_database(request.param, tmp_path_factory.mktemp("db"))
    engine = migrated_engine(url)
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test.

    Commits made by the code under test release savepoints only, so every test
    starts from the same empty, migrated schema.
    """
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture(scope="module")
def module_connection(engine: Engine) -> Iterator[Connection]:
    """One connection and transaction for a whole module, rolled back after it.

    For modules whose cases all start from the same costly world: build it once on
    this connection (a module fixture, through `savepoint_session`'s Session or plain
    commits of one), and give the cases `case_db`, so each one's writes vanish after it.
    """
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def case_db(module_connection: Connection) -> Iterator[Session]:
    """A session for one case of a module that shares its world: what the case writes,
    commits included, is rolled back after it, and the module's rows stay."""
    with savepoint_session(module_connection) as session:
        yield session


@pytest.fixture(scope="module")
def build_once(
    app, module_connection: Connection
) -> Callable[[Callable[[TestClient, Session], T]], T]:
    """build_once(make): make(client, db) run on the module's connection, its rows kept
    for the module's cases (which see them through `case_db`). Call it from a module
    fixture, so it runs once per module and database."""

    def build(make: Callable[[TestClient, Session], T]) -> T:
        with (
            Session(
                bind=module_connection,
                join_transaction_mode="create_savepoint",
                expire_on_commit=False,
            ) as db,
            client_on(app, db) as client,
        ):
            made = make(client, db)
            db.commit()
        return made

    return build


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('app') / 'unused.db'}")


@pytest.fixture(scope="session")
def app(app_settings: Settings):
    return create_app(app_settings)


@contextmanager
def client_on(app, db: Session) -> Iterator[TestClient]:
    """A client of the app whose every request works in db (and commits it, as the
    request boundary does)."""

    def _session() -> Iterator[Session]:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            yield c
    finally:
        app.dependency_overrides.clear()


@pytest.fixture
def client(app, db: Session) -> Iterator[TestClient]:
    with client_on(app, db) as c:
        yield c


@pytest.fixture
def page_world(db: Session):
    """The page tests' world: three posts, a desk officer, two post officers, a viewer,
    one issued demarche; everyone signs in through the form (tests.factories.login)."""
    hanoi = make_region_post(db, "HANOI", Region.EAP)
    sanjose = make_region_post(db, "SANJOSE", Region.WHA)
    paris = make_region_post(db, "PARIS", Region.EUR)
    desk = make_signin_user(db, "desk")
    make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI")
    make_signin_user(db, "sanjose", Role.POST_OFFICER, Classification.CONFIDENTIAL, "SANJOSE")
    make_signin_user(db, "viewer", Role.VIEWER, Classification.CONFIDENTIAL)
    make_collective(db, "UNSC", "UN SECURITY COUNCIL COLLECTIVE", [hanoi, sanjose])
    d = make_demarche(db, desk, [hanoi, sanjose, paris])
    db.commit()
    return {"desk": desk, "demarche": d, "posts": [hanoi, sanjose, paris]}


def pytest_report_header(config) -> str:
    from tests.databases import POSTGRES_URL

    if POSTGRES_URL:
        return f"databases: sqlite and postgresql ({POSTGRES_URL.rsplit('@', 1)[-1]})"
    return "databases: sqlite only (set TEST_POSTGRES_URL to add PostgreSQL)"
