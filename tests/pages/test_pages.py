"""The server-rendered pages through TestClient: access rules, forms, and query counts."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.classification import Classification
from app.db import utcnow
from app.demarches.models import Demarche, DemarcheStatus
from app.posts.models import Region
from app.taskings.models import Response, Tasking, TaskingStatus
from app.vocabulary import Precedence
from tests.pages import _seed
from tests.querycount import count_queries

TODAY = date.today()


@pytest.fixture
def world(db: Session):
    """Three posts, a desk officer, two post officers, a viewer, one issued demarche."""
    hanoi = _seed.post(db, "HANOI", Region.EAP)
    sanjose = _seed.post(db, "SANJOSE", Region.WHA)
    paris = _seed.post(db, "PARIS", Region.EUR)
    desk = _seed.user(db, "desk")
    _seed.user(db, "hanoi", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI")
    _seed.user(db, "sanjose", Role.POST_OFFICER, Classification.CONFIDENTIAL, "SANJOSE")
    _seed.user(db, "viewer", Role.VIEWER, Classification.CONFIDENTIAL)
    _seed.collective(db, "UNSC", "UN SECURITY COUNCIL COLLECTIVE", [hanoi, sanjose])
    d = _seed.demarche(db, desk, [hanoi, sanjose, paris])
    db.commit()
    return {"desk": desk, "demarche": d, "posts": [hanoi, sanjose, paris]}


def tasking_of(db: Session, d: Demarche, code: str) -> Tasking:
    return next(
        t
        for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id))
        if t.post.code == code
    )


# -- access -----------------------------------------------------------------------


def test_pages_redirect_to_login_when_signed_out(client, world):
    for path in ("/", "/inbox", "/overdue", f"/demarches/{world['demarche'].id}", "/demarches/new"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


def test_home_lists_open_demarches_soonest_first_with_banner(client, db, world):
    desk = world["desk"]
    _seed.demarche(
        db,
        desk,
        world["posts"][:1],
        subject="EARLIER ONE",
        classification=Classification.UNCLASSIFIED,
        deadline=TODAY + timedelta(days=3),
        secret_point=False,
    )
    _seed.demarche(
        db, desk, world["posts"][:1], subject="A SECRET ONE", classification=Classification.SECRET
    )
    db.commit()
    _seed.login(client, "viewer")
    page = client.get("/").text
    assert "EARLIER ONE" in page and "UNSC: SUPPORT THE RENEWAL" in page
    assert "A SECRET ONE" not in page  # above the viewer's clearance
    assert page.index("EARLIER ONE") < page.index("UNSC: SUPPORT THE RENEWAL")
    assert page.count("banner banner-confidential") == 2  # top and bottom
    assert "3 days left" in page
    assert "3 pending" in page  # the progress bar's text


def test_home_filters_live_in_the_url(client, db, world):
    desk = world["desk"]
    _seed.demarche(
        db, desk, world["posts"][2:], subject="FISHERIES", tags=("EFIS",), secret_point=False
    )
    db.commit()
    _seed.login(client, "desk")
    assert "FISHERIES" not in client.get("/?tag=PREL").text
    assert "FISHERIES" in client.get("/?tag=EFIS").text
    by_region = client.get("/?region=WHA").text
    assert "FISHERIES" not in by_region and "UNSC: SUPPORT" in by_region
    assert "FISHERIES" in client.get("/?post=PARIS").text
    assert "No" not in client.get("/?status=bogus&region=XX").text[:0]  # tolerated
    assert "Nothing matches" in client.get("/?overdue=1").text


def test_post_officer_sees_only_what_tasks_their_post(client, db, world):
    _seed.demarche(db, world["desk"], world["posts"][2:], subject="PARIS ONLY")
    db.commit()
    _seed.login(client, "hanoi")
    assert "PARIS ONLY" not in client.get("/").text
    other = db.scalar(select(Demarche).where(Demarche.subject == "PARIS ONLY"))
    r = client.get(f"/demarches/{other.id}")
    assert r.status_code == 404 and "No demarche" in r.text


def test_secret_demarche_is_a_404_page_for_a_lower_clearance(client, db, world):
    d = _seed.demarche(
        db, world["desk"], world["posts"], classification=Classification.SECRET, subject="HIDDEN"
    )
    db.commit()
    _seed.login(client, "viewer")
    r = client.get(f"/demarches/{d.id}")
    assert r.status_code == 404 and "HIDDEN" not in r.text


def test_demarche_page_withholds_points_and_shows_chart_and_timeline(client, world):
    _seed.login(client, "viewer")
    page = client.get(f"/demarches/{world['demarche'].id}").text
    assert "1 talking point above your clearance is withheld" in page
    assert "Our red line" not in page
    assert "<svg" in page and "supports: 0" in page  # the chart's text alternative
    assert "issue" in page and "Timeline" in page
    assert "Desk actions" not in page  # a viewer cannot act


def test_desk_issues_a_draft_and_a_stale_form_is_refused(client, db, world):
    d = _seed.demarche(db, world["desk"], world["posts"], issue=False, subject="A DRAFT")
    db.commit()
    csrf = _seed.login(client, "desk")
    stale = client.post(
        f"/demarches/{d.id}/issue",
        data={"csrf_token": csrf, "version": d.version - 1 if d.version > 1 else 99},
    )
    assert stale.status_code == 409 and "Someone else changed this demarche" in stale.text
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


def test_a_form_without_csrf_is_refused(client, world):
    _seed.login(client, "desk")
    r = client.post(f"/demarches/{world['demarche'].id}/cancel", data={"version": 1})
    assert r.status_code == 403


def test_desk_cancel_and_amend_call_the_services(client, db, world):
    d = world["demarche"]
    csrf = _seed.login(client, "desk")
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
    r = client.post(
        f"/demarches/{d.id}/cancel", data={"csrf_token": csrf, "version": v}, follow_redirects=False
    )
    assert r.status_code == 303
    db.expire_all()
    assert db.get(Demarche, d.id).status == DemarcheStatus.CANCELLED


def test_amend_from_the_page_changes_points_and_targets(client, db, world):
    d = world["demarche"]
    csrf = _seed.login(client, "desk")
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={
            "csrf_token": csrf,
            "version": d.version,
            "reason": "Paris drops out; Tokyo joins; a new point",
            "talking_points": "[public] We welcome the review.\n\n(C) Hold this one back.",
            "remove": [f"PARIS|{world['posts'][2].country}"],
            "add_posts": "tokyo",
        },
        follow_redirects=False,
    )
    # Not in the registry yet: nothing saved, and the form comes back as it was sent.
    assert r.status_code == 422 and "Unknown post: TOKYO" in r.text
    assert 'value="tokyo"' in r.text and ">[public] We welcome the review." in r.text
    assert re.search(rf'value="PARIS\|{world["posts"][2].country}" checked', r.text)
    _seed.post(db, "TOKYO", Region.EAP)
    db.commit()
    db.expire_all()
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={
            "csrf_token": csrf,
            "version": db.get(Demarche, d.id).version,
            "reason": "Paris drops out; Tokyo joins; a new point",
            "talking_points": "[public] We welcome the review.\n\n(C) Hold this one back.",
            "remove": [f"PARIS|{world['posts'][2].country}"],
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


def test_amend_form_has_its_own_page_for_the_desk(client, db, world):
    d = world["demarche"]
    _seed.login(client, "desk")
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


def test_amend_form_is_refused_as_its_post_is(client, db, world):
    d = world["demarche"]
    for who in ("viewer", "hanoi"):
        client.cookies.clear()
        _seed.login(client, who)
        assert _amend_link(d) not in client.get(f"/demarches/{d.id}").text, who
        r = client.get(f"/demarches/{d.id}/amend")
        assert r.status_code == 403 and "Amend:" not in r.text, who
    # A post not tasked does not learn that the demarche exists.
    other = _seed.demarche(db, world["desk"], world["posts"][2:], subject="PARIS ONLY")
    db.commit()
    r = client.get(f"/demarches/{other.id}/amend")
    assert r.status_code == 404 and "PARIS ONLY" not in r.text
    # Nor does a desk officer cleared below the demarche.
    secret = _seed.demarche(
        db, world["desk"], world["posts"], subject="HIDDEN", classification=Classification.SECRET
    )
    _seed.user(db, "lowdesk", Role.DESK_OFFICER, Classification.CONFIDENTIAL)
    db.commit()
    client.cookies.clear()
    _seed.login(client, "lowdesk")
    r = client.get(f"/demarches/{secret.id}/amend")
    assert r.status_code == 404 and "HIDDEN" not in r.text
    assert client.get(f"/demarches/{d.id}/amend").status_code == 200


def test_amend_errors_keep_what_was_typed_and_save_nothing(client, db, world):
    d = world["demarche"]
    paris = f"PARIS|{world['posts'][2].country}"
    csrf = _seed.login(client, "desk")
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
    assert r.status_code == 409 and "Someone else changed this demarche" in r.text
    assert f'name="version" value="{d.version}"' in r.text and 'value="Moved"' in r.text
    db.expire_all()
    after = db.get(Demarche, d.id)
    assert (after.version, after.revision) == (d.version, 0)
    assert [o.text for o in after.objectives] == ["Secure a yes vote."]
    assert TaskingStatus.CANCELLED not in {
        t.status for t in db.scalars(select(Tasking).where(Tasking.demarche_id == d.id))
    }


def test_only_an_issued_demarche_offers_the_amend_form(client, db, world):
    draft = _seed.demarche(db, world["desk"], world["posts"], issue=False, subject="A DRAFT")
    db.commit()
    _seed.login(client, "desk")
    assert _amend_link(draft) not in client.get(f"/demarches/{draft.id}").text
    r = client.get(f"/demarches/{draft.id}/amend")
    assert r.status_code == 409 and "only an issued demarche is amended" in r.text
    assert 'name="reason"' not in r.text


# -- the inbox and each tasking's page ------------------------------------------------


def delivery_form(csrf: str, version: int, **over) -> dict:
    body = {
        "csrf_token": csrf,
        "version": version,
        "delivered_on": TODAY.isoformat(),
        "delivered_by": "Pol Counselor",
        "recipient_name": "Le Van A",
        "recipient_title": "Director-General",
        "recipient_office": "MFA International Organizations",
        "level": "senior_official",
        "method": "meeting",
        "points": ["1"],
        "notes": "",
    }
    body.update(over)
    return body


def test_inbox_is_for_post_officers(client, world):
    _seed.login(client, "desk")
    r = client.get("/inbox")
    assert r.status_code == 403 and "for post officers" in r.text


def test_inbox_lists_summaries_and_links_not_forms(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    _seed.login(client, "hanoi")
    page = client.get("/inbox").text
    assert "UNSC: SUPPORT THE RENEWAL" in page and "1 tasking waiting on your post" in page
    card = page[page.index(f'id="tasking-{t.id}"') :]
    assert f'href="/demarches/{t.demarche_id}"' in card
    # Acknowledging stays one click; every other move is a link to the tasking's page.
    assert f'action="/inbox/{t.id}/acknowledge"' in card and "Acknowledge</button>" in card
    assert 'name="planned_date"' not in card
    assert f'href="/inbox/{t.id}#deliver"' in card and "Log a delivery</a>" in card
    assert f'href="/inbox/{t.id}#cannot"' in card
    assert "#respond" not in card  # nothing to report from pending
    # No delivery, response or reason forms, and no talking points to tick.
    for absent in ("/deliver", "/respond", "/move", 'name="points"', "above your clearance"):
        assert absent not in page, absent


def test_inbox_card_offers_the_response_once_delivered(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version))
    assert r.status_code == 200  # followed to the inbox
    card = r.text[r.text.index(f'id="tasking-{t.id}"') :]
    assert "Delivered 1 time; last to Le Van A on" in card
    assert f'href="/inbox/{t.id}#respond"' in card and "Log another delivery</a>" in card
    assert "Acknowledge</button>" not in card and "#cannot" not in card


def test_tasking_page_carries_the_forms_for_its_post(client, db, world):
    d = world["demarche"]
    t = tasking_of(db, d, "HANOI")
    _seed.login(client, "hanoi")
    r = client.get(f"/inbox/{t.id}")
    assert r.status_code == 200, r.text
    page = r.text
    assert f'<a href="/demarches/{d.id}">UNSC: SUPPORT THE RENEWAL OF UNOMAR</a></h1>' in page
    assert "action for Country Hanoi (HANOI)" in page and "10 days left" in page
    assert page.count("banner banner-confidential") == 2
    for form in ("acknowledge", "deliver"):
        assert f'action="/inbox/{t.id}/{form}"' in page, form
    assert page.count(f'action="/taskings/{t.id}/move"') == 2
    assert 'value="mark_unable"' in page and 'value="advise_against"' in page
    assert 'name="next" value="/inbox"' in page
    assert f'name="version" value="{t.version}"' in page
    assert "/respond" not in page  # not from pending
    # Every point can be ticked; the SECRET one's text is withheld from a CONFIDENTIAL reader.
    assert re.search(r'name="points" value="1">\s*<label for="d-p1">1\. We ask you', page)
    assert 'value="2"><label for="d-p2">2. <span class="withheld">above your clearance' in page
    assert "Our red line" not in page
    assert 'value="Hanoi Officer"' in page  # delivered by: the signed-in officer
    assert "None logged yet." in page


def test_tasking_page_is_for_its_own_post_only(client, db, world):
    d = world["demarche"]
    t = tasking_of(db, d, "HANOI")
    secret = _seed.demarche(
        db, world["desk"], world["posts"][:1], classification=Classification.SECRET
    )
    db.commit()
    hidden = tasking_of(db, secret, "HANOI")
    for who, path, status, words in (
        ("sanjose", f"/inbox/{t.id}", 404, f"No tasking {t.id}"),  # another post's
        ("hanoi", f"/inbox/{hidden.id}", 404, f"No tasking {hidden.id}"),  # above clearance
        ("hanoi", "/inbox/999999", 404, "No tasking 999999"),
        ("desk", f"/inbox/{t.id}", 403, "for post officers"),
        ("desk", "/inbox/999999", 403, "for post officers"),  # role first: no id is known
        ("viewer", f"/inbox/{t.id}", 403, "for post officers"),
    ):
        client.cookies.clear()
        _seed.login(client, who)
        r = client.get(path)
        assert r.status_code == status and words in r.text, (who, path, r.status_code)
        assert "UNSC: SUPPORT" not in r.text and 'name="recipient_name"' not in r.text


def test_tasking_page_shows_deliveries_and_what_changed(client, db, world):
    d = world["demarche"]
    t = tasking_of(db, d, "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/deliver",
        data=delivery_form(csrf, t.version, points=["1", "2"], notes="Left a non-paper."),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    client.cookies.clear()
    desk_csrf = _seed.login(client, "desk")
    db.expire_all()
    r = client.post(
        f"/demarches/{d.id}/amend",
        data={
            "csrf_token": desk_csrf,
            "version": db.get(Demarche, d.id).version,
            "reason": "Vote moved",
            "deadline": (TODAY + timedelta(days=20)).isoformat(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    client.cookies.clear()
    _seed.login(client, "hanoi")
    page = client.get(f"/inbox/{t.id}").text
    assert "meeting with Le Van A, Director-General (MFA International Organizations)" in page
    assert "Talking points delivered: 1, 2." in page and "Left a non-paper." in page
    assert "Amended since you last acted</strong>: deadline changed." in page
    assert "Log another delivery" in page and f'action="/inbox/{t.id}/respond"' in page
    assert f'action="/taskings/{t.id}/move"' not in page  # no longer from delivered
    assert page.index('id="h-respond"') < page.index('id="h-deliver"')  # the next step first


def test_delivery_validation_keeps_what_was_typed(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/deliver",
        data=delivery_form(
            csrf, t.version, recipient_name="", level="", recipient_title="Vice Minister <b>X</b>"
        ),
    )
    assert r.status_code == 422
    # The tasking's own page comes back, not the inbox.
    assert 'id="h-deliver"' in r.text and "waiting on your post" not in r.text
    assert "Nothing was saved: please correct the 2 fields marked below." in r.text
    assert 'id="recipient_name-error"' in r.text and "This field is required." in r.text
    assert 'id="level-error"' in r.text and "Choose one of the options." in r.text
    assert 'value="Vice Minister &lt;b&gt;X&lt;/b&gt;"' in r.text  # kept, and escaped
    assert 'value="meeting" selected' in r.text
    assert re.search(r'name="points" value="1"\s*checked', r.text)
    assert not re.search(r'name="points" value="2"\s*checked', r.text)
    # The acknowledge form beside it starts empty: the values belong to the delivery.
    assert 'id="ack-officer" name="officer" type="text" value=""' in r.text
    r = client.post(f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version, points=["7"]))
    assert r.status_code == 422 and 'id="points-error"' in r.text
    assert "No talking point numbered 7" in r.text
    db.expire_all()
    assert db.get(Tasking, t.id).status == TaskingStatus.PENDING


def test_post_delivers_and_reports_then_another_post_cannot_see_it(client, db, world):
    d = world["demarche"]
    t = tasking_of(db, d, "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/inbox?done=deliver&tasking={t.id}"
    inbox = client.get(r.headers["location"]).text
    assert "Delivery logged. Report the response when you have it." in inbox
    assert f'<a href="/inbox/{t.id}">Open the tasking</a>' in inbox
    db.expire_all()
    t = db.get(Tasking, t.id)
    assert t.status == TaskingStatus.DELIVERED
    bad = client.post(
        f"/inbox/{t.id}/respond",
        data={
            "csrf_token": csrf,
            "version": t.version,
            "position": "",
            "summary": "They will think about it.",
            "commitments": "2030-01-02 review",
        },
    )
    assert bad.status_code == 422 and 'id="h-respond"' in bad.text
    assert 'id="position-error"' in bad.text
    assert ">They will think about it.</textarea>" in bad.text
    assert ">2030-01-02 review</textarea>" in bad.text
    r = client.post(
        f"/inbox/{t.id}/respond",
        data={
            "csrf_token": csrf,
            "version": t.version,
            "position": "leans_supportive",
            "summary": "MFA will recommend yes.",
            "commitments": f"{(TODAY + timedelta(days=5)).isoformat()} speak at the session",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/inbox?done=respond&tasking={t.id}"
    db.expire_all()
    assert db.get(Tasking, t.id).status == TaskingStatus.REPORTED
    assert (
        db.scalar(select(Response.position).where(Response.tasking_id == t.id))
        == "leans_supportive"
    )
    # Reported: gone from the inbox, still readable on its page, with nothing left to do.
    assert "UNSC: SUPPORT" not in client.get("/inbox").text
    page = client.get(f"/inbox/{t.id}").text
    assert "Response reported" in page and "MFA will recommend yes." in page
    assert "speak at the session" in page and "Nothing for your post to do now." in page
    assert '<form method="post" action="/inbox/' not in page

    client.cookies.clear()
    _seed.login(client, "sanjose")
    assert client.get(f"/inbox/{t.id}").status_code == 404
    page = client.get(f"/demarches/{d.id}").text
    assert "HANOI" not in page and "leans supportive: 0" in page
    client.cookies.clear()
    _seed.login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert "leans supportive: 1" in page and "reported" in page and "Accept" in page
    # The timeline reads each event's position out of its record.
    assert "Position: leans supportive" in page


def test_acknowledge_from_the_inbox_and_from_the_tasking_page(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/acknowledge",
        data={"csrf_token": csrf, "version": t.version, "planned_date": "soon"},
    )
    assert r.status_code == 422 and 'id="planned_date-error"' in r.text
    assert 'id="ack-date" name="planned_date" type="date" value="soon"' in r.text
    planned = (TODAY + timedelta(days=2)).isoformat()
    r = client.post(
        f"/inbox/{t.id}/acknowledge",
        data={"csrf_token": csrf, "version": t.version, "planned_date": planned, "officer": "Minh"},
        follow_redirects=False,
    )
    assert (
        r.status_code == 303 and r.headers["location"] == f"/inbox?done=acknowledge&tasking={t.id}"
    )
    db.expire_all()
    t = db.get(Tasking, t.id)
    assert t.status == TaskingStatus.ACKNOWLEDGED and t.officer == "Minh"
    page = client.get(f"/inbox/{t.id}").text
    assert f"planned delivery {planned}; officer Minh" in page
    assert f'action="/inbox/{t.id}/acknowledge"' not in page


def test_demarche_page_timeline_shows_reasons_and_each_posts_last_action(client, db, world):
    d = world["demarche"]
    t = tasking_of(db, d, "HANOI")
    csrf = _seed.login(client, "hanoi")
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
    _seed.login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert "Reason: The minister is travelling until March." in page
    row = next(tr for tr in page.split("<tr>") if "<strong>HANOI</strong>" in tr)
    assert "mark unable by" in row


def test_a_desk_move_refused_without_next_is_answered_on_the_demarche_page(client, db, world):
    """The desk has no tasking page: a refused move it posts without a next (a crafted
    or old form) shows the real reason on the demarche page, not the inbox's 403."""
    d = world["demarche"]
    t = tasking_of(db, d, "HANOI")  # pending: the desk cannot accept it yet
    csrf = _seed.login(client, "desk")
    r = client.post(
        f"/taskings/{t.id}/move",
        data={"csrf_token": csrf, "version": t.version, "action": "accept", "reason": ""},
        follow_redirects=False,
    )
    assert r.status_code == 409, r.text
    assert d.subject in r.text
    assert "it is for post officers" not in r.text


