"""The desk's chasing pages through TestClient: a tasking's own page, extending from it,
the destructive moves' reason and confirmation, landing back where the officer was with
a sentence naming what changed, and the post's page showing why."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.audit import AuditEvent
from app.taskings.models import Tasking, TaskingStatus
from tests.factories import login, tasking_of


def _fresh(db, tid: int) -> Tasking:
    db.expire_all()
    t = db.get(Tasking, tid)
    assert t is not None
    return t


def test_the_desk_page_of_a_tasking_offers_the_desk_s_moves(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    login(client, "desk")
    r = client.get(f"/taskings/{t.id}?next=/overdue%3Fsort%3Dregion")
    assert r.status_code == 200, r.text
    page = r.text
    assert "HANOI: " in page and "What happened, and why" in page
    assert f'action="/taskings/{t.id}/extend"' in page
    assert 'id="cancel"' in page and 'name="confirm"' in page
    assert 'class="danger"' in page  # cancel is red, not Accept's blue
    assert 'href="/overdue?sort=region">Back to the overdue board' in page
    # A link written by someone else is not followed: back to the demarche instead.
    evil = client.get(f"/taskings/{t.id}?next=https://evil.example/x").text
    assert "evil.example" not in evil and "Back to the demarche" in evil


def test_a_post_officer_is_sent_to_its_own_page_and_another_post_s_is_a_404(client, db, page_world):
    mine = tasking_of(db, page_world["demarche"], "HANOI")
    theirs = tasking_of(db, page_world["demarche"], "SANJOSE")
    login(client, "hanoi")
    r = client.get(f"/taskings/{mine.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/inbox/{mine.id}"
    assert client.get(f"/taskings/{theirs.id}", follow_redirects=False).status_code == 404


def test_extend_from_the_page_lands_back_and_the_post_sees_why(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    t.due_date = date.today() - timedelta(days=3)
    db.commit()
    new = (date.today() + timedelta(days=20)).isoformat()
    csrf = login(client, "desk")
    form = {"csrf_token": csrf, "version": t.version, "next": "/overdue?sort=region&page=1"}

    # Everything wrong at once, beside its field; nothing changed.
    r = client.post(f"/taskings/{t.id}/extend", data={**form, "due_date": "", "reason": ""})
    assert r.status_code == 422
    assert 'id="due_date-error"' in r.text and 'id="reason-error"' in r.text
    earlier = (date.today() - timedelta(days=5)).isoformat()
    r = client.post(
        f"/taskings/{t.id}/extend", data={**form, "due_date": earlier, "reason": "More time"}
    )
    assert r.status_code == 422 and "after the current due date" in r.text
    assert ">More time</textarea>" in r.text  # as typed
    assert _fresh(db, t.id).due_date == date.today() - timedelta(days=3)

    r = client.post(
        f"/taskings/{t.id}/extend",
        data={**form, "due_date": new, "reason": "The minister is abroad."},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/overdue?sort=region&page=1&done=extend&moved={t.id}"
    board = client.get(r.headers["location"]).text
    assert f"HANOI: due date moved to {new}." in board
    assert _fresh(db, t.id).due_date.isoformat() == new

    # A stale form is refused with the reason, nothing saved.
    stale = client.post(
        f"/taskings/{t.id}/extend",
        data={**form, "due_date": new, "reason": "Again"},
    )
    assert stale.status_code == 412

    client.cookies.clear()
    login(client, "hanoi")
    page = client.get(f"/inbox/{t.id}").text
    assert f"to <strong>{new}</strong>" in page and "Reason: The minister is abroad." in page


def test_waive_needs_a_reason_and_a_confirmation_and_names_the_post(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "SANJOSE")
    t.status = TaskingStatus.ADVISED_AGAINST
    t.reason = "The vote is already lost here."
    db.commit()
    csrf = login(client, "desk")
    form = {
        "csrf_token": csrf,
        "version": t.version,
        "action": "waive",
        "next": f"/demarches/{d.id}?page=1",
    }
    r = client.post(f"/taskings/{t.id}/move", data={**form, "reason": ""})
    assert r.status_code == 422
    assert 'id="reason-error"' in r.text and 'id="confirm-error"' in r.text
    r = client.post(f"/taskings/{t.id}/move", data={**form, "reason": "Agreed: hold off."})
    assert r.status_code == 422 and "Tick the box" in r.text
    assert _fresh(db, t.id).status == TaskingStatus.ADVISED_AGAINST

    r = client.post(
        f"/taskings/{t.id}/move",
        data={**form, "reason": "Agreed: hold off.", "confirm": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/demarches/{d.id}?page=1&done=waive&moved={t.id}"
    assert "SANJOSE: waived." in client.get(r.headers["location"]).text
    assert _fresh(db, t.id).status == TaskingStatus.WAIVED
    ev = db.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == t.id, AuditEvent.action == "waive")
    ).one()
    assert ev.after["reason"] == "Agreed: hold off."

    client.cookies.clear()
    login(client, "sanjose")
    assert "Reason: Agreed: hold off." in client.get(f"/inbox/{t.id}").text


def test_the_demarche_page_links_destructive_moves_to_their_confirmation(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "PARIS")
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    link = f'href="/taskings/{t.id}?next=/demarches/{d.id}#cancel"'
    assert link.replace("/demarches/", "%2Fdemarches%2F") in page or link in page
    assert 'class="move-link danger"' in page
    # The confirmation page's cancel form lands back on the demarche page.
    assert (
        f'name="next" value="/demarches/{d.id}"'
        in client.get(f"/taskings/{t.id}?next=/demarches/{d.id}").text
    )


def test_the_post_officer_s_own_moves_need_no_confirmation(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
    r = client.post(
        f"/taskings/{t.id}/move",
        data={
            "csrf_token": csrf,
            "version": t.version,
            "action": "mark_unable",
            "reason": "No meeting possible.",
            "next": "/inbox",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/inbox?done=moved")


def test_the_list_of_a_post_s_taskings(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    login(client, "desk")
    page = client.get("/taskings?post=HANOI").text
    assert "HANOI&#39;s taskings" in page or "HANOI's taskings" in page
    assert f'href="/taskings/{t.id}?next=' in page
    assert "SANJOSE" not in page.split("<tbody>")[1]
    client.cookies.clear()
    login(client, "hanoi")
    others = client.get("/taskings?post=SANJOSE").text
    assert "No tasking you may see" in others
