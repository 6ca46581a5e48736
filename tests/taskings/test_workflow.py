"""The tasking workflow through the API, driven by the transition table itself."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import AuditEvent
from app.auth.models import User
from app.concurrency import etag
from app.db import utcnow
from app.taskings import reads
from app.taskings.models import Delivery, DeliveryLevel, Tasking, TaskingStatus
from app.taskings.schemas import DeliveryOut, ResponseOut
from app.taskings.workflow import (
    BY_ACTION,
    PEOPLES_MOVES,
    Action,
    Side,
    allowed_actions,
    transition_for,
)
from app.vocabulary import TaskingRole
from tests.factories import future, make_post
from tests.taskings.api import (
    API,
    delivery_body,
    etag_of,
    issue_demarche,
    problem,
    response_body,
    state_of,
    tasking_id,
)


def action_request(action: Action) -> tuple[str, dict[str, Any]]:
    """The route suffix and a valid body for an action."""
    if action == Action.ACKNOWLEDGE:
        return "acknowledge", {"officer": "Pol/Econ chief"}
    if action == Action.DELIVER:
        return "deliveries", delivery_body()
    if action == Action.REPORT_RESPONSE:
        return "responses", response_body()
    if action == Action.EXTEND:
        return "extend", {"due_date": future(60).isoformat(), "reason": "The MFA is closed."}
    return action.value.replace("_", "-"), {"reason": f"Reason to {action.value}."}


def act(client, tasking_id: int, action: Action, headers: dict[str, str], body=None, **kw):
    """Send an action with If-Match from a fresh read by the same user."""
    suffix, default = action_request(action)
    if_match = kw.pop("if_match", None) or etag_of(client, tasking_id, headers)
    return client.post(
        f"{API}/taskings/{tasking_id}/{suffix}",
        json=default if body is None else body,
        headers={**headers, "If-Match": if_match, **kw.pop("extra_headers", {})},
    )


def tasking_events(db: Session, tid: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity == "tasking", AuditEvent.entity_id == tid)
            .order_by(AuditEvent.id)
        )
    )


def set_tasking(db: Session, tid: int, **values: Any) -> None:
    t = db.get(Tasking, tid)
    assert t is not None
    for k, v in values.items():
        setattr(t, k, v)
    db.commit()


def tasked(client, world, role: TaskingRole = TaskingRole.ACTION, **over) -> tuple[int, dict]:
    """A demarche tasking HANOI (in `role`) and SUVA (action, so it never closes by itself)."""
    targets = [{"post": "HANOI", "role": role.value}, {"post": "SUVA", "role": "action"}]
    demarche = issue_demarche(client, world["desk"], targets, **over)
    return tasking_id(demarche, "HANOI"), demarche


def side_headers(world, side: Side) -> dict[str, str]:
    return world["officer"] if side == Side.POST else world["desk"]


# -- the table, exhaustively ----------------------------------------------------

CASES = [
    pytest.param(state, action, role, id=f"{state.value}-{action.value}-{role.value}")
    for state in TaskingStatus
    for action in PEOPLES_MOVES
    for role in TaskingRole
]


@pytest.mark.parametrize(("state", "action", "role"), CASES)
def test_every_move_follows_the_table(client, db, world, state, action, role):
    tid, _ = tasked(client, world, role)
    set_tasking(db, tid, status=state)
    headers = side_headers(world, BY_ACTION[action].side)
    before = state_of(db, tid)
    events_before = tasking_events(db, tid)

    r = act(client, tid, action, headers)

    t = transition_for(action, state, role)
    if t is not None:
        expected = 201 if action in (Action.DELIVER, Action.REPORT_RESPONSE) else 200
        assert r.status_code == expected, r.text
        after = client.get(f"{API}/taskings/{tid}", headers=headers).json()
        assert after["status"] == t.to(state).value
        assert after["version"] == before["version"] + 1
        assert tasking_events(db, tid) == [*events_before, action.value]
        now = state_of(db, tid)
        assert now["deliveries"] == before["deliveries"] + (action == Action.DELIVER)
        assert now["responses"] == before["responses"] + (action == Action.REPORT_RESPONSE)
    else:
        body = problem(r, 409)
        assert body["current_state"] == state.value
        assert body["allowed_actions"] == [a.value for a in allowed_actions(state, role)]
        assert state_of(db, tid) == before


# -- who may move ---------------------------------------------------------------


@pytest.mark.parametrize("action", list(PEOPLES_MOVES), ids=lambda a: a.value)
def test_the_wrong_side_gets_403_and_nothing_changes(client, db, world, action):
    tid, _ = tasked(client, world)
    source = next(iter(sorted(BY_ACTION[action].sources)))  # a state the move is legal from
    set_tasking(db, tid, status=source)
    assert transition_for(action, source, TaskingRole.ACTION) is not None
    wrong = world["desk"] if BY_ACTION[action].side == Side.POST else world["officer"]
    before = state_of(db, tid)
    for who in (wrong, world["viewer"]):
        problem(act(client, tid, action, who), 403)
        assert state_of(db, tid) == before


@pytest.mark.parametrize("action", list(PEOPLES_MOVES), ids=lambda a: a.value)
def test_another_posts_officer_sees_nothing_at_all(client, db, world, action):
    tid, _ = tasked(client, world)
    source = next(iter(sorted(BY_ACTION[action].sources)))
    set_tasking(db, tid, status=source)
    tag = etag_of(client, tid, world["officer"])
    before = state_of(db, tid)
    missing = tid + 10_000

    r = client.get(f"{API}/taskings/{tid}", headers=world["outsider"])
    assert problem(r, 404)["detail"] == f"No tasking {tid}."
    hidden = act(client, tid, action, world["outsider"], if_match=tag)
    absent = act(client, missing, action, world["outsider"], if_match=tag)
    hidden_body, absent_body = problem(hidden, 404), problem(absent, 404)
    assert hidden_body["detail"] == f"No tasking {tid}."
    assert absent_body["detail"] == f"No tasking {missing}."
    # Alike but for the id they name, and each request's own id.
    own = ("detail", "instance", "request_id")
    assert {k: v for k, v in hidden_body.items() if k not in own} == {
        k: v for k, v in absent_body.items() if k not in own
    }
    assert state_of(db, tid) == before
    listed = client.get(f"{API}/taskings", headers=world["outsider"]).json()["items"]
    assert tid not in [t["id"] for t in listed]


@pytest.mark.parametrize(
    ("action", "state"),
    [
        (Action.MARK_UNABLE, TaskingStatus.PENDING),
        (Action.ADVISE_AGAINST, TaskingStatus.ACKNOWLEDGED),
        (Action.REOPEN, TaskingStatus.CLOSED),
        (Action.WAIVE, TaskingStatus.ADVISED_AGAINST),
        (Action.INSIST, TaskingStatus.ADVISED_AGAINST),
        (Action.CANCEL, TaskingStatus.PENDING),
    ],
    ids=lambda v: v.value,
)
@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_a_reason_is_required(client, db, world, action, state, reason):
    assert BY_ACTION[action].reason_required
    tid, _ = tasked(client, world)
    set_tasking(db, tid, status=state)
    before = state_of(db, tid)
    headers = side_headers(world, BY_ACTION[action].side)
    problem(act(client, tid, action, headers, body={"reason": reason}), 422)
    problem(act(client, tid, action, headers, body={}), 422)
    assert state_of(db, tid) == before


# -- journeys -------------------------------------------------------------------


def test_full_happy_path_closes_and_reopens_the_demarche(client, db, world):
    officer, desk = world["officer"], world["desk"]
    demarche = issue_demarche(client, desk, [{"post": "HANOI"}])
    did, tid = demarche["id"], tasking_id(demarche, "HANOI")

    r = act(client, tid, Action.ACKNOWLEDGE, officer, body={"planned_date": future(2).isoformat()})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged" and r.json()["acknowledged_at"]
    assert r.json()["planned_date"] == future(2).isoformat()
    assert r.headers["etag"] == etag_of(client, tid, officer)

    first = act(client, tid, Action.DELIVER, officer)
    assert first.status_code == 201, first.text
    second = act(
        client, tid, Action.DELIVER, officer, body=delivery_body(recipient_name="B. Deputy")
    )
    assert second.status_code == 201, second.text
    got = client.get(f"{API}/taskings/{tid}", headers=officer).json()
    assert got["status"] == "delivered"
    assert [d["recipient_name"] for d in got["deliveries"]] == ["A. Minister", "B. Deputy"]
    assert db.scalar(select(func.count()).where(Delivery.tasking_id == tid)) == 2

    commitment = {"text": "Will speak at the session.", "due_date": future(20).isoformat()}
    r = act(
        client, tid, Action.REPORT_RESPONSE, officer, body=response_body(commitments=[commitment])
    )
    assert r.status_code == 201, r.text
    assert r.json()["commitments"][0]["text"] == commitment["text"]
    assert r.json()["commitments"][0]["status"] == "open"

    r = act(client, tid, Action.ACCEPT, desk, body={})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    assert r.json()["allowed_actions"] == ["reopen"]
    closed = client.get(f"{API}/demarches/{did}", headers=desk).json()
    assert closed["status"] == "closed" and closed["closed_at"]

    r = act(client, tid, Action.REOPEN, desk, body={"reason": "The vote was postponed."})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reported" and r.json()["reason"] == "The vote was postponed."
    reopened = client.get(f"{API}/demarches/{did}", headers=desk).json()
    assert reopened["status"] == "issued" and reopened["closed_at"] is None

    assert tasking_events(db, tid) == [
        "create",
        "acknowledge",
        "deliver",
        "deliver",
        "report_response",
        "accept",
        "reopen",
    ]
    timeline = client.get(f"{API}/demarches/{did}/timeline", headers=desk).json()
    demarche_moves = [e["action"] for e in timeline if e["entity"] == "demarche"]
    assert demarche_moves == ["create", "issue", "close", "reopen"]


def test_advise_against_then_insist_then_waive(client, db, world):
    officer, desk = world["officer"], world["desk"]
    demarche = issue_demarche(client, desk, [{"post": "HANOI"}])
    did, tid = demarche["id"], tasking_id(demarche, "HANOI")

    advice = {"reason": "Delivering now would be counterproductive."}
    r = act(client, tid, Action.ADVISE_AGAINST, officer, body=advice)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "advised_against" and r.json()["reason"] == advice["reason"]
    assert r.json()["allowed_actions"] == []  # the ball is with the desk
    desk_view = client.get(f"{API}/taskings/{tid}", headers=desk).json()
    assert desk_view["allowed_actions"] == ["waive", "insist", "cancel"]

    r = act(client, tid, Action.INSIST, desk, body={"reason": "Deliver anyway."})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "pending"

    r = act(client, tid, Action.ADVISE_AGAINST, officer, body=advice)
    assert r.status_code == 200, r.text
    r = act(client, tid, Action.WAIVE, desk, body={"reason": "Agreed: wait for the new minister."})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "waived"
    assert r.json()["reason"] == "Agreed: wait for the new minister."
    # The only action tasking is finished: the demarche closes itself.
    assert client.get(f"{API}/demarches/{did}", headers=desk).json()["status"] == "closed"
    assert tasking_events(db, tid) == [
        "create",
        "advise_against",
        "insist",
        "advise_against",
        "waive",
    ]


# -- overdue --------------------------------------------------------------------


def test_overdue_is_derived_from_due_date_and_state(client, db, world):
    desk = world["desk"]
    demarche = issue_demarche(client, desk, [{"post": "HANOI"}, {"post": "SUVA"}])
    late, done = tasking_id(demarche, "HANOI"), tasking_id(demarche, "SUVA")
    past = date.today() - timedelta(days=3)
    set_tasking(db, late, due_date=past)
    set_tasking(db, done, due_date=past, status=TaskingStatus.DELIVERED)

    got = client.get(f"{API}/taskings/{late}", headers=desk).json()
    assert got["overdue"] is True and got["days_late"] >= 3
    assert got["unacknowledged_urgent"] is False
    delivered = client.get(f"{API}/taskings/{done}", headers=desk).json()
    assert delivered["overdue"] is False and delivered["days_late"] == 0

    def listed(**params) -> list[int]:
        r = client.get(
            f"{API}/taskings", params={"demarche": demarche["id"], **params}, headers=desk
        )
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert listed(overdue="true") == [late]
    assert listed(overdue="false") == [done]
    # The post sees its own overdue tasking the same way.
    mine = client.get(f"{API}/taskings", params={"overdue": "true"}, headers=world["officer"])
    assert [t["id"] for t in mine.json()["items"]] == [late]


def test_unacknowledged_flash_is_overdue_after_the_urgent_window(client, db, world, app_settings):
    desk = world["desk"]
    demarche = issue_demarche(
        client, desk, [{"post": "HANOI"}, {"post": "SUVA"}], precedence="FLASH"
    )
    assert demarche["precedence"] == "FLASH"
    stale, fresh = tasking_id(demarche, "HANOI"), tasking_id(demarche, "SUVA")
    window = timedelta(hours=app_settings.urgent_ack_hours)
    set_tasking(db, stale, created_at=utcnow() - window - timedelta(minutes=5))

    got = client.get(f"{API}/taskings/{stale}", headers=desk).json()
    assert got["status"] == "pending" and got["due_date"] > date.today().isoformat()
    assert got["overdue"] is True and got["unacknowledged_urgent"] is True
    assert got["days_late"] == 0
    young = client.get(f"{API}/taskings/{fresh}", headers=desk).json()
    assert young["overdue"] is False and young["unacknowledged_urgent"] is False
    overdue = client.get(
        f"{API}/taskings", params={"demarche": demarche["id"], "overdue": "true"}, headers=desk
    ).json()["items"]
    assert [t["id"] for t in overdue] == [stale]

    # Acknowledging clears the flag.
    r = act(client, stale, Action.ACKNOWLEDGE, world["officer"], body={})
    assert r.status_code == 200, r.text
    assert r.json()["overdue"] is False and r.json()["unacknowledged_urgent"] is False


# -- responses and commitments ------------------------------------------------


def reported(client, world, commitments: list[dict] | None = None) -> tuple[int, dict]:
    """A tasking delivered and reported; returns its id and the response."""
    demarche = issue_demarche(client, world["desk"], [{"post": "HANOI"}])
    tid = tasking_id(demarche, "HANOI")
    assert act(client, tid, Action.DELIVER, world["officer"]).status_code == 201
    r = act(
        client,
        tid,
        Action.REPORT_RESPONSE,
        world["officer"],
        body=response_body(commitments=commitments or []),
    )
    assert r.status_code == 201, r.text
    return tid, r.json()


def test_a_revised_response_keeps_its_earlier_text(client, db, world):
    officer = world["officer"]
    _, resp = reported(client, world)
    path = f"{API}/responses/{resp['id']}"
    read = client.get(path, headers=officer)
    assert read.status_code == 200 and read.json()["revisions"] == []
    first_tag = read.headers["etag"]

    revised = response_body(position="opposes", summary="The minister overruled the MFA.")
    r = client.put(path, json=revised, headers={**officer, "If-Match": first_tag})
    assert r.status_code == 200, r.text
    assert r.json()["position"] == "opposes" and r.headers["etag"] != first_tag

    # The test client shares one session across requests; a real request starts afresh.
    db.expire_all()
    got = client.get(path, headers=officer).json()
    assert got["position"] == "opposes" and got["summary"] == revised["summary"]
    assert got["version"] == resp["version"] + 1
    assert [rev["content"]["position"] for rev in got["revisions"]] == ["leans_supportive"]
    assert got["revisions"][0]["content"]["summary"] == resp["summary"]
    assert got["revisions"][0]["version"] == resp["version"]

    audit_before = db.scalar(select(func.count()).select_from(AuditEvent))
    stale = client.put(
        path, json=response_body(position="supports"), headers={**officer, "If-Match": first_tag}
    )
    problem(stale, 412)
    again = client.get(path, headers=officer).json()
    assert again["position"] == "opposes" and len(again["revisions"]) == 1
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_commitments_are_listed_and_followed_up(client, db, world):
    desk = world["desk"]
    due = future(30).isoformat()
    tid, resp = reported(client, world, [{"text": "Will co-sponsor.", "due_date": due}])

    rows = client.get(f"{API}/commitments", headers=desk).json()["items"]
    assert len(rows) == 1
    row = rows[0]
    assert row["text"] == "Will co-sponsor." and row["due_date"] == due
    assert (row["post"], row["tasking_id"], row["status"]) == ("HANOI", tid, "open")
    assert row["overdue"] is False
    # Another post's officer does not see it.
    assert client.get(f"{API}/commitments", headers=world["outsider"]).json()["items"] == []

    path = f"{API}/commitments/{row['id']}"
    tag = etag("commitment", row["id"], row["version"])
    problem(client.patch(path, json={"status": "fulfilled"}, headers=desk), 428)
    r = client.patch(path, json={"status": "fulfilled"}, headers={**desk, "If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "fulfilled" and r.json()["version"] == row["version"] + 1
    assert r.headers["etag"] != tag
    problem(client.patch(path, json={"status": "broken"}, headers={**desk, "If-Match": tag}), 412)

    listed = client.get(f"{API}/commitments", params={"status": "fulfilled"}, headers=desk)
    assert [c["id"] for c in listed.json()["items"]] == [row["id"]]
    assert (
        client.get(f"{API}/commitments", params={"status": "open"}, headers=desk).json()["items"]
        == []
    )


def test_a_tasking_brings_every_record_once_and_in_order(client, db, world):
    """Deliveries, responses and commitments arrive joined to the tasking in one query:
    each must appear once (no row multiplied by another table's) and in id order."""
    officer = world["officer"]
    demarche = issue_demarche(client, world["desk"], [{"post": "HANOI"}])
    tid = tasking_id(demarche, "HANOI")
    for who in ("First Secretary", "Political Counselor", "Ambassador"):
        r = act(client, tid, Action.DELIVER, officer, body=delivery_body(delivered_by=who))
        assert r.status_code == 201, r.text
    promises = [{"text": f"Will do thing {i}."} for i in range(3)]
    r = act(client, tid, Action.REPORT_RESPONSE, officer, body=response_body(commitments=promises))
    assert r.status_code == 201, r.text
    path = f"{API}/responses/{r.json()['id']}"
    tag = client.get(path, headers=officer).headers["etag"]
    revised = response_body(position="opposes", summary="Overruled.", commitments=promises)
    assert client.put(path, json=revised, headers={**officer, "If-Match": tag}).status_code == 200

    db.expunge_all()  # a real request starts with an empty session
    got = client.get(f"{API}/taskings/{tid}", headers=officer).json()
    assert [d["delivered_by"] for d in got["deliveries"]] == [
        "First Secretary",
        "Political Counselor",
        "Ambassador",
    ]
    assert len(got["responses"]) == 1
    (response,) = got["responses"]
    assert [c["text"] for c in response["commitments"]] == [p["text"] for p in promises]
    assert [c["id"] for c in response["commitments"]] == sorted(
        c["id"] for c in response["commitments"]
    )
    assert [rev["content"]["position"] for rev in response["revisions"]] == ["leans_supportive"]
    # The tasking's view is read as rows; the response's own route reads the ORM object.
    assert response == client.get(path, headers=officer).json()


def test_a_view_read_as_rows_holds_what_the_orm_objects_hold(client, db, world, app_settings):
    """The API's tasking views are built from rows without validation: each record must
    equal the one pydantic builds from the ORM object, field types included (enums,
    dates, aware datetimes), and the list must give the same view as the single read."""
    promise = {"text": "Will vote yes.", "due_date": "2030-01-02"}
    tid, resp = reported(client, world, commitments=[promise])
    db.expunge_all()
    actor = db.get_one(User, world["desk_id"])
    view = reads.read(db, tid, actor=actor, settings=app_settings)
    (listed,), more = reads.read_page(
        db,
        actor=actor,
        settings=app_settings,
        filters=reads.TaskingFilters(demarche_id=view.demarche_id),
        limit=10,
    )
    assert listed == view and not more

    orm = db.get_one(Tasking, tid)
    assert view.deliveries == [DeliveryOut.model_validate(d) for d in orm.deliveries]
    assert view.responses == [ResponseOut.model_validate(r) for r in orm.responses]
    assert (view.status, view.role, view.version) == (orm.status, orm.role, orm.version)
    assert (view.post, view.demarche_subject) == (orm.post.code, orm.demarche.subject)
    (delivery,), (response,) = view.deliveries, view.responses
    assert isinstance(view.status, TaskingStatus) and isinstance(delivery.level, DeliveryLevel)
    assert delivery.created_at.tzinfo and response.updated_at.tzinfo
    assert response.id == resp["id"] and response.commitments[0].due_date == date(2030, 1, 2)


def test_a_page_of_taskings_counts_taskings_not_their_records(client, db, world):
    """Records are joined in, so a tasking with three deliveries is three rows: the page
    limit and the cursor must still count taskings."""
    desk, officer = world["desk"], world["officer"]
    posts = [make_post(db, f"P{i}X", country=f"Land {i}") for i in range(4)]
    demarche = issue_demarche(client, desk, [{"post": "HANOI"}] + [{"post": p.code} for p in posts])
    tid = tasking_id(demarche, "HANOI")
    for _ in range(3):
        assert act(client, tid, Action.DELIVER, officer).status_code == 201
    seen: list[int] = []
    after = None
    while True:
        params = {"demarche": demarche["id"], "limit": 2, **({"cursor": after} if after else {})}
        page = client.get(f"{API}/taskings", params=params, headers=desk).json()
        assert len(page["items"]) <= 2
        seen += [t["id"] for t in page["items"]]
        if not page["next_cursor"]:
            break
        after = page["next_cursor"]
    assert seen == sorted(t["id"] for t in demarche["taskings"])
    (hanoi,) = [
        t
        for t in client.get(
            f"{API}/taskings", params={"demarche": demarche["id"]}, headers=desk
        ).json()["items"]
        if t["id"] == tid
    ]
    assert len(hanoi["deliveries"]) == 3


def test_the_revise_answer_lists_the_revision_it_made(client, world):
    officer = world["officer"]
    _, resp = reported(client, world)
    path = f"{API}/responses/{resp['id']}"
    tag = client.get(path, headers=officer).headers["etag"]
    r = client.put(
        path, json=response_body(position="opposes"), headers={**officer, "If-Match": tag}
    )
    assert r.status_code == 200, r.text
    assert [rev["content"]["position"] for rev in r.json()["revisions"]] == ["leans_supportive"]
