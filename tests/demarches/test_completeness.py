"""The completeness check of a draft: in the API, on its page, and as the issue command's
refusal; warnings do not stop an issue, and the issue's audit event records them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import Role
from app.classification import Classification
from app.demarches import completeness
from app.demarches.models import Demarche, KeyDate
from tests.factories import (
    demarche_payload,
    future,
    legacy_point,
    login,
    make_demarche,
    make_post,
    make_user,
    write,
)

API = "/api/v1/demarches"


@pytest.fixture
def world(db):
    posts = [make_post(db, "HANOI"), make_post(db, "SANJOSE")]
    _, desk = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    return posts, desk


def _codes(found: list[dict]) -> set[str]:
    return {f["code"] for f in found}


def test_a_draft_missing_its_level_and_marked_above_itself_is_checked_and_not_issued(
    client, db, world
):
    posts, desk = world
    body = demarche_payload(posts, delivery_level=None)
    d = client.post(API, json=body, headers=desk).json()
    # A portion marked above its demarche, as rows from before the rule of marks are.
    legacy_point(db.get(Demarche, d["id"]), "Our red line.", position=3)
    db.commit()

    check = client.get(f"{API}/{d['id']}/check", headers=desk)
    assert check.status_code == 200, check.text
    out = check.json()
    assert out["complete"] is False and out["status"] == "draft"
    assert _codes(out["errors"]) == {"delivery_level_missing", "portion_above_classification"}
    fields = {e["code"]: e["field"] for e in out["errors"]}
    assert fields["delivery_level_missing"] == "delivery_level"
    assert "point 3 (SECRET)" in next(
        e["message"] for e in out["errors"] if e["code"] == "portion_above_classification"
    )

    r = write(client, "POST", f"{API}/{d['id']}/issue", desk)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert _codes(r.json()["errors"]) == _codes(out["errors"])
    assert db.get(Demarche, d["id"]).status.value == "draft"


def test_warnings_do_not_stop_an_issue_and_are_recorded(client, db, world):
    posts, desk = world
    body = demarche_payload(posts, summary="", tags=[])
    d = client.post(API, json=body, headers=desk).json()
    out = client.get(f"{API}/{d['id']}/check", headers=desk).json()
    assert out["complete"] is True
    warned = _codes(out["warnings"])
    assert {"arguments_missing", "counter_arguments_missing", "tags_missing"} <= warned

    assert write(client, "POST", f"{API}/{d['id']}/issue", desk).status_code == 200
    event = db.scalar(
        select(AuditEvent).where(
            AuditEvent.entity == "demarche",
            AuditEvent.entity_id == d["id"],
            AuditEvent.action == "issue",
        )
    )
    assert _codes(event.after["warnings"]) == warned


def test_the_deadline_must_come_before_the_last_event_it_prepares(db, world):
    posts, _ = world
    desk, _ = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    d = make_demarche(db, desk, posts, issue=False, secret_point=False, deadline=future(10))
    today = date.today()
    d.key_dates = [
        KeyDate(
            on=today + timedelta(days=3),
            what="Experts meet",
            classification=Classification.UNCLASSIFIED,
        ),
        KeyDate(
            on=today - timedelta(days=30),
            what="Last vote",
            classification=Classification.UNCLASSIFIED,
        ),
    ]
    db.flush()
    found = completeness.check(d, today=today)
    late = [e for e in found.errors if e.code == "deadline_after_key_date"]
    assert len(late) == 1 and "Experts meet" in late[0].message  # the past one is background

    d.key_dates.append(
        KeyDate(
            on=today + timedelta(days=12), what="Council vote", classification=Classification.SECRET
        )
    )
    db.flush()
    found = completeness.check(d, today=today, readable=lambda mark: mark != Classification.SECRET)
    assert "deadline_after_key_date" not in {e.code for e in found.errors}
    assert "deadline_after_key_date" in {w.code for w in found.warnings}  # an earlier step

    d.deadline = today + timedelta(days=20)
    found = completeness.check(d, today=today, readable=lambda mark: mark != Classification.SECRET)
    (err,) = [e for e in found.errors if e.code == "deadline_after_key_date"]
    assert "withheld from you" in err.message and "Council vote" not in err.message


def test_a_bare_draft_lists_every_missing_element(db, world):
    posts, _ = world
    desk, _ = make_user(db, Role.DESK_OFFICER, Classification.SECRET)
    d = make_demarche(db, desk, [], issue=False, secret_point=False)
    d.objectives, d.talking_points, d.deadline, d.delivery_level = [], [], None, ""
    db.flush()
    codes = {e.code for e in completeness.check(d, today=date.today()).errors}
    assert codes == {
        "objectives_missing",
        "talking_points_missing",
        "delivery_level_missing",
        "deadline_missing",
        "action_request_missing",
    }


def test_the_check_is_a_404_to_whoever_may_not_see_the_demarche(client, db, world):
    posts, desk = world
    d = client.post(
        API, json=demarche_payload(posts, classification=Classification.SECRET), headers=desk
    ).json()
    _, low = make_user(db, Role.VIEWER, Classification.CONFIDENTIAL)
    assert client.get(f"{API}/{d['id']}/check", headers=low).status_code == 404


def test_the_drafts_page_shows_the_check_beside_the_issue_button(client, db, page_world):
    d = make_demarche(db, page_world["desk"], page_world["posts"], issue=False, secret_point=False)
    d.delivery_level = None
    db.commit()
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    check, button = page.index('id="check"'), page.index(f'action="/demarches/{d.id}/issue"')
    assert check < button and "Say at what level to deliver it" in page[check:button]
    assert "Check before issuing" in page  # make_demarche's points answer no objection
