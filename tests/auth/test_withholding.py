"""Nothing marked above a reader's clearance comes out of any route or page.

A CONFIDENTIAL demarche carries a SECRET talking point whose text is a canary. It is
issued, amended (so its history and revisions carry the old and new points), delivered
and answered. Then every GET route the app has (read from its route table, so a new
route is walked too) is asked by each reader cleared below SECRET who may see the
demarche, through the API with a token and through the pages with a browser session,
and no answer may hold the canary. The desk, cleared for SECRET, reads it: the canary
is really there to be leaked.
"""

from __future__ import annotations

import re

import pytest

from app.auth.models import Role
from app.classification import Classification
from app.demarches import amendments
from app.demarches.schemas import AmendIn, TalkingPointIn
from app.taskings.models import Response, Tasking
from app.vocabulary import TaskingRole
from tests.factories import (
    delivery_form,
    login,
    make_demarche,
    make_region_post,
    make_signin_user,
    make_user,
    tasking_of,
)
from tests.routes import route_table

CANARY = "CANARY-SECRET-7Q"
OLD_CANARY = "CANARY-OLD-SECRET-3Z"
API = "/api/v1"


@pytest.fixture
def leaky(client, db):
    hanoi = make_region_post(db, "HANOI")
    desk = make_signin_user(db, "desk")
    make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI")
    make_signin_user(db, "viewer", Role.VIEWER, Classification.CONFIDENTIAL)
    d = make_demarche(db, desk, [hanoi], secret_point=False)
    d.talking_points[0].text = f"Vote yes. {OLD_CANARY}"
    d.talking_points[0].classification = Classification.SECRET
    db.commit()
    amendments.amend(
        db,
        d,
        AmendIn(
            reason="Sharper points",
            talking_points=[
                TalkingPointIn(text="Vote yes, openly.", classification="UNCLASSIFIED"),
                TalkingPointIn(text=f"Our red line: {CANARY}", classification="SECRET"),
            ],
        ),
        actor=desk,
    )
    db.commit()
    t = tasking_of(db, d, "HANOI")
    csrf = login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    client.cookies.clear()
    _, hanoi_token = make_user(
        db, Role.POST_OFFICER, Classification.CONFIDENTIAL, hanoi, username="hanoi-api"
    )
    _, viewer_token = make_user(db, Role.VIEWER, Classification.CONFIDENTIAL, username="viewer-api")
    _, desk_token = make_user(db, Role.DESK_OFFICER, Classification.SECRET, username="desk-api")
    db.expire_all()
    tasking = db.get_one(Tasking, t.id)
    response = db.query(Response).filter(Response.tasking_id == t.id).one_or_none()
    ids = {
        "demarche_id": str(d.id),
        "tasking_id": str(t.id),
        "response_id": str(response.id if response else 0),
        "code": "HANOI",
    }
    assert tasking.role == TaskingRole.ACTION
    return {
        "ids": ids,
        "tokens": {"hanoi": hanoi_token, "viewer": viewer_token, "desk": desk_token},
    }


def _paths(app, ids: dict[str, str], api: bool) -> list[str]:
    out = []
    for key in route_table(app):
        if key.method != "GET" or key.path.startswith(API) != api:
            continue
        names = re.findall(r"{(\w+)}", key.path)
        if any(n not in ids for n in names):
            continue  # a route about other records (cables, replies, users): none shows points
        out.append(re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], key.path))
    return out


def _bodies(client, paths: list[str], headers: dict[str, str] | None = None) -> dict[str, str]:
    seen = {}
    for path in paths:
        r = client.get(path, headers=headers or {}, follow_redirects=False)
        seen[path] = r.text
    return seen


def test_no_route_or_page_shows_a_portion_above_the_readers_clearance(app, client, leaky):
    ids = leaky["ids"]
    api_paths, page_paths = _paths(app, ids, api=True), _paths(app, ids, api=False)
    # The walk reaches what shows points: the demarche, its revisions and timeline, the
    # tasking, and their pages.
    assert f"{API}/demarches/{ids['demarche_id']}/revisions" in api_paths
    assert f"/demarches/{ids['demarche_id']}" in page_paths
    assert f"/inbox/{ids['tasking_id']}" in page_paths

    for who in ("hanoi", "viewer"):
        answers = _bodies(client, api_paths, leaky["tokens"][who])
        client.cookies.clear()
        login(client, who)
        answers |= _bodies(client, page_paths)
        client.cookies.clear()
        shown = [
            path
            for path, body in answers.items()
            if f"/demarches/{ids['demarche_id']}" in path and "Vote yes" in body
        ]
        assert shown, f"{who} should read the demarche's unclassified text"
        for path, body in answers.items():
            assert CANARY not in body, f"{who} reads the SECRET point on {path}"
            assert OLD_CANARY not in body, f"{who} reads the earlier SECRET point on {path}"

    # Cleared for SECRET, the desk reads both texts: the canaries are there to leak.
    desk = _bodies(client, api_paths, leaky["tokens"]["desk"])
    assert CANARY in desk[f"{API}/demarches/{ids['demarche_id']}"]
    assert OLD_CANARY in desk[f"{API}/demarches/{ids['demarche_id']}/revisions"]
