"""A post officer's whole job in Chromium, with no API call: Hanoi signs in and lands on
its inbox, where the IMMEDIATE instruction stands first and marked; acknowledges the
routine one, delivers it from its page (a day that has not come yet at post is refused
beside the field) and reports the response; finds it in the post's finished work; then
imports its reply cable to the IMMEDIATE one and confirms it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.cables import drafting, ingest
from app.classification import Classification
from app.clock import local_today
from app.demarches import service as demarches
from app.demarches.models import Objective
from app.posts.models import Region
from tests.cables.samples import REPORT, instruction
from tests.factories import make_demarche, make_post, make_signin_user
from tests.pages.conftest import Visitor

ROUTINE = "EU: FISHERIES ACCESS TALKS"
CABLED = "DEMARCHE ON A COUNCIL VOTE"
ZONE = "Asia/Ho_Chi_Minh"


def seed_world(engine) -> None:
    with Session(engine) as db:
        hanoi = make_post(
            db,
            "HANOI",
            name="AMEMBASSY HANOI",
            routing_indicator="RUEHHI",
            region=Region.EAP,
            country="Vietnam",
            time_zone=ZONE,
        )
        desk: User = make_signin_user(db, "desk")
        make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI")
        make_demarche(
            db, desk, [hanoi], subject=ROUTINE, deadline=date.today() + timedelta(days=12)
        )
        # The instruction cable of 14 December 2007 (IMMEDIATE), drafted and issued today.
        cable = ingest.ingest(db, instruction(), actor=desk).cable
        d = drafting.draft_demarche(db, cable, actor=desk).demarche
        d.deadline = date.today() + timedelta(days=5)
        # The desk completes what the cable leaves out before issuing (the check asks).
        if not d.objectives:
            d.objectives.append(
                Objective(
                    position=1,
                    text="Secure a yes vote at the Council.",
                    classification=Classification.UNCLASSIFIED,
                )
            )
        d.delivery_level = d.delivery_level or "highest appropriate level"
        db.flush()
        demarches.issue(db, d, actor=desk)
        db.commit()


def test_hanoi_does_its_whole_job_in_the_pages(server, browser):
    base, backend = server
    hanoi = Visitor(browser, base, backend, "hanoi")
    p = hanoi.page
    # -- signed in, Hanoi lands on its inbox; the IMMEDIATE instruction comes first -----
    assert p.url == f"{base}/inbox"
    cards = p.locator("article.tasking")
    assert cards.count() == 2
    assert CABLED in cards.nth(0).inner_text() and "IMMEDIATE" in cards.nth(0).inner_text()
    assert cards.nth(0).locator(".precedence").is_visible()
    assert cards.nth(1).locator(".precedence").count() == 0
    assert f"({ZONE})" in cards.nth(1).inner_text()
    assert p.get_by_role("navigation", name="Main").get_by_role("link", name="Import a reply")
    hanoi.shoot("post-inbox")

    # -- acknowledges the routine one, then delivers from its page ---------------------
    card = p.locator("article", has_text=ROUTINE)
    card.get_by_role("button", name="Acknowledge").click()
    p.wait_for_url("**/inbox?done=acknowledge&tasking=*")
    p.locator("article", has_text=ROUTINE).get_by_role("link", name="Log a delivery").click()
    p.wait_for_url("**/inbox/*#deliver")
    tasking_url = p.url.split("#")[0]
    assert "We ask you to vote yes." in p.get_by_role("region", name="What to deliver").inner_text()
    assert "1 talking point above your clearance is withheld" in hanoi.text()
    acked = p.locator("dt:text('Acknowledged') + dd").inner_text()
    assert acked.endswith(f"({ZONE})"), acked
    today_there = local_today(ZONE)
    assert p.get_by_label("Delivered on").input_value() == today_there.isoformat()
    hanoi.shoot("post-tasking")
    form = p.locator("form", has=p.get_by_role("button", name="Log delivery"))
    form.get_by_label("Delivered on").fill((today_there + timedelta(days=1)).isoformat())
    form.get_by_label("Recipient name").fill("Le Hoai Trung")
    form.get_by_label("Recipient title").fill("Vice Minister for Foreign Affairs")
    form.get_by_label("Level").select_option("deputy_minister")
    form.get_by_label("Method").select_option("meeting")
    form.get_by_label("1. We ask you to vote yes.").check()
    form.get_by_role("button", name="Log delivery").click()
    p.wait_for_url("**/inbox/*/deliver")
    error = p.locator("#delivered_on-error")
    assert error.is_visible() and "has not come yet at post" in error.inner_text()
    assert p.get_by_label("Recipient name").input_value() == "Le Hoai Trung"
    hanoi.shoot("post-tasking-future-date")
    p.get_by_label("Delivered on").fill(today_there.isoformat())
    p.get_by_role("button", name="Log delivery").click()
    p.wait_for_url("**/inbox?done=deliver&tasking=*")
    assert "Delivery logged" in p.get_by_role("status").inner_text()

    # -- ... and reports the response ---------------------------------------------------
    hanoi.go(tasking_url.removeprefix(base))
    p.get_by_label("Position").select_option("leans_supportive")
    p.get_by_label("What they said").fill("MFA will recommend a yes vote to the minister.")
    p.get_by_role("button", name="Report response").click()
    p.wait_for_url("**/inbox?done=respond&tasking=*")
    assert ROUTINE not in p.locator("main").inner_text()

    # -- the post's finished work holds it, and finds it by its subject -----------------
    p.get_by_role("link", name="Your post's finished work").click()
    p.wait_for_url("**/inbox/history")
    assert ROUTINE in p.locator("table").inner_text()
    p.get_by_label("Search the subjects").fill("fisheries")
    p.locator("#main").get_by_role("button", name="Search").click()
    p.wait_for_url("**/inbox/history?q=fisheries")
    assert "1 tasking whose subject holds" in hanoi.text()
    assert "leans supportive" in p.locator("table").inner_text()
    hanoi.shoot("post-history")

    # -- imports its reply to the cabled instruction, from the menu ---------------------
    p.get_by_role("navigation", name="Main").get_by_role("link", name="Import a reply").click()
    p.wait_for_url("**/cables/import/reply")
    assert p.locator("#instr-text").count() == 0  # the reply form only
    hanoi.shoot("post-reply-import")
    p.get_by_label("Paste the reply cable, header to signature").fill(instruction(serial="170001"))
    p.get_by_role("button", name="Match reply").click()
    alert = p.get_by_role("alert")
    assert "reads as an instruction from headquarters" in alert.inner_text()
    hanoi.shoot("post-reply-refused")
    p.get_by_label("Paste the reply cable, header to signature").fill(REPORT.format(ref="166909"))
    p.get_by_role("button", name="Match reply").click()
    p.wait_for_url("**/cables/replies/*")
    assert CABLED in p.get_by_role("region", name="Match").inner_text()
    assert p.get_by_label("Delivered on").input_value() == "2007-12-15"
    hanoi.shoot("post-reply")
    p.get_by_role("button", name="Confirm and log on the tasking").click()
    p.wait_for_url("**/demarches/*?done=moved")
    hanoi.go("/inbox/history")
    assert CABLED in p.locator("table").inner_text()
    hanoi.close()
