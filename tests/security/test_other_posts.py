"""Attacks of a curious post on the other posts' work (issue 13, item 5, demarche side).

Hanoi, San Jose, Moscow and Tripoli are tasked with one demarche. Each of the other
three has done something Hanoi must not learn: San Jose delivered and reported a
response with a commitment, Moscow was unable, Tripoli advised against and the desk
waived it. Every text those records hold is a canary. Hanoi may know who its
co-addressees are (post, country, role, due date: the cable it received says so), and
nothing of what they did: no state, reason, delivery, response, commitment, event or
count. Every GET route of the app is walked as Hanoi (API token and signed-in pages).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from app.auth.models import Role
from app.classification import Classification
from app.taskings import service as taskings
from app.taskings.models import DeliveryLevel, DeliveryMethod, Position
from app.taskings.schemas import AcknowledgeIn, CommitmentIn, DeliveryIn, ResponseIn
from app.taskings.workflow import Action
from tests.factories import (
    login,
    make_demarche,
    make_region_post,
    make_signin_user,
    make_user,
    tasking_of,
)
from tests.routes import route_table

API = "/api/v1"
CONF = Classification.CONFIDENTIAL
OTHERS = ("SANJOSE", "MOSCOW", "TRIPOLI")
CANARIES = {
    "deliverer": "CANARY-SJ-DELIVERER",
    "recipient": "CANARY-SJ-RECIPIENT",
    "notes": "CANARY-SJ-NOTES",
    "response": "CANARY-SJ-RESPONSE",
    "commitment": "CANARY-SJ-COMMITMENT",
    "unable": "CANARY-MOSCOW-UNABLE",
    "advised": "CANARY-TRIPOLI-ADVISED",
    "waived": "CANARY-TRIPOLI-WAIVED",
    "officer": "CANARY-MOSCOW-OFFICER",
}


@pytest.fixture
def world(client, db):
    posts = {code: make_region_post(db, code) for code in ("HANOI", *OTHERS)}
    desk = make_signin_user(db, "desk")
    make_signin_user(db, "hanoi", Role.POST_OFFICER, CONF, "HANOI")
    officers = {
        code: make_user(db, Role.POST_OFFICER, CONF, posts[code], username=code.lower())[0]
        for code in OTHERS
    }
    d = make_demarche(db, desk, list(posts.values()), secret_point=False)
    t = {code: tasking_of(db, d, code) for code in posts}
    today = date.today()
    taskings.acknowledge(
        db, t["MOSCOW"], AcknowledgeIn(officer=CANARIES["officer"]), actor=officers["MOSCOW"]
    )
    taskings.move_with_reason(
        db, t["MOSCOW"], Action.MARK_UNABLE, actor=officers["MOSCOW"], reason=CANARIES["unable"]
    )
    taskings.move_with_reason(
        db,
        t["TRIPOLI"],
        Action.ADVISE_AGAINST,
        actor=officers["TRIPOLI"],
        reason=CANARIES["advised"],
    )
    taskings.move_with_reason(db, t["TRIPOLI"], Action.WAIVE, actor=desk, reason=CANARIES["waived"])
    taskings.deliver(
        db,
        t["SANJOSE"],
        DeliveryIn(
            delivered_on=today,
            delivered_by=CANARIES["deliverer"],
            recipient_name=CANARIES["recipient"],
            level=DeliveryLevel.MINISTER,
            method=DeliveryMethod.MEETING,
            points=[1],
            notes=CANARIES["notes"],
        ),
        actor=officers["SANJOSE"],
    )
    taskings.report_response(
        db,
        t["SANJOSE"],
        ResponseIn(
            position=Position.OPPOSES,
            summary=CANARIES["response"],
            commitments=[
                CommitmentIn(text=CANARIES["commitment"], due_date=today + timedelta(days=5))
            ],
        ),
        actor=officers["SANJOSE"],
    )
    db.commit()
    _, token = make_user(db, Role.POST_OFFICER, CONF, posts["HANOI"], username="hanoi-api")
    return {"demarche": d, "taskings": t, "token": token}


def _ids(world) -> dict[str, str]:
    return {
        "demarche_id": str(world["demarche"].id),
        "tasking_id": str(world["taskings"]["HANOI"].id),
        "code": "HANOI",
    }


def _paths(app, ids: dict[str, str], api: bool) -> list[str]:
    out = []
    for key in route_table(app):
        if key.method != "GET" or key.path.startswith(API) != api:
            continue
        names = re.findall(r"{(\w+)}", key.path)
        if any(n not in ids for n in names):
            continue
        out.append(re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], key.path))
    return out


def _assert_no_canary(answers: dict[str, str]) -> None:
    for path, body in answers.items():
        for what, canary in CANARIES.items():
            assert canary not in body, f"Hanoi reads another post's {what} on {path}"


def test_no_answer_to_a_post_holds_another_posts_work(app, client, world):
    ids = _ids(world)
    answers = {p: client.get(p, headers=world["token"]).text for p in _paths(app, ids, api=True)}
    assert f"{API}/demarches/{ids['demarche_id']}/timeline" in answers
    login(client, "hanoi")
    pages = _paths(app, ids, api=False)
    assert f"/demarches/{ids['demarche_id']}" in pages and "/" in pages
    answers |= {p: client.get(p).text for p in pages}
    _assert_no_canary(answers)

    # Another post's tasking, asked for by id, answers as a missing one does.
    for code in OTHERS:
        other = str(world["taskings"][code].id)
        for path in (f"{API}/taskings/{other}", f"/inbox/{other}"):
            headers = world["token"] if path.startswith(API) else {}
            r = client.get(path, headers=headers)
            assert r.status_code == 404, (code, path)
            _assert_no_canary({path: r.text})


def test_the_api_names_the_co_addressees_but_not_their_state(client, world):
    d = world["demarche"]
    got = client.get(f"{API}/demarches/{d.id}", headers=world["token"]).json()
    # Who else was tasked is in the cable Hanoi received: it stays.
    assert {t["post"] for t in got["targets"]} == {"HANOI", *OTHERS}
    # What they did is not: only Hanoi's own tasking, with its own state.
    assert [(t["post"], t["status"]) for t in got["taskings"]] == [("HANOI", "pending")]

    events = client.get(f"{API}/demarches/{d.id}/timeline", headers=world["token"]).json()
    others = {str(world["taskings"][code].id) for code in OTHERS}
    assert {e["post"] for e in events} <= {None, "HANOI"}
    assert not [e for e in events if e["entity"] == "tasking" and str(e["entity_id"]) in others]
    # The create event lists the targets (the co-addressees again), nothing more.
    create = next(e for e in events if e["entity"] == "demarche" and e["action"] == "create")
    assert {t["post"] for t in create["after"]["targets"]} == {"HANOI", *OTHERS}

    listed = client.get(f"{API}/taskings", headers=world["token"]).json()["items"]
    assert {t["post"] for t in listed} == {"HANOI"}
    commitments = client.get(f"{API}/commitments", headers=world["token"]).json()["items"]
    assert commitments == []


def _legend(page: str) -> str:
    """The progress bar's accessible summary: "Action posts by state: 1 pending"."""
    return re.search(r'aria-label="([^"]*by state[^"]*)"', page).group(1)


def test_the_pages_agree_with_the_api_a_post_sees_its_own_state_only(client, world):
    d = world["demarche"]
    login(client, "hanoi")
    page = client.get(f"/demarches/{d.id}").text
    # Its own tasking's state, not the demarche's roll-up of seven posts' states.
    assert _legend(page).endswith(": 1 pending")
    assert "Progress of your post" in page
    for code in OTHERS:
        assert f"<strong>{code}</strong>" not in page, code
    for word in ("unable", "advised against", "waived", "delivered"):
        assert word not in page.lower(), word
    # The chart of positions counts Hanoi's response only (none yet): San Jose's is not in it.
    assert "opposes: 0" in page and "opposes: 1" not in page
    home = client.get("/").text
    assert _legend(home).endswith(": 1 pending")
    assert "Your post" in home
    # The desk sees every post's work, as the roll-up it is.
    client.cookies.clear()
    login(client, "desk")
    desk_page = client.get(f"/demarches/{d.id}").text
    assert "Progress of action posts" in desk_page
    legend = _legend(desk_page)
    assert "1 pending" in legend and "1 unable" in legend and "1 reported" in legend