def test_stale_tasking_form_is_refused(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/acknowledge",
        data={"csrf_token": csrf, "version": t.version + 5, "officer": "Minh"},
    )
    assert r.status_code == 409 and "Someone else changed this tasking" in r.text
    assert 'id="ack-officer" name="officer" type="text" value="Minh"' in r.text
    # The page offers the current version, so sending the form again goes through.
    assert f'name="version" value="{t.version}"' in r.text
    r = client.post(
        f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version - 1, recipient_name="Le")
    )
    assert r.status_code == 409 and 'id="h-deliver"' in r.text and 'value="Le"' in r.text
    db.expire_all()
    assert db.get(Tasking, t.id).status == TaskingStatus.PENDING


def test_mark_unable_needs_a_reason(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    csrf = _seed.login(client, "hanoi")
    form = {"csrf_token": csrf, "version": t.version, "next": "/inbox"}
    r = client.post(f"/taskings/{t.id}/move", data={**form, "action": "mark_unable", "reason": " "})
    assert r.status_code == 422 and "Give a reason" in r.text
    # Beside the field, in the details that is open again.
    assert 'id="reason-error"' in r.text and 'id="h-cannot"' in r.text
    assert re.search(r"<details class=\"action\" open><summary>Unable to deliver", r.text)
    assert '<details class="action"><summary>Advise against' in r.text
    r = client.post(f"/taskings/{t.id}/move", data={**form, "action": "accept"})
    assert r.status_code == 403  # the desk's move
    r = client.post(
        f"/taskings/{t.id}/move",
        data={**form, "version": t.version + 1, "action": "advise_against", "reason": "Bad idea"},
    )
    assert r.status_code == 409 and "Someone else changed this tasking" in r.text
    assert ">Bad idea</textarea>" in r.text
    db.expire_all()
    assert db.get(Tasking, t.id).status == TaskingStatus.PENDING


# -- overdue board ------------------------------------------------------------------


def test_overdue_board_shows_days_late_and_sorts(client, db, world):
    past = TODAY - timedelta(days=20)
    _seed.demarche(
        db,
        world["desk"],
        world["posts"][:2],
        subject="LATE ONE",
        deadline=TODAY - timedelta(days=6),
        issued_on=past,
    )
    db.commit()
    _seed.login(client, "desk")
    page = client.get("/overdue").text
    assert "LATE ONE" in page and "UNSC: SUPPORT" not in page
    assert re.search(r'class="cell b2"[^>]*>6<', page)
    region = client.get("/overdue?sort=region").text
    assert region.index(">HANOI<") < region.index(">SANJOSE<")  # EAP before WHA
    _seed.login(client, "hanoi")
    assert ">SANJOSE<" not in client.get("/overdue").text


def test_overdue_board_shows_a_flash_not_acknowledged_in_time_as_zero(client, db, world):
    """Urgent and unacknowledged past the window is overdue before its due date: a 0
    cell. The window's cut-off and today are written into the board's SQL; this checks
    both still select the right taskings on each database."""
    first, second = world["posts"][:2]
    flash = _seed.demarche(db, world["desk"], [first, second], subject="FLASH ONE")
    flash.precedence = Precedence.FLASH
    for t in db.scalars(select(Tasking).where(Tasking.demarche_id == flash.id)):
        if t.post_id == first.id:
            t.created_at = utcnow() - timedelta(hours=72)  # the other is fresh
    db.commit()
    _seed.login(client, "desk")
    page = client.get("/overdue").text
    assert "FLASH ONE" in page
    row = re.search(rf'<tr><th scope="row">{first.code}</th>(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'class="cell b0"[^>]*>0<', row)
    assert f'<th scope="row">{second.code}</th>' not in page


def test_overdue_board_cells_line_up_with_their_demarches(client, db, world):
    """A post late on one demarche of two has one shaded cell, under that demarche,
    and an empty one under the other (the page writes its cells without spacing)."""
    past = TODAY - timedelta(days=30)
    first, second = world["posts"][:2]
    for subject, posts, late in (("LATE A", [first, second], 6), ("LATE B", [first], 20)):
        _seed.demarche(
            db,
            world["desk"],
            posts,
            subject=subject,
            deadline=TODAY - timedelta(days=late),
            issued_on=past,
        )
    db.commit()
    _seed.login(client, "desk")
    page = client.get("/overdue").text
    headers = re.findall(r'<th scope="col" class="col"><a [^>]*>([^<]+)</a>', page)
    row = re.search(rf'<tr><th scope="row">{second.code}</th>(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r'<td class="cell[^"]*"[^>]*>(\d*)', row)
    assert dict(zip(headers, cells, strict=True)) == {"LATE A": "6", "LATE B": ""}


# -- writing a demarche by hand -------------------------------------------------------


def test_new_demarche_expands_regions_and_collectives(client, db, world):
    csrf = _seed.login(client, "desk")
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


def test_new_demarche_errors_keep_what_was_typed(client, world):
    csrf = _seed.login(client, "desk")
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


def test_new_demarche_is_for_the_desk(client, world):
    _seed.login(client, "viewer")
    assert client.get("/demarches/new").status_code == 403


# -- query counts: a fixed bound per page, whatever the number of rows ------------------


def _grow(db: Session, desk, n_posts: int, prefix: str):
    posts = [_seed.post(db, f"{prefix}{i:02d}", Region.AF) for i in range(n_posts)]
    past = TODAY - timedelta(days=30)
    _seed.demarche(db, desk, posts, subject=f"{prefix} OPEN")
    _seed.demarche(
        db,
        desk,
        posts,
        subject=f"{prefix} LATE",
        deadline=TODAY - timedelta(days=3),
        issued_on=past,
    )
    db.commit()
    return posts


def _counts(client, db, paths: list[str]) -> dict[str, int]:
    out = {}
    for path in paths:
        # A real request starts with an empty identity map; the test's session must too.
        db.expunge_all()
        with count_queries(db) as q:
            r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        out[path] = q.count
    return out


def test_query_counts_do_not_grow_with_rows(client, db, world):
    desk = world["desk"]
    small = _grow(db, desk, 3, "S")
    _seed.user(db, "s00", Role.POST_OFFICER, Classification.SECRET, small[0].code)
    db.commit()
    csrf = _seed.login(client, "desk")
    assert csrf
    open_small = db.scalar(select(Demarche.id).where(Demarche.subject == "S OPEN"))
    pages = ["/", "/overdue", "/demarches/{}", "/demarches/new", "/demarches/{}/amend"]
    before = _counts(client, db, [p.format(open_small) for p in pages])

    big = _grow(db, desk, 30, "B")
    open_big = db.scalar(select(Demarche.id).where(Demarche.subject == "B OPEN"))
    after = _counts(client, db, [p.format(open_big) for p in pages])
    assert list(before.values()) == list(after.values()), (before, after)
    # The signed-in session costs nothing: the worker remembers it from the sign-in's
    # first page (app/auth/credentials.py). Then one query per table the page shows.
    # The demarche page reads the demarche with its author and texts in one row, tallies
    # its taskings, reads a page of them (each with its latest response and event), the
    # chart, a page of its timeline (with the count) and its revisions; the overdue
    # board reads the open demarches, their late taskings a cell each, then those posts.
    # The amendment form reads the demarche with its texts, then its targets.
    assert list(before.values()) == [6, 3, 6, 3, 2], before

    # A post officer with many taskings in the inbox.
    _seed.user(db, "b00", Role.POST_OFFICER, Classification.SECRET, big[0].code)
    db.commit()
    client.cookies.clear()
    _seed.login(client, "s00")
    inbox_small = _counts(client, db, ["/inbox"])["/inbox"]
    for i in range(28):
        _seed.demarche(db, desk, [small[0]], subject=f"MORE {i}", secret_point=False)
    db.commit()
    inbox_big = _counts(client, db, ["/inbox"])["/inbox"]
    assert inbox_small == inbox_big, (inbox_small, inbox_big)
    # Count, the page of taskings joined to their demarches, and their deliveries; the
    # officer's post comes with the signed-in session (app/auth/service.py). The talking
    # points the delivery form lists are on each tasking's own page.
    assert inbox_small == 3


def test_tasking_page_query_count_is_fixed(client, db, world):
    """A tasking's page costs the same whatever its demarche's points and its deliveries."""
    few = tasking_of(db, world["demarche"], "HANOI")
    many = tasking_of(
        db,
        _seed.demarche(db, world["desk"], world["posts"][:1], subject="MANY", extra_points=20),
        "HANOI",
    )
    db.commit()
    csrf = _seed.login(client, "hanoi")
    pages = [f"/inbox/{few.id}", f"/inbox/{many.id}"]
    # The tasking with its post, demarche, deliveries and responses joined, then the
    # talking points the delivery form lists.
    assert list(_counts(client, db, pages).values()) == [2, 2]
    for tasking_id, times in ((few.id, 1), (many.id, 6)):
        for _ in range(times):
            version = db.scalar(select(Tasking.version).where(Tasking.id == tasking_id))
            r = client.post(f"/inbox/{tasking_id}/deliver", data=delivery_form(csrf, version))
            assert r.status_code == 200, r.text[:500]
    # Delivered (once, and six times): another delivery may still be logged.
    assert list(_counts(client, db, pages).values()) == [2, 2]


# -- importing a cable ------------------------------------------------------------------

CABLE = Path("/work/shared/cables/07STATE166909.txt")


@pytest.mark.skipif(not CABLE.exists(), reason="the example cable is not in /work/shared")
def test_import_an_instruction_shows_the_draft_beside_the_text(client, db, world):
    csrf = _seed.login(client, "desk")
    page = client.get("/cables/import")
    assert page.status_code == 200 and "Unmatched replies" in page.text
    r = client.post(
        "/cables/import/instruction", data={"csrf_token": csrf, "text": CABLE.read_text()}
    )
    assert r.status_code == 200, r.text[:2000]
    assert "As parsed" in r.text and "Original text" in r.text and "RICE" in r.text
    assert "Open the draft" in r.text


def test_import_refuses_what_is_not_a_cable(client, world):
    csrf = _seed.login(client, "desk")
    r = client.post("/cables/import/instruction", data={"csrf_token": csrf, "text": "hello"})
    assert r.status_code == 422 and "does not look like a cable" in r.text
    assert ">hello</textarea>" in r.text
