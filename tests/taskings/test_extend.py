"""The desk gives a post more time: POST /taskings/{id}/extend, its refusals in order,
its audit event, and what the post is then shown."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import Role
from app.classification import Classification
from app.taskings.models import TaskingStatus
from tests.factories import future, make_user
from tests.taskings.api import API, etag_of, issue_demarche, problem, state_of, tasking_id
from tests.taskings.test_workflow import set_tasking, tasking_events

REASON = "The Foreign Minister is travelling until the 20th."


def _extend(client, tid: int, headers: dict[str, str], body: dict, if_match: str | None = None):
    tag = if_match or etag_of(client, tid, headers)
    return client.post(
        f"{API}/taskings/{tid}/extend", json=body, headers={**headers, "If-Match": tag}
    )


def _late_tasking(client, db, world) -> tuple[int, dict]:
    demarche = issue_demarche(client, world["desk"], [{"post": "HANOI"}, {"post": "SUVA"}])
    tid = tasking_id(demarche, "HANOI")
    set_tasking(db, tid, due_date=date.today() - timedelta(days=4))
    return tid, demarche


def test_the_desk_extends_and_the_post_sees_the_new_date_and_why(client, db, world):
    tid, demarche = _late_tasking(client, db, world)
    was = (date.today() - timedelta(days=4)).isoformat()
    new = future(14).isoformat()
    assert client.get(f"{API}/taskings/{tid}", headers=world["desk"]).json()["overdue"] is True

    r = _extend(client, tid, world["desk"], {"due_date": new, "reason": REASON})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["due_date"] == new and body["status"] == "pending"
    assert body["overdue"] is False and body["days_late"] == 0
    assert r.headers["etag"] == etag_of(client, tid, world["desk"])

    # The post reads the new date and the desk's reason on its tasking and timeline.
    mine = client.get(f"{API}/taskings/{tid}", headers=world["officer"]).json()
    assert mine["due_date"] == new and mine["reason"] == REASON
    timeline = client.get(
        f"{API}/demarches/{demarche['id']}/timeline", headers=world["officer"]
    ).json()
    extended = [e for e in timeline if e["action"] == "extend"]
    assert len(extended) == 1 and extended[0]["entity_id"] == tid

    # Audited with both dates, in the same transaction as the change.
    assert tasking_events(db, tid)[-1] == "extend"
    ev = db.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == tid, AuditEvent.action == "extend")
    ).one()
    assert ev.actor_id == world["desk_id"]
    assert ev.before["due_date"] == was and ev.after["due_date"] == new
    assert ev.after["reason"] == REASON and ev.after["status"] == "pending"


def test_refusals_come_in_order_and_change_nothing(client, db, world):
    tid, _ = _late_tasking(client, db, world)
    desk, officer = world["desk"], world["officer"]
    good = {"due_date": future(14).isoformat(), "reason": REASON}
    before = state_of(db, tid)
    tag = etag_of(client, tid, desk)

    # 404: another post's officer, and a missing id, alike.
    assert problem(_extend(client, tid, world["outsider"], good, tag), 404)
    assert problem(_extend(client, tid + 10_000, desk, good, tag), 404)
    # 403: the tasked post itself, and a viewer (only the desk gives more time).
    assert "Only the desk" in problem(_extend(client, tid, officer, good, tag), 403)["detail"]
    problem(_extend(client, tid, world["viewer"], good, tag), 403)
    # 428 without If-Match, 412 with a stale one.
    problem(client.post(f"{API}/taskings/{tid}/extend", json=good, headers=desk), 428)
    problem(_extend(client, tid, desk, good, f'"tasking-{tid}-v999"'), 412)
    # 422: an earlier date, a date in the past, no reason.
    stale_date = (date.today() - timedelta(days=5)).isoformat()
    assert (
        "after the current due date"
        in problem(_extend(client, tid, desk, {**good, "due_date": stale_date}), 422)["detail"]
    )
    assert "reason" in problem(_extend(client, tid, desk, {**good, "reason": " "}), 422)["detail"]
    problem(_extend(client, tid, desk, {"reason": REASON}), 422)
    assert state_of(db, tid) == before

    # 409 from a state that owes no delivery, before what was typed (a bad date too).
    set_tasking(db, tid, status=TaskingStatus.DELIVERED)
    before = state_of(db, tid)
    conflict = problem(_extend(client, tid, desk, {**good, "due_date": stale_date}), 409)
    assert conflict["current_state"] == "delivered"
    assert state_of(db, tid) == before


def test_a_past_due_tasking_cannot_be_extended_into_the_past(client, db, world):
    tid, _ = _late_tasking(client, db, world)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    body = problem(
        _extend(client, tid, world["desk"], {"due_date": yesterday, "reason": REASON}), 422
    )
    assert "from today" in body["detail"]


def test_an_info_post_has_no_due_date_to_extend(client, db, world):
    demarche = issue_demarche(
        client, world["desk"], [{"post": "HANOI", "role": "info"}, {"post": "SUVA"}]
    )
    tid = tasking_id(demarche, "HANOI")
    body = problem(
        _extend(client, tid, world["desk"], {"due_date": future(30).isoformat(), "reason": REASON}),
        409,
    )
    assert "extend" not in body["allowed_actions"]


def test_only_a_desk_cleared_for_the_demarche_may_extend(client, db, world):
    demarche = issue_demarche(client, world["desk"], [{"post": "HANOI"}], classification="SECRET")
    tid = tasking_id(demarche, "HANOI")
    _, low_desk = make_user(db, Role.DESK_OFFICER, Classification.CONFIDENTIAL)
    good = {"due_date": future(30).isoformat(), "reason": REASON}
    tag = etag_of(client, tid, world["desk"])
    # A desk officer below the demarche's classification does not know it exists.
    problem(_extend(client, tid, low_desk, good, tag), 404)
    r = _extend(client, tid, world["desk"], good, tag)
    assert r.status_code == 200, r.text
    assert (
        "extend"
        in client.get(f"{API}/taskings/{tid}", headers=world["desk"]).json()["allowed_actions"]
    )
