"""The demarche pages through TestClient: reading, issuing, cancelling, amending, writing one by hand."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from app.auth.models import Role
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheStatus
from app.posts.models import Region
from app.taskings.models import Tasking, TaskingStatus
from tests.factories import login, make_demarche, make_region_post, make_signin_user, tasking_of

TODAY = date.today()


def test_post_officer_sees_only_what_tasks_their_post(client, db, page_world):
    make_demarche(db, page_world["desk"], page_world["posts"][2:], subject="PARIS ONLY")
    db.commit()
    login(client, "hanoi")
    assert "PARIS ONLY" not in client.get("/").text
    other = db.scalar(select(Demarche).where(Demarche.subject == "PARIS ONLY"))
    r = client.get(f"/demarches/{other.id}")
    assert r.status_code == 404 and "No demarche" in r.text


def test_secret_demarche_is_a_404_page_for_a_lower_clearance(client, db, page_world):
    d = make_demarche(
        db,
        page_world["desk"],
        page_world["posts"],
        classification=Classification.SECRET,
        subject="HIDDEN",
    )
    db.commit()
    login(client, "viewer")
    r = client.get(f"/demarches/{d.id}")
    assert r.status_code == 404 and "HIDDEN" not in r.text


def test_demarche_page_withholds_points_and_shows_chart_and_timeline(client, page_world):
    login(client, "viewer")
    page = client.get(f"/demarches/{page_world['demarche'].id}").text
    assert "1 talking point above your clearance is withheld" in page
    assert "Our red line" not in page
    assert "<svg" in page and "supports: 0" in page  # the chart's text alternative
    assert "issue" in page and "Timeline" in page
    assert "Desk actions" not in page  # a viewer cannot act


def test_desk_issues_a_draft_and_a_stale_form_is_refused(client, db, page_world):
    d = make_demarche(
        db,
        page_world["desk"],
        page_world["posts"],
        issue=False,
        subject="A DRAFT",
        secret_point=False,
    )
    db.commit()
    csrf = login(client, "desk")
    stale = client.post(
        f"/demarches/{d.id}/issue",
        data={"csrf_token": csrf, "version": d.version - 1 if d.version > 1 else 99},
    )
    assert stale.status_code == 412 and "Someone else changed this demarche" in stale.text
    ok = client.post(
        f"/demarches/{d.id}/issue",
        data={"csrf_token": csrf, "version": d.version},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    db.expire_all()
    assert db.get(Demarche, d.id).status == DemarcheStatus.ISSUED
    again = client.get(ok.headers["location"]).text
    assert "Issued: each target post now has a tasking" in again


def test_desk_cancel_and_amend_call_the_services(client, db, page_world):
    d = page_world["demarche"]
    csrf = login(client, "desk")
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={"csrf_token": csrf, "version": d.version, "reason": "", "deadline": ""},
    )
    assert r.status_code == 422 and 'id="reason-error"' in r.text
    db.expire_all()
    v = db.get(Demarche, d.id).version
    new_deadline = (TODAY + timedelta(days=20)).isoformat()
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={"csrf_token": csrf, "version": v, "reason": "Vote moved", "deadline": new_deadline},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(f"/demarches/{d.id}").text
    assert "Revision 0 (as issued)" in page and "Vote moved" in page
    db.expire_all()
    v = db.get(Demarche, d.id).version
    # Without a reason and the confirmation: both said at once, beside their fields.
    r = client.post(f"/demarches/{d.id}/cancel", data={"csrf_token": csrf, "version": v})
    assert r.status_code == 422
    assert 'id="reason-error"' in r.text and 'id="confirm-error"' in r.text
    db.expire_all()
    assert db.get(Demarche, d.id).status == DemarcheStatus.ISSUED
    r = client.post(
        f"/demarches/{d.id}/cancel",
        data={"csrf_token": csrf, "version": v, "reason": "Overtaken by the vote", "confirm": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    assert db.get(Demarche, d.id).status == DemarcheStatus.CANCELLED
    assert "each post is shown your reason" in client.get(r.headers["location"]).text


def test_amend_from_the_page_changes_points_and_targets(client, db, page_world):
    d = page_world["demarche"]
    csrf = login(client, "desk")
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={
            "csrf_token": csrf,
            "version": d.version,
            "reason": "Paris drops out; Tokyo joins; a new point",
            "talking_points": "[public] We welcome the review.\n\n(C) Hold this one back.",
            "remove": [f"PARIS|{page_world['posts'][2].country}"],
            "add_posts": "tokyo",
        },
        follow_redirects=False,
    )
    # Not in the registry yet: nothing saved, and the form comes back as it was sent.
    assert r.status_code == 422 and "Unknown post: TOKYO" in r.text
    assert 'value="tokyo"' in r.text and ">[public] We welcome the review." in r.text
    assert re.search(rf'value="PARIS\|{page_world["posts"][2].country}" checked', r.text)
    make_region_post(db, "TOKYO", Region.EAP)
    db.commit()
    db.expire_all()
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={
            "csrf_token": csrf,
            "version": db.get(Demarche, d.id).version,
            "reason": "Paris drops out; Tokyo joins; a new point",
            "talking_points": "[public] We welcome the review.\n\n(C) Hold this one back.",
            "remove": [f"PARIS|{page_world['posts'][2].country}"],
            "add_posts": "tokyo",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    db.expire_all()
    amended = db.get(Demarche, d.id)
    assert [(p.text, p.use.value, p.classification.value) for p in amended.talking_points] == [
        ("We welcome the review.", "public", amended.classification.value),
        ("Hold this one back.", "private", "CONFIDENTIAL"),
    ]
    states = {
        t.post.code: t.status
        for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id))
    }
    assert states["PARIS"] == TaskingStatus.CANCELLED and states["TOKYO"] == TaskingStatus.PENDING
    assert states["HANOI"] == TaskingStatus.PENDING


def _amend_link(d: Demarche) -> str:
    return f'href="/demarches/{d.id}/amend"'


def test_amend_form_has_its_own_page_for_the_desk(client, db, page_world):
    d = page_world["demarche"]
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    # The demarche page links to the form instead of carrying a checkbox per target.
    assert _amend_link(d) in page and 'name="remove"' not in page
    form = client.get(f"/demarches/{d.id}/amend")
    assert form.status_code == 200
    assert f'action="/demarches/{d.id}/amend"' in form.text
    assert f'name="version" value="{d.version}"' in form.text
    assert form.text.count('name="remove"') == 3  # one per target post
    assert (
        'value="HANOI|Country Hanoi"' in form.text and "HANOI (Country Hanoi, action)" in form.text
    )
    # The current text beside the form, as the demarche page shows it to this reader.
    assert "Secure a yes vote." in form.text and "Our red line is the mandate." in form.text
    assert form.text.count("banner banner-secret") == 2


def test_amend_form_is_refused_as_its_post_is(client, db, page_world):
    d = page_world["demarche"]
    for who in ("viewer", "hanoi"):
        client.cookies.clear()
        login(client, who)
        assert _amend_link(d) not in client.get(f"/demarches/{d.id}").text, who
        r = client.get(f"/demarches/{d.id}/amend")
        assert r.status_code == 403 and "Amend:" not in r.text, who
    # A post not tasked does not learn that the demarche exists.
    other = make_demarche(db, page_world["desk"], page_world["posts"][2:], subject="PARIS ONLY")
    db.commit()
    r = client.get(f"/demarches/{other.id}/amend")
    assert r.status_code == 404 and "PARIS ONLY" not in r.text
    # Nor does a desk officer cleared below the demarche.
    secret = make_demarche(
        db,
        page_world["desk"],
        page_world["posts"],
        subject="HIDDEN",
        classification=Classification.SECRET,
    )
    make_signin_user(db, "lowdesk", Role.DESK_OFFICER, Classification.CONFIDENTIAL)
    db.commit()
    client.cookies.clear()
    login(client, "lowdesk")
    r = client.get(f"/demarches/{secret.id}/amend")
    assert r.status_code == 404 and "HIDDEN" not in r.text
    assert client.get(f"/demarches/{d.id}/amend").status_code == 200


def test_amend_errors_keep_what_was_typed_and_save_nothing(client, db, page_world):
    d = page_world["demarche"]
    paris = f"PARIS|{page_world['posts'][2].country}"
    csrf = login(client, "desk")
    sent = {
        "csrf_token": csrf,
        "version": d.version,
        "reason": "  ",
        "deadline": (TODAY + timedelta(days=30)).isoformat(),
        "objectives": "Keep <this> one",
        "talking_points": "(U) A new point.",
        "remove": [paris],
        "add_posts": "SANJOSE",
    }
    r = client.post(f"/demarches/{d.id}/amend", data=sent)
    assert r.status_code == 422
    assert 'id="reason-error"' in r.text and 'aria-invalid="true"' in r.text
    assert "This field is required." in r.text
    assert "please correct the 1 field" in r.text
    assert ">Keep &lt;this&gt; one</textarea>" in r.text  # kept, and escaped
    assert f'value="{sent["deadline"]}"' in r.text and 'value="SANJOSE"' in r.text
    assert f'value="{paris}" checked' in r.text
    assert 'value="HANOI|Country Hanoi" checked' not in r.text
    # A past deadline is the service's refusal: the same page, the same values.
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={**sent, "reason": "Moved", "deadline": (TODAY - timedelta(days=1)).isoformat()},
    )
    assert r.status_code == 422 and "is in the past" in r.text
    assert f'value="{paris}" checked' in r.text and 'value="Moved"' in r.text
    # A form read before someone else's change is refused; the values stay.
    r = client.post(f"/demarches/{d.id}/amend", data={**sent, "reason": "Moved", "version": 99})
    assert r.status_code == 412 and "Someone else changed this demarche" in r.text
    assert f'name="version" value="{d.version}"' in r.text and 'value="Moved"' in r.text
    db.expire_all()
    after = db.get(Demarche, d.id)
    assert (after.version, after.revision) == (d.version, 0)
    assert [o.text for o in after.objectives] == ["Secure a yes vote."]
    assert TaskingStatus.CANCELLED not in {
        t.status for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id))
    }


def test_only_an_issued_demarche_offers_the_amend_form(client, db, page_world):
    draft = make_demarche(
        db, page_world["desk"], page_world["posts"], issue=False, subject="A DRAFT"
    )
    db.commit()
    login(client, "desk")
    assert _amend_link(draft) not in client.get(f"/demarches/{draft.id}").text
    r = client.get(f"/demarches/{draft.id}/amend")
    assert r.status_code == 409 and "only an issued demarche is amended" in r.text
    assert 'name="reason"' not in r.text


def test_demarche_page_timeline_shows_reasons_and_each_posts_last_action(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "HANOI")
    csrf = login(client, "hanoi")
    r = client.post(
        f"/taskings/{t.id}/move",
        data={
            "csrf_token": csrf,
            "version": t.version,
            "action": "mark_unable",
            "reason": "The minister is travelling until March.",
            "next": "/inbox",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/inbox?done=moved&tasking={t.id}"
    client.cookies.clear()
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert "Reason: The minister is travelling until March." in page
    row = next(tr for tr in page.split("<tr>") if "<strong>HANOI</strong>" in tr)
    assert "mark unable by" in row


def test_new_demarche_expands_regions_and_collectives(client, db, page_world):
    csrf = login(client, "desk")
    form = client.get("/demarches/new").text
    assert 'for="collective-UNSC"' in form
    r = client.post(
        "/demarches/new",
        data={
            "csrf_token": csrf,
            "subject": "BY HAND",
            "classification": "SBU",
            "precedence": "ROUTINE",
            "deadline": (TODAY + timedelta(days=7)).isoformat(),
            "tags": "PREL, UNSC",
            "objectives": "One\nTwo",
            "talking_points": "(U) First point.\n\n(SBU) Second point.",
            "key_dates": f"{(TODAY + timedelta(days=8)).isoformat()} Council vote",
            "posts": ["PARIS"],
            "collectives": ["UNSC"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "Draft saved" in page and "Issue to 3 targets" in page
    d = db.scalar(select(Demarche).where(Demarche.subject == "BY HAND"))
    assert sorted(t.post.code for t in d.targets) == ["HANOI", "PARIS", "SANJOSE"]
    assert [p.classification for p in d.talking_points] == ["UNCLASSIFIED", "SBU"]


def test_new_demarche_errors_keep_what_was_typed(client, page_world):
    csrf = login(client, "desk")
    r = client.post(
        "/demarches/new",
        data={
            "csrf_token": csrf,
            "subject": "no",
            "classification": "SECRET",
            "tags": "BAD TAG!",
            "objectives": "Keep me",
            "key_dates": "someday vote",
            "regions": ["EAP"],
        },
    )
    assert r.status_code == 422
    assert 'id="subject-error"' in r.text and 'id="tags-error"' in r.text
    assert 'id="key_dates-error"' in r.text
    assert ">Keep me</textarea>" in r.text and 'value="EAP" checked' in r.text
    assert '<option value="SECRET" selected>' in r.text


def test_new_demarche_is_for_the_desk(client, page_world):
    login(client, "viewer")
    assert client.get("/demarches/new").status_code == 403


def test_a_closed_demarches_page_offers_the_desk_its_reopen(client, db, page_world):
    """The lifecycle leaves the desk nothing to do to a closed demarche, but the workflow
    still lets it reopen a closed tasking (and so the demarche): the page offers it."""
    d = page_world["demarche"]
    for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id)):
        t.status = TaskingStatus.CLOSED
    d.status = DemarcheStatus.CLOSED
    db.commit()
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    # Each row links to its tasking's page at the reopen form (a reason is needed there).
    assert page.count("#reopen") == 3
    assert f'action="/demarches/{d.id}/cancel"' not in page  # nothing left for the demarche
    client.cookies.clear()
    login(client, "viewer")
    assert "#reopen" not in client.get(f"/demarches/{d.id}").text


def test_a_moved_notice_for_no_number_is_no_notice_and_no_error(client, db, page_world):
    """`?moved=` names the tasking a desk move landed back from: anything but an id in
    range ("²" is a digit to isdigit(), no number to int(); past int4 PostgreSQL refuses
    to look) just shows the page."""
    login(client, "desk")
    d = page_world["demarche"]
    for moved in ("%C2%B2", "99999999999", "-1", "1e3"):
        r = client.get(f"/demarches/{d.id}?done=waive&moved={moved}")
        assert r.status_code == 200, (moved, r.status_code)
