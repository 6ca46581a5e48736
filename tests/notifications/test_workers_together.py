"""Two workers against one PostgreSQL deliver every queued email once: each claims its
batch with FOR UPDATE SKIP LOCKED, so neither sends a row the other holds."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role
from app.classification import Classification
from app.notifications.models import Kind
from app.notifications.outbox import notify
from app.notifications.worker import run_once, status
from app.settings import Settings
from tests.databases import POSTGRES_URL, drop_database, fresh_database, migrated_engine
from tests.factories import make_demarche, make_post, make_user

QUEUED = 120


@pytest.mark.skipif(not POSTGRES_URL, reason="row locks: PostgreSQL only")
def test_two_workers_send_no_duplicate(tmp_path, smtp_server, inbox):
    controller, _ = smtp_server
    url = fresh_database("postgresql", tmp_path)
    engine = migrated_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            hanoi = make_post(s, "HANOI")
            desk, _ = make_user(s, Role.DESK_OFFICER)
            d = make_demarche(s, desk, [hanoi])
            officers = [
                make_user(s, Role.POST_OFFICER, Classification.SECRET, post=hanoi)[0]
                for _ in range(QUEUED // 4)
            ]
            for u in officers:
                u.email = f"{u.username}@post.example"
            s.flush()
            for _ in range(4):
                notify(s, Kind.AMENDED, d, officers)
            s.commit()
        settings = Settings(database_url=url, smtp_host="127.0.0.1", smtp_port=controller.port)
        factory = sessionmaker(engine, expire_on_commit=False)
        inbox.messages.clear()
        start = threading.Barrier(2)

        def work() -> None:
            start.wait()
            run_once(factory, settings, batch=10)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        ids = inbox.ids()
        assert len(ids) == len(set(ids)) == QUEUED
        with Session(engine) as s:
            assert status(s)["sent"] == QUEUED
    finally:
        engine.dispose()
        drop_database(url)
