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
from app.demarches.models import Demarche, DemarcheStatus
from app.posts.models import Region
from app.taskings.models import Response, Tasking, TaskingStatus
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
    assert r.status_code == 422 and "reason" in r.text
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
    assert r.status_code == 422 and "TOKYO" in r.text  # not in the registry yet: nothing saved
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


# -- the inbox ----------------------------------------------------------------------


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


def test_inbox_offers_only_the_allowed_actions(client, world):
    _seed.login(client, "hanoi")
    page = client.get("/inbox").text
    assert "UNSC: SUPPORT THE RENEWAL" in page
    assert "Acknowledge</button>" in page and "Log delivery" in page
    assert "Report response" not in page  # not from pending
    assert "above your clearance" in page  # the SECRET point's checkbox


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
    assert 'id="recipient_name-error"' in r.text and "This field is required." in r.text
    assert 'id="level-error"' in r.text and "Choose one of the options." in r.text
    assert 'value="Vice Minister &lt;b&gt;X&lt;/b&gt;"' in r.text  # kept, and escaped
    assert 'value="meeting" selected' in r.text
    assert re.search(r'name="points" value="1"\s*checked', r.text)
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
        },
    )
    assert bad.status_code == 422 and "They will think about it." in bad.text
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
    db.expire_all()
    assert db.get(Tasking, t.id).status == TaskingStatus.REPORTED
    assert (
        db.scalar(select(Response.position).where(Response.tasking_id == t.id))
        == "leans_supportive"
    )

    client.cookies.clear()
    _seed.login(client, "sanjose")
    page = client.get(f"/demarches/{d.id}").text
    assert "HANOI" not in page and "leans supportive: 0" in page
    client.cookies.clear()
    _seed.login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert "leans supportive: 1" in page and "reported" in page and "Accept" in page
    # The timeline reads each event's position out of its record.
    assert "Position: leans supportive" in page


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
    client.cookies.clear()
    _seed.login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert "Reason: The minister is travelling until March." in page
    row = next(tr for tr in page.split("<tr>") if "<strong>HANOI</strong>" in tr)
    assert "mark unable by" in row


def test_stale_tasking_form_is_refused(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(
        f"/inbox/{t.id}/acknowledge",
        data={"csrf_token": csrf, "version": t.version + 5, "officer": "Minh"},
    )
    assert r.status_code == 409 and "Someone else changed this tasking" in r.text
    assert 'value="Minh"' in r.text


def test_mark_unable_needs_a_reason(client, db, world):
    t = tasking_of(db, world["demarche"], "HANOI")
    csrf = _seed.login(client, "hanoi")
    r = client.post(
        f"/taskings/{t.id}/move",
        data={
            "csrf_token": csrf,
            "version": t.version,
            "action": "mark_unable",
            "reason": " ",
            "next": "/inbox",
        },
    )
    assert r.status_code == 422 and "Give a reason" in r.text
    r = client.post(
        f"/taskings/{t.id}/move",
        data={"csrf_token": csrf, "version": t.version, "action": "accept", "next": "/inbox"},
    )
    assert r.status_code == 403  # the desk's move


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
    before = _counts(client, db, ["/", "/overdue", f"/demarches/{open_small}", "/demarches/new"])

    big = _grow(db, desk, 30, "B")
    open_big = db.scalar(select(Demarche.id).where(Demarche.subject == "B OPEN"))
    after = _counts(client, db, ["/", "/overdue", f"/demarches/{open_big}", "/demarches/new"])
    assert list(before.values()) == list(after.values()), (before, after)
    # The signed-in session costs nothing: the worker remembers it from the sign-in's
    # first page (app/auth/credentials.py). Then one query per table the page shows.
    # The demarche page counts and pages its taskings and timeline in SQL (3 more
    # statements than loading them whole, and no more rows than a page); the overdue
    # board finds the open demarches before their late taskings (one more).
    assert list(before.values()) == [6, 2, 16, 3], before

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
    # The officer's post comes with the signed-in session (app/auth/service.py).
    assert inbox_small == 5


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
