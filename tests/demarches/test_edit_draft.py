"""Editing a draft from its page: every part of it, over the API's own update command;
errors all at once, in the officer's words, beside their fields, with what was typed."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import Role
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheStatus, PointUse
from app.vocabulary import Precedence, TaskingRole
from tests.factories import login, make_demarche, make_region_post, make_signin_user

TODAY = date.today()


def _draft(db, page_world, **kw) -> Demarche:
    kw.setdefault("secret_point", False)
    return make_demarche(db, page_world["desk"], page_world["posts"], issue=False, **kw)


def _sent(csrf: str, d: Demarche, **over) -> dict:
    """The whole edit form, filled in as the desk means it."""
    body = {
        "csrf_token": csrf,
        "version": d.version,
        "subject": "KOSOVO: URGE SUPPORT FOR THE TROIKA REPORT",
        "summary": "Urge support for the report.",
        "summary_mark": "UNCLASSIFIED",
        "classification": "CONFIDENTIAL",
        "precedence": "IMMEDIATE",
        "deadline": (TODAY + timedelta(days=6)).isoformat(),
        "delivery_level": "Foreign Minister",
        "tags": "PREL UNMIK",
        "objectives": "(U) Convey our assessment.\n(C) Learn their vote.",
        "key_dates": f"{(TODAY + timedelta(days=9)).isoformat()} (U) Council session",
        "point_text": ["We support the report.", "(ignored mark) Keep this private.", ""],
        "point_mark": ["UNCLASSIFIED", "CONFIDENTIAL", ""],
        "point_use": ["public", "private", "private"],
        "target_post": ["HANOI", "SANJOSE", "PARIS"],
        "target_role": ["action", "info", "action"],
        "target_due": [(TODAY + timedelta(days=4)).isoformat(), "", ""],
        "target_countries": ["Country Hanoi, Laos", "", ""],
        "target_remove": ["2"],
        "add_posts": ["LONDON"],
        "add_role": "action",
    }
    body.update(over)
    return body


def test_the_draft_page_links_to_edit_and_says_what_blocks_issuing(client, db, page_world):
    d = _draft(db, page_world, deadline=TODAY - timedelta(days=3))
    login(client, "desk")
    page = client.get(f"/demarches/{d.id}").text
    assert f'href="/demarches/{d.id}/edit"' in page and "Edit draft" in page
    assert "Before this draft can be issued" in page and "is in the past" in page
    form = client.get(f"/demarches/{d.id}/edit")
    assert form.status_code == 200
    assert f'value="{d.subject}"' in form.text and "We ask you to vote yes.</textarea>" in form.text
    assert 'name="target_post" value="HANOI"' in form.text and "is in the past" in form.text


def test_the_desk_edits_every_part_of_a_draft_then_issues_it(client, db, page_world):
    make_region_post(db, "LONDON")
    d = _draft(db, page_world, deadline=TODAY - timedelta(days=3))
    csrf = login(client, "desk")
    r = client.post(f"/demarches/{d.id}/edit", data=_sent(csrf, d), follow_redirects=False)
    assert r.status_code == 303, r.text[:3000]
    assert r.headers["location"] == f"/demarches/{d.id}?done=saved"
    db.expire_all()
    d = db.get(Demarche, d.id)
    assert d.subject == "KOSOVO: URGE SUPPORT FOR THE TROIKA REPORT"
    assert (d.summary, d.summary_classification) == (
        "Urge support for the report.",
        Classification.UNCLASSIFIED,
    )
    assert d.precedence == Precedence.IMMEDIATE and d.delivery_level == "Foreign Minister"
    assert d.deadline == TODAY + timedelta(days=6) and d.tags == ["PREL", "UNMIK"]
    assert [(o.text, o.classification) for o in d.objectives] == [
        ("Convey our assessment.", Classification.UNCLASSIFIED),
        ("Learn their vote.", Classification.CONFIDENTIAL),
    ]
    assert [(k.what, k.classification) for k in d.key_dates] == [
        ("Council session", Classification.UNCLASSIFIED)
    ]
    points = sorted(d.talking_points, key=lambda p: p.position)
    assert [(p.text, p.classification, p.use) for p in points] == [
        ("We support the report.", Classification.UNCLASSIFIED, PointUse.PUBLIC),
        ("(ignored mark) Keep this private.", Classification.CONFIDENTIAL, PointUse.PRIVATE),
    ]
    targets = sorted((t.post.code, t.country, t.role, t.due_date) for t in d.targets)
    due = TODAY + timedelta(days=4)
    assert targets == [
        ("HANOI", "Country Hanoi", TaskingRole.ACTION, due),
        ("HANOI", "Laos", TaskingRole.ACTION, due),
        ("LONDON", "Country London", TaskingRole.ACTION, None),
        ("SANJOSE", "Country Sanjose", TaskingRole.INFO, None),
    ]
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.entity_id == d.id, AuditEvent.action == "update")
    ).one()
    assert event.before["subject"] != event.after["subject"]
    # The draft's page now offers the issue with nothing in the way; issuing works.
    page = client.get(f"/demarches/{d.id}?done=saved").text
    assert "Draft saved" in page and "Before this draft can be issued" not in page
    r = client.post(
        f"/demarches/{d.id}/issue",
        data={"csrf_token": csrf, "version": d.version},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:2000]
    db.expire_all()
    assert db.get(Demarche, d.id).status == DemarcheStatus.ISSUED


def test_every_error_is_shown_at_once_in_plain_words_and_nothing_is_saved(client, db, page_world):
    d = _draft(db, page_world)
    before = d.version
    csrf = login(client, "desk")
    sent = _sent(
        csrf,
        d,
        subject="no",
        deadline="17/12/2007",
        key_dates="next week the vote",
        precedence="SOON",
        add_posts=[],
    )
    r = client.post(f"/demarches/{d.id}/edit", data=sent)
    assert r.status_code == 422
    text = r.text
    assert 'id="subject-error"' in text
    assert "Give the demarche a subject of at least 3 characters." in text
    assert "String should" not in text and "Input should" not in text
    assert 'id="deadline-error"' in text and "Give the deadline as a date, YYYY-MM-DD." in text
    assert 'id="key_dates-error"' in text and 'id="precedence-error"' in text
    assert "please correct the 4 fields" in text
    # What was typed stays, rows and all.
    assert 'value="no"' in text and 'value="17/12/2007"' in text
    assert "(ignored mark) Keep this private.</textarea>" in text
    assert 'name="target_remove" value="2" checked' in text
    assert 'value="Country Hanoi, Laos"' in text
    db.expire_all()
    assert db.get(Demarche, d.id).version == before


def test_the_services_refusals_come_together_beside_their_fields(client, db, page_world):
    d = _draft(db, page_world)
    csrf = login(client, "desk")
    sent = _sent(
        csrf,
        d,
        classification="SBU",
        point_mark=["UNCLASSIFIED", "CONFIDENTIAL", ""],
        target_post=["HANOI", "SANJOSE", "NOWHERE"],
        target_remove=[],
        add_posts=[],
        objectives="(U) One objective.",
    )
    r = client.post(f"/demarches/{d.id}/edit", data=sent)
    assert r.status_code == 422, r.text[:2000]
    assert 'id="talking_points-error"' in r.text and "Point 2 is marked CONFIDENTIAL" in r.text
    assert 'id="targets-error"' in r.text and "Unknown post: NOWHERE" in r.text


def test_a_stale_form_and_an_issued_demarche_are_refused_with_what_was_typed(
    client, db, page_world
):
    d = _draft(db, page_world)
    csrf = login(client, "desk")
    r = client.post(f"/demarches/{d.id}/edit", data=_sent(csrf, d, version=d.version + 7))
    assert r.status_code == 412 and "Someone else changed this draft" in r.text
    assert 'value="KOSOVO: URGE SUPPORT FOR THE TROIKA REPORT"' in r.text
    issued = page_world["demarche"]
    assert client.get(f"/demarches/{issued.id}/edit").status_code == 409
    r = client.post(f"/demarches/{issued.id}/edit", data=_sent(csrf, issued))
    assert r.status_code == 409 and "only a draft can be edited" in r.text


def test_points_above_the_editors_clearance_stay_in_place(client, db, page_world):
    make_signin_user(db, "lowdesk", Role.DESK_OFFICER, Classification.CONFIDENTIAL)
    make_region_post(db, "LONDON")
    # Point 2 is SECRET (a row from before the rule of marks): the editor never sees it.
    d = make_demarche(db, page_world["desk"], page_world["posts"], issue=False)
    csrf = login(client, "lowdesk")
    form = client.get(f"/demarches/{d.id}/edit").text
    assert "Our red line" not in form
    assert "1 talking point above your clearance stays as it is, in place." in form
    sent = _sent(
        csrf,
        d,
        point_text=["We ask you to vote yes.", "A new third point."],
        point_mark=["UNCLASSIFIED", "UNCLASSIFIED"],
        point_use=["private", "private"],
    )
    r = client.post(f"/demarches/{d.id}/edit", data=sent, follow_redirects=False)
    assert r.status_code == 303, r.text[:3000]
    db.expire_all()
    points = sorted(db.get(Demarche, d.id).talking_points, key=lambda p: p.position)
    assert [p.text for p in points] == [
        "We ask you to vote yes.",
        "Our red line is the mandate.",
        "A new third point.",
    ]


def test_only_the_desk_edits_and_a_hidden_draft_is_a_404(client, db, page_world):
    d = _draft(db, page_world, classification=Classification.SECRET, subject="HIDDEN")
    login(client, "viewer")
    r = client.get(f"/demarches/{d.id}/edit")
    assert r.status_code == 404 and "HIDDEN" not in r.text
    shown = _draft(db, page_world, classification=Classification.CONFIDENTIAL)
    assert client.get(f"/demarches/{shown.id}/edit").status_code == 403


def test_a_bookmark_of_a_move_redirects_to_the_demarche(client, db, page_world):
    d = page_world["demarche"]
    login(client, "desk")
    for verb in ("issue", "cancel", "close"):
        r = client.get(f"/demarches/{d.id}/{verb}", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, f"/demarches/{d.id}")


def test_the_draft_list_says_what_each_draft_targets_and_never_days_past(client, db, page_world):
    d = _draft(db, page_world, deadline=date(2007, 12, 17), subject="KOSOVO DRAFT")
    login(client, "desk")
    page = client.get("/?status=draft").text
    row = page.split("KOSOVO DRAFT", 1)[1].split("</tr>", 1)[0]
    assert "3 action posts" in row and "no action posts" not in row
    assert "deadline passed: fix it before issuing" in row and "days past" not in row
    assert f'href="/demarches/{d.id}"' in page
    # The issued list keeps its progress bars and days late.
    assert "no action posts" not in client.get("/").text


def test_a_source_cable_the_editor_may_not_read_is_neither_removed_nor_swapped(
    client, db, page_world
):
    """The form shows a hidden source as blank; saving it as shown keeps the link."""
    from app.cables import ingest
    from tests.cables.samples import instruction

    secret = ingest.ingest(db, instruction("166910", "S E C R E T"), actor=page_world["desk"])
    d = _draft(db, page_world)
    d.source_cable_id = secret.cable.id
    db.commit()
    make_signin_user(db, "lowdesk", Role.DESK_OFFICER, Classification.CONFIDENTIAL)
    csrf = login(client, "lowdesk")
    form = client.get(f"/demarches/{d.id}/edit").text
    assert "07STATE166910" not in form
    r = client.post(
        f"/demarches/{d.id}/edit",
        data=_sent(csrf, d, source_cable="", target_remove=[], add_posts=[]),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:3000]
    db.expire_all()
    assert db.get(Demarche, d.id).source_cable_id == secret.cable.id
