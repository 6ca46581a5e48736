from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.auth.passwords import use_fast_hashing_for_tests
from app.deps import get_session
from app.main import create_app
from app.settings import Settings
from tests.databases import BACKENDS, drop_database, fresh_database, migrated_engine

use_fast_hashing_for_tests()


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


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('app') / 'unused.db'}")


@pytest.fixture(scope="session")
def app(app_settings: Settings):
    return create_app(app_settings)


@pytest.fixture
def client(app, db: Session) -> Iterator[TestClient]:
    def _session() -> Iterator[Session]:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    app.dependency_overrides[get_session] = _session
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.dependency_overrides.clear()


def pytest_report_header(config) -> str:
    from tests.databases import POSTGRES_URL

    if POSTGRES_URL:
        return f"databases: sqlite and postgresql ({POSTGRES_URL.rsplit('@', 1)[-1]})"
    return "databases: sqlite only (set TEST_POSTGRES_URL to add PostgreSQL)"
