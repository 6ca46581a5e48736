"""The in-app notifications: the API, the bell and the page, each reader's own only,
through the policy."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import Role, User
from app.classification import Classification
from app.db import today_utc
from app.notifications.models import Kind, Notification
from tests.factories import login, make_demarche, make_post, make_signin_user, make_user

API = "/api/v1/notifications"


def test_the_api_lists_and_marks_only_the_readers_own(client, db):
    hanoi = make_post(db, "HANOI")
    officer, mine = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
    _, other = make_user(db, Role.POST_OFFICER, Classification.SECRET, post=hanoi)
    desk, _ = make_user(db, Role.DESK_OFFICER)
    for _ in range(3):
        make_demarche(db, desk, [hanoi])
    page = client.get(API, params={"limit": 2}, headers=mine).json()
    assert [i["kind"] for i in page["items"]] == ["new_tasking"] * 2 and page["unread"] == 3
    rest = client.get(API, params={"cursor": page["next_cursor"]}, headers=mine).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    first = page["items"][0]["id"]
    assert client.post(f"{API}/{first}/read", headers=other).status_code == 404
    assert client.post(f"{API}/{first}/read", headers=mine).json() == {"marked": 1}
    unread = client.get(API, params={"unread": "true"}, headers=mine).json()
    assert first not in [i["id"] for i in unread["items"]] and unread["unread"] == 2
    assert client.post(f"{API}/read", headers=mine).json() == {"marked": 2}
    assert client.get(API, params={"unread": "true"}, headers=mine).json()["items"] == []
    # A reader whose clearance drops no longer sees (nor marks) what is now above it.
    officer.clearance = Classification.SBU
    db.commit()
    assert client.get(API, headers=mine).json()["items"] == []
    assert client.post(f"{API}/{first}/read", headers=mine).status_code == 404


def test_the_bell_counts_and_the_page_marks_read(client, db):
    hanoi = make_post(db, "HANOI")
    make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI")
    desk = make_signin_user(db, "desk")
    make_demarche(db, desk, [hanoi], subject="VOTE ON THE RENEWAL")
    csrf = login(client, "hanoi")
    home = client.get("/").text
    assert re.search(r'class="count">1</span>', home)
    page = client.get("/notifications")
    assert page.status_code == 200 and "VOTE ON THE RENEWAL" in page.text
    (n,) = db.scalars(select(Notification)).all()
    r = client.post(
        f"/notifications/{n.id}/read", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    db.refresh(n)
    assert n.read_at is not None
    assert 'class="count"' not in client.get("/").text


def test_remind_post_at_most_once_a_day(client, db):
    hanoi = make_post(db, "HANOI")
    officer = make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.SECRET, "HANOI")
    make_signin_user(db, "desk")
    desk = db.scalar(select(User).where(User.username == "desk"))
    make_demarche(
        db,
        desk,
        [hanoi],
        issued_on=today_utc() - timedelta(days=9),
        deadline=today_utc() - timedelta(days=2),
    )
    csrf = login(client, "desk")
    assert "Remind post" in client.get("/overdue").text

    def press() -> str:
        r = client.post("/overdue/remind", data={"csrf_token": csrf, "post": "HANOI"})
        assert r.status_code == 200, r.text[:300]
        return r.text

    assert "HANOI: 1 overdue tasking reminded." in press()
    assert "1 already reminded today" in press()
    reminders = db.scalars(
        select(Notification).where(
            Notification.user_id == officer.id, Notification.kind == Kind.REMINDED
        )
    ).all()
    assert len(reminders) == 1
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "remind")) is not None
