"""The outbox: notifications written in the change's transaction, delivered by the
worker over real SMTP, with nothing above UNCLASSIFIED in any message."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.classification import Classification
from app.db import today_utc, utcnow
from app.demarches import service as demarches
from app.notifications.models import EmailState, Kind, Notification, NotificationEmail
from app.notifications.worker import run_checks, run_once, status
from app.settings import Settings
from app.taskings import service as taskings
from app.taskings.models import Tasking
from app.taskings.schemas import DeliveryIn, ExtendIn, ResponseIn
from app.taskings.workflow import Action
from app.vocabulary import Precedence
from tests.factories import legacy_point, make_demarche, make_post, make_user, tasking_of
from tests.notifications.smtp import free_port

CANARY = "ZEBRAFISH"


def _officer(db: Session, post, clearance=Classification.SECRET, email: str | None = None) -> User:
    user, _ = make_user(db, Role.POST_OFFICER, clearance, post=post)
    user.email = email or f"{user.username}@post.example"
    db.commit()
    return user


def _desk(db: Session) -> User:
    desk, _ = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    desk.email = f"{desk.username}@desk.example"
    db.commit()
    return desk


def _mine(db: Session, user: User) -> list[Notification]:
    return list(db.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_issue_tells_the_cleared_officers_of_each_post_in_its_transaction(db):
    hanoi, paris = make_post(db, "HANOI"), make_post(db, "PARIS")
    cleared = _officer(db, hanoi)
    uncleared = _officer(db, hanoi, Classification.SBU)  # may not know it exists
    desk = _desk(db)
    d = make_demarche(db, desk, [hanoi, paris], issue=False, secret_point=False)
    rolled_back = db.begin_nested()
    demarches.issue(db, d, actor=desk)
    assert [n.kind for n in _mine(db, cleared)] == [Kind.NEW_TASKING]
    rolled_back.rollback()
    # The change rolled back, and its notification with it.
    assert db.scalar(select(func.count()).select_from(Notification)) == 0
    assert db.scalar(select(func.count()).select_from(NotificationEmail)) == 0
    db.expire_all()
    demarches.issue(db, d, actor=desk)
    db.commit()
    (n,) = _mine(db, cleared)
    assert (n.kind, n.tasking_id) == (Kind.NEW_TASKING, tasking_of(db, d, "HANOI").id)
    assert n.email is not None and n.email.state == EmailState.QUEUED
    assert _mine(db, uncleared) == [] and _mine(db, desk) == []


def test_desk_and_post_events_reach_the_other_side(db):
    hanoi = make_post(db, "HANOI")
    officer = _officer(db, hanoi)
    desk = _desk(db)
    d = make_demarche(db, desk, [hanoi])
    t = tasking_of(db, d, "HANOI")
    extended = ExtendIn(due_date=t.due_date + timedelta(days=3), reason="Minister away.")
    taskings.extend(db, t, extended, actor=desk)
    taskings.move_with_reason(db, t, Action.ADVISE_AGAINST, actor=officer, reason="Unwise.")
    taskings.move_with_reason(db, t, Action.INSIST, actor=desk, reason="Deliver it.")
    delivery = DeliveryIn(
        delivered_on=today_utc(),
        delivered_by="Poloff",
        recipient_name="Director",
        level="senior_official",
        method="meeting",
    )
    taskings.deliver(db, t, delivery, actor=officer)
    taskings.report_response(
        db, t, ResponseIn(position="supports", summary="Will vote yes."), actor=officer
    )
    db.commit()
    kinds = [n.kind for n in _mine(db, officer)]
    assert kinds == [Kind.NEW_TASKING, Kind.EXTENDED, Kind.INSISTED]
    assert [n.kind for n in _mine(db, desk)] == [Kind.RESPONSE_REPORTED]


def test_the_worker_sends_each_once_and_nothing_above_unclassified(
    db, factory, inbox, worker_settings
):
    hanoi = make_post(db, "HANOI")
    # Cleared CONFIDENTIAL: the demarche's level, below its legacy SECRET point.
    officer = _officer(db, hanoi, Classification.CONFIDENTIAL)
    desk = _desk(db)
    d = make_demarche(
        db, desk, [hanoi], subject=f"{CANARY} subject", issue=False, secret_point=False
    )
    d.precedence = Precedence.FLASH
    demarches.issue(db, d, actor=desk)
    # Written after issuing (the completeness check refuses a draft marked above its
    # demarche); the worker builds the message when it sends, so it meets the point.
    legacy_point(d, f"The {CANARY} red line.", position=2)
    db.commit()
    assert run_once(factory, worker_settings) == 1
    assert run_once(factory, worker_settings) == 0  # a second run sends nothing again
    (msg,) = inbox.messages
    assert msg["To"] == officer.email
    assert msg["Subject"].startswith("[CONFIDENTIAL] FLASH: Demarche ")
    n = _mine(db, officer)[0]
    assert msg["Message-ID"] == f"<notification-{n.id}.user-{officer.id}@localhost>"
    assert msg["In-Reply-To"] == msg["References"] == f"<demarche-{d.id}@localhost>"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    tid = tasking_of(db, d, "HANOI").id
    assert f"https://tracker.example/inbox/{tid}" in text and "FLASH" in text
    for part in (text, html, msg["Subject"]):
        assert CANARY not in part and "red line" not in part
    assert text.startswith("UNCLASSIFIED") and "SECRET" not in text
    db.expire_all()
    assert n.email.state == EmailState.SENT and n.email.attempts == 1


def test_an_unclassified_subject_may_travel(db, factory, inbox, worker_settings):
    hanoi = make_post(db, "HANOI")
    _officer(db, hanoi)
    desk = _desk(db)
    make_demarche(
        db,
        desk,
        [hanoi],
        subject="Public statement on shipping",
        classification=Classification.UNCLASSIFIED,
        secret_point=False,
    )
    run_once(factory, worker_settings)
    (msg,) = inbox.messages
    assert msg["Subject"].startswith("[UNCLASSIFIED] ")
    assert "Subject: Public statement on shipping" in msg.get_body(("plain",)).get_content()


def test_reminders_are_written_once_a_day_however_often_checked(db):
    hanoi = make_post(db, "HANOI")
    officer = _officer(db, hanoi)
    desk = _desk(db)
    d = make_demarche(db, desk, [hanoi], issue=False, secret_point=False)
    d.precedence = Precedence.NIACT_IMMEDIATE
    demarches.issue(db, d, actor=desk)
    t = tasking_of(db, d, "HANOI")
    db.execute(
        update(Tasking)
        .where(Tasking.id == t.id)
        .values(due_date=today_utc() - timedelta(days=2), created_at=utcnow() - timedelta(days=3))
    )
    db.commit()
    settings = Settings(database_url="sqlite://")
    # Overdue and unacknowledged, each to the post and the desk: four rows, once.
    assert run_checks(db, settings) == 4
    assert run_checks(db, settings) == 0
    db.commit()
    kinds = sorted(n.kind for n in _mine(db, officer))
    assert kinds == [Kind.NEW_TASKING, Kind.OVERDUE, Kind.UNACKNOWLEDGED]
    assert sorted(n.kind for n in _mine(db, desk)) == [Kind.OVERDUE, Kind.UNACKNOWLEDGED]
    # Tomorrow is another day: one more each.
    assert run_checks(db, settings, now=utcnow() + timedelta(days=1)) == 4


def test_a_refusing_server_is_retried_with_back_off_then_dead(db, factory):
    hanoi = make_post(db, "HANOI")
    _officer(db, hanoi)
    desk = _desk(db)
    make_demarche(db, desk, [hanoi])
    down = Settings(
        database_url="sqlite://", smtp_host="127.0.0.1", smtp_port=free_port(), email_max_attempts=2
    )
    run_once(factory, down)
    db.expire_all()
    (email,) = db.scalars(select(NotificationEmail)).all()
    assert email.state == EmailState.QUEUED and email.attempts == 1
    assert email.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert status(db) == {"queued": 0, "failing": 1, "dead": 0, "sent": 0}
    run_once(factory, down)  # not due yet: untouched
    db.expire_all()
    assert email.attempts == 1
    email.next_attempt_at = utcnow()
    db.commit()
    run_once(factory, down)
    db.expire_all()
    assert email.state == EmailState.DEAD and email.attempts == 2
    assert "ConnectionRefusedError" in (email.last_error or "")
    assert status(db)["dead"] == 1
