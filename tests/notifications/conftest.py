from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from app.settings import Settings
from tests.notifications.smtp import Inbox, start


@pytest.fixture(scope="module")
def smtp_server():
    controller, inbox = start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_server) -> Iterator[Inbox]:
    _, box = smtp_server
    box.messages.clear()
    yield box


@pytest.fixture
def worker_settings(smtp_server) -> Settings:
    controller, _ = smtp_server
    return Settings(
        database_url="sqlite://",
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        public_url="https://tracker.example",
    )


@pytest.fixture
def factory(db: Session):
    """Worker sessions on the test's own connection: their commits release savepoints,
    so everything still rolls back after the test."""

    def make() -> Session:
        return Session(
            bind=db.get_bind(), join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    return make
