"""A worker killed with SIGKILL while it sends: after a restart every notification has
arrived, and what arrived twice is the same message (the same Message-ID), which the
receiving side recognises."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from sqlalchemy.orm import Session

from app.auth.models import Role
from app.classification import Classification
from app.notifications.models import Kind
from app.notifications.outbox import notify
from app.notifications.worker import status
from tests.databases import fresh_database, migrated_engine
from tests.factories import make_demarche, make_post, make_user
from tests.notifications.smtp import start

QUEUED = 12


def test_a_killed_worker_loses_nothing(tmp_path):
    url = fresh_database("sqlite", tmp_path)
    engine = migrated_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        hanoi = make_post(s, "HANOI")
        desk, _ = make_user(s, Role.DESK_OFFICER)
        d = make_demarche(s, desk, [hanoi])
        officers = [
            make_user(s, Role.POST_OFFICER, Classification.SECRET, post=hanoi)[0]
            for _ in range(QUEUED)
        ]
        for u in officers:
            u.email = f"{u.username}@post.example"
        s.flush()
        notify(s, Kind.AMENDED, d, officers)
        s.commit()
    controller, inbox = start(stall_after=5)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(controller.port),
    }
    worker = [sys.executable, "-m", "app.cli", "worker", "--once"]
    try:
        first = subprocess.Popen(worker, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(inbox.messages) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.kill()  # SIGKILL, mid-batch: the server holds the fifth message
        first.wait()
        assert len(inbox.messages) == 5
        again = subprocess.run(worker, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0, again.stderr
        ids = inbox.ids()
        assert len(set(ids)) == QUEUED  # every one arrived
        resent = [i for i in set(ids) if ids.count(i) > 1]
        assert len(resent) <= 5  # only the killed batch's, under their own Message-ID
        with Session(engine) as s:
            assert status(s) == {"queued": 0, "failing": 0, "dead": 0, "sent": QUEUED}
    finally:
        controller.stop()
        engine.dispose()
