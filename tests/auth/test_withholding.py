"""Nothing marked above a reader's clearance comes out of any route or page.

A CONFIDENTIAL demarche carries SECRET portions of every kind (its summary, an
objective, a talking point, a key date) whose texts are canaries. The service refuses
such a demarche now (no portion above its demarche), so these are rows from before that
rule, written straight into the tables: withholding is what still guards them. It is
amended (so its history and revisions carry the old and new portions), delivered and
answered. Then every GET route the app has (read from its route table, so a new route is
walked too) is asked by each reader cleared below SECRET who may see the demarche,
through the API with a token and through the pages with a browser session, and no
answer may hold a canary. The desk, cleared for SECRET, reads them: the canaries are
really there to be leaked.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.auth.models import Role
from app.classification import Classification
from app.demarches import amendments
from app.demarches.models import KeyDate, Objective
from app.demarches.schemas import AmendIn, TalkingPointIn
from app.taskings.models import Response, Tasking
from app.vocabulary import TaskingRole
from tests.factories import (
    delivery_form,
    future,
    legacy_point,
    login,
    make_demarche,
    make_region_post,
    make_signin_user,
    make_user,
    tasking_of,
)
from tests.routes import route_table

SECRET = Classification.SECRET
# The current text's SECRET portions, and the ones an amendment replaced.
CANARIES = {kind: f"CANARY-{kind.upper()}-7Q" for kind in ("point", "summary", "objective", "date")}
OLD_CANARIES = {
    kind: f"CANARY-OLD-{kind.upper()}-3Z" for kind in ("point", "summary", "objective", "date")
}
CANARY = CANARIES["point"]
API = "/api/v1"


def _plant(db, d, canaries: dict[str, str], *, position: int) -> None:
    """SECRET portions of every kind in a CONFIDENTIAL demarche, as legacy rows hold them."""
    d.summary = f"Urge a yes vote. {canaries['summary']}"
    d.summary_classification = SECRET
    d.objectives.append(
        Objective(position=len(d.objectives) + 1, text=canaries["objective"], classification=SECRET)
    )
    d.key_dates.append(KeyDate(on=future(15), what=canaries["date"], classification=SECRET))
    legacy_point(d, f"Our red line: {canaries['point']}", position=position)
    db.commit()


@pytest.fixture
def leaky(client, db):
    hanoi = make_region_post(db, "HANOI")
    desk = make_signin_user(db, "desk")
    make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI")
    make_signin_user(db, "viewer", Role.VIEWER, Classification.CONFIDENTIAL)
    d = make_demarche(db, desk, [hanoi], secret_point=False)
    _plant(db, d, OLD_CANARIES, position=2)
    # The desk, cleared SECRET, rewrites the points: the old ones go to revision 0.
    amendments.amend(
        db,
        d,
        AmendIn(
            reason="Sharper points",
            talking_points=[
                TalkingPointIn(text="Vote yes, openly.", classification="UNCLASSIFIED")
            ],
            objectives=["Secure a yes vote."],
            key_dates=[],
        ),
        actor=desk,
    )
    db.commit()
    db.refresh(d)
    _plant(db, d, CANARIES, position=2)
    # A second amendment (the deadline only) records the current text in its snapshots.
    amendments.amend(
        db, d, AmendIn(reason="Later", deadline=d.deadline + timedelta(days=1)), actor=desk
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
            for canary in (*CANARIES.values(), *OLD_CANARIES.values()):
                assert canary not in body, f"{who} reads the SECRET {canary} on {path}"

    # Cleared for SECRET, the desk reads every text: the canaries are there to leak.
    desk = _bodies(client, api_paths, leaky["tokens"]["desk"])
    demarche = f"{API}/demarches/{ids['demarche_id']}"
    for canary in CANARIES.values():
        assert canary in desk[demarche], canary
        assert canary in desk[f"{demarche}/timeline"], canary
    for canary in OLD_CANARIES.values():
        assert canary in desk[f"{demarche}/revisions"], canary
