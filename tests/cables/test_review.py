"""The reply review lifecycle: the table, the service going through it, and the
reply page offering exactly what the table and the policy allow."""

from __future__ import annotations

import inspect

import pytest
from fastapi.routing import APIRoute

from app.auth.models import Role
from app.auth.service import open_session
from app.cables import pages
from app.cables.models import CableReply, ReplyStatus
from app.cables.rules import TRANSITIONS, ReplyAction, allowed_actions, check
from app.classification import Classification
from app.errors import Conflict
from tests.cables.samples import REPORT, instruction
from tests.factories import make_user

API = "/api/v1/cables"


@pytest.mark.parametrize("status", list(ReplyStatus))
@pytest.mark.parametrize("action", list(ReplyAction))
def test_every_move_is_checked_against_the_table(status, action):
    reply = CableReply(id=7, status=status)
    (t,) = [t for t in TRANSITIONS if t.action == action]
    if status in t.sources:
        assert check(reply, action) == t.target
        assert action in allowed_actions(status)
    else:
        with pytest.raises(Conflict) as refused:
            check(reply, action)
        assert refused.value.extra["current_state"] == status.value
        assert refused.value.extra["allowed_actions"] == [a.value for a in allowed_actions(status)]
        assert action not in allowed_actions(status)


def test_a_confirmed_reply_is_settled():
    assert allowed_actions(ReplyStatus.CONFIRMED) == []


def test_page_handlers_are_plain_functions():
    # They use the synchronous session and parse up to megabytes: never on the event loop.
    for route in pages.router.routes:
        assert isinstance(route, APIRoute)
        assert not inspect.iscoroutinefunction(route.endpoint), route.path


def _sign_in(client, db, user) -> str:
    opened = open_session(db, user=user)
    db.commit()
    client.cookies.set("dmt_session", opened.cookie)
    return opened.web_session.csrf_token


def _forms(html: str) -> set[str]:
    return {a for a in ("confirm", "match", "reject") if f'/{a}"' in html}


def test_the_reply_page_offers_what_the_table_and_the_policy_allow(client, db, world):
    r = client.post(API, json={"text": REPORT.format(ref="166909")}, headers=world["desk"])
    reply_id = r.json()["reply"]["id"]
    desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)[0]
    viewer = make_user(db, Role.VIEWER, Classification.SECRET)[0]
    url = f"/cables/replies/{reply_id}"

    _sign_in(client, db, viewer)
    assert _forms(client.get(url).text) == set()
    client.cookies.clear()

    csrf = _sign_in(client, db, desk)
    assert _forms(client.get(url).text) == {"confirm", "match", "reject"}
    done = client.post(
        f"{url}/reject", data={"csrf_token": csrf, "note": "wrong post"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text[:2000]
    # Rejected: the desk may still put the match right by hand, and nothing else.
    page = client.get(url).text
    assert _forms(page) == {"match"} and "rejected" in page
    again = client.post(f"{url}/reject", data={"csrf_token": csrf, "note": "again"})
    assert again.status_code == 409 and "Allowed from rejected: match by hand" in again.text


def test_an_upload_over_the_cable_limit_is_refused_readably(client, db, app, app_settings):
    app.state.settings = app_settings.model_copy(update={"max_cable_bytes": 1024})
    try:
        desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)[0]
        csrf = _sign_in(client, db, desk)
        big = instruction() + "X" * 2048
        for path in ("/cables/import/instruction", "/cables/import/reply"):
            r = client.post(
                path,
                data={"csrf_token": csrf},
                files={"file": ("c.txt", big.encode(), "text/plain")},
            )
            assert r.status_code == 413, r.text[:2000]
            assert "larger than 1 KiB" in r.text and "Paste" in r.text  # the import page again
        small = client.post(
            "/cables/import/instruction",
            data={"csrf_token": csrf},
            files={"file": ("c.txt", instruction().encode(), "text/plain")},
        )
        assert small.status_code == 200, small.text[:2000]
    finally:
        app.state.settings = app_settings
