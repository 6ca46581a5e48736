"""The inbox and each tasking's page through TestClient: the post's forms and moves."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from app.classification import Classification
from app.demarches.models import Demarche
from app.taskings.models import Response, Tasking, TaskingStatus
from tests.factories import delivery_form, login, make_demarche, tasking_of

TODAY = date.today()


def test_inbox_is_for_post_officers(client, page_world):
    login(client, "desk")
    r = client.get("/inbox")
    assert r.status_code == 403 and "for post officers" in r.text


def test_inbox_lists_summaries_and_links_not_forms(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    login(client, "hanoi")
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


def test_inbox_card_offers_the_response_once_delivered(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
    r = client.post(f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version))
    assert r.status_code == 200  # followed to the inbox
    card = r.text[r.text.index(f'id="tasking-{t.id}"') :]
    assert "Delivered 1 time; last to Le Van A on" in card
    assert f'href="/inbox/{t.id}#respond"' in card and "Log another delivery</a>" in card
    assert "Acknowledge</button>" not in card and "#cannot" not in card


def test_tasking_page_carries_the_forms_for_its_post(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "HANOI")
    login(client, "hanoi")
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


def test_tasking_page_is_for_its_own_post_only(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "HANOI")
    secret = make_demarche(
        db, page_world["desk"], page_world["posts"][:1], classification=Classification.SECRET
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
        login(client, who)
        r = client.get(path)
        assert r.status_code == status and words in r.text, (who, path, r.status_code)
        assert "UNSC: SUPPORT" not in r.text and 'name="recipient_name"' not in r.text


def test_tasking_page_shows_deliveries_and_what_changed(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "HANOI")
    csrf = login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/deliver",
        data=delivery_form(csrf, t.version, points=["1", "2"], notes="Left a non-paper."),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    client.cookies.clear()
    desk_csrf = login(client, "desk")
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
    login(client, "hanoi")
    page = client.get(f"/inbox/{t.id}").text
    assert "meeting with Le Van A, Director-General (MFA International Organizations)" in page
    assert "Talking points delivered: 1, 2." in page and "Left a non-paper." in page
    assert "Amended since you last acted</strong>: deadline changed." in page
    assert "Log another delivery" in page and f'action="/inbox/{t.id}/respond"' in page
    assert f'action="/taskings/{t.id}/move"' not in page  # no longer from delivered
    assert page.index('id="h-respond"') < page.index('id="h-deliver"')  # the next step first


def test_delivery_validation_keeps_what_was_typed(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
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


def test_post_delivers_and_reports_then_another_post_cannot_see_it(client, db, page_world):
    d = page_world["demarche"]
    t = tasking_of(db, d, "HANOI")
    csrf = login(client, "hanoi")
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
    login(client, "sanjose")
    assert client.get(f"/inbox/{t.id}").status_code == 404
    page = client.get(f"/demarches/{d.id}").text
    assert "HANOI" not in page and "leans supportive: 0" in page
    client.cookies.clear()
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert "leans supportive: 1" in page and "reported" in page and "Accept" in page
    # The timeline reads each event's position out of its record.
    assert "Position: leans supportive" in page


def test_acknowledge_from_the_inbox_and_from_the_tasking_page(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
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


def test_a_desk_move_refused_without_next_is_answered_on_the_demarche_page(client, db, page_world):
    """The desk has no tasking page: a refused move it posts without a next (a crafted
    or old form) shows the real reason on the demarche page, not the inbox's 403."""
    d = page_world["demarche"]
    t = tasking_of(db, d, "HANOI")  # pending: the desk cannot accept it yet
    csrf = login(client, "desk")
    r = client.post(
        f"/taskings/{t.id}/move",
        data={"csrf_token": csrf, "version": t.version, "action": "accept", "reason": ""},
        follow_redirects=False,
    )
    assert r.status_code == 409, r.text
    assert d.subject in r.text
    assert "it is for post officers" not in r.text


def test_stale_tasking_form_is_refused(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/acknowledge",
        data={"csrf_token": csrf, "version": t.version + 5, "officer": "Minh"},
    )
    assert r.status_code == 412 and "Someone else changed this tasking" in r.text
    assert 'id="ack-officer" name="officer" type="text" value="Minh"' in r.text
    # The page offers the current version, so sending the form again goes through.
    assert f'name="version" value="{t.version}"' in r.text
    r = client.post(
        f"/inbox/{t.id}/deliver", data=delivery_form(csrf, t.version - 1, recipient_name="Le")
    )
    assert r.status_code == 412 and 'id="h-deliver"' in r.text and 'value="Le"' in r.text
    db.expire_all()
    assert db.get(Tasking, t.id).status == TaskingStatus.PENDING


def test_mark_unable_needs_a_reason(client, db, page_world):
    t = tasking_of(db, page_world["demarche"], "HANOI")
    csrf = login(client, "hanoi")
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
    assert r.status_code == 412 and "Someone else changed this tasking" in r.text
    assert ">Bad idea</textarea>" in r.text
    db.expire_all()
    assert db.get(Tasking, t.id).status == TaskingStatus.PENDING
