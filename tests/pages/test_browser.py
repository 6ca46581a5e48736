"""The pages in a real browser: Debian's Chromium driven by Playwright, against the real app.

The app runs under uvicorn in a thread on a free loopback port, on a freshly
migrated database (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set).
Screenshots of each page, desktop and phone width, go to tests/screenshots/.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.auth.models import Role
from app.classification import Classification
from app.posts.models import Region
from tests.cables._corpus import CABLES
from tests.factories import make_collective, make_demarche, make_region_post, make_signin_user
from tests.pages.conftest import Visitor

SUBJECT = "UNSC: URGE SUPPORT FOR THE MAROVIA RESOLUTION"


def seed_world(engine) -> None:
    with Session(engine) as db:
        hanoi = make_region_post(db, "HANOI", Region.EAP)
        sanjose = make_region_post(db, "SANJOSE", Region.WHA)
        paris = make_region_post(db, "PARIS", Region.EUR)
        london = make_region_post(db, "LONDON", Region.EUR)
        make_collective(db, "UNSC", "UN SECURITY COUNCIL COLLECTIVE", [hanoi, sanjose, paris])
        desk = make_signin_user(db, "desk")
        make_signin_user(db, "hanoi", Role.POST_OFFICER, Classification.CONFIDENTIAL, "HANOI")
        make_signin_user(db, "sanjose", Role.POST_OFFICER, Classification.CONFIDENTIAL, "SANJOSE")
        today = date.today()
        # Issued three weeks ago and due last week: London and Paris are late.
        make_demarche(
            db,
            desk,
            [london, paris],
            subject="EU: FISHERIES ACCESS TALKS",
            classification=Classification.SBU,
            deadline=today - timedelta(days=9),
            issued_on=today - timedelta(days=21),
            tags=("EFIS",),
            secret_point=False,
        )
        db.commit()


def test_desk_to_post_and_back(server, browser):
    base, backend = server
    # -- the desk writes a demarche by hand; a mistake keeps what was typed ----------
    desk = Visitor(browser, base, backend, "desk")
    desk.shoot("home")
    # An error page keeps the signed-in header: it renders after the request's session
    # is closed, so nothing in it may be left to load from the database.
    refused = desk.page.goto(f"{base}/inbox")
    assert refused is not None and refused.status == 403
    assert "for post officers" in desk.text() and "Sign out" in desk.text()
    desk.go("/demarches/new")
    p = desk.page
    p.fill("#subject", "no")
    p.fill("#deadline", (date.today() + timedelta(days=8)).isoformat())
    p.fill("#tags", "PREL UNSC")
    p.fill("#delivery_level", "highest appropriate level")
    p.fill("#objectives", "Secure a yes vote.\nLearn the instructions of the PR.")
    p.fill(
        "#talking_points",
        "(U) We urge you to vote for the resolution.\n\n(C) We can accept a six-month review.",
    )
    p.select_option("#classification", "CONFIDENTIAL")
    p.select_option("#posts", ["HANOI", "SANJOSE", "PARIS"])
    p.get_by_role("button", name="Save draft").click()
    assert p.locator("#subject-error").is_visible()
    assert p.input_value("#objectives").startswith("Secure a yes vote.")
    assert p.input_value("#tags") == "PREL UNSC"
    desk.shoot("new-demarche-error")
    p.fill("#subject", SUBJECT)
    p.get_by_role("button", name="Save draft").click()
    p.wait_for_url("**/demarches/*?done=created")
    p.get_by_role("button", name="Issue to 3 targets").click()
    p.wait_for_url("**?done=issued")
    assert "3 pending" in desk.text()
    demarche_url = p.url.split("?")[0]

    # -- Hanoi sees it in the inbox, opens it, logs a delivery (after one mistake) -------
    hanoi = Visitor(browser, base, backend, "hanoi")
    missing = hanoi.page.goto(f"{base}/demarches/999999")
    assert missing is not None and missing.status == 404
    assert "No demarche" in hanoi.text() and "post officer · HANOI" in hanoi.text()
    hanoi.go("/inbox")
    assert SUBJECT in hanoi.text()
    card = hanoi.page.locator("article", has_text=SUBJECT)
    assert card.locator("form textarea, form select, input[type=checkbox]").count() == 0
    hanoi.shoot("inbox")
    card.get_by_role("link", name="Log a delivery").click()
    hanoi.page.wait_for_url("**/inbox/*#deliver")
    tasking_url = hanoi.page.url.split("#")[0]
    p = hanoi.page
    assert p.get_by_role("heading", level=1, name=SUBJECT).is_visible()
    assert (
        p.get_by_role("navigation", name="Breadcrumb").get_by_role("link").inner_text() == "Inbox"
    )
    hanoi.shoot("tasking")
    form = p.locator("form", has=p.get_by_role("button", name="Log delivery"))
    form.get_by_label("Recipient title").fill("Vice Minister for Foreign Affairs")
    form.get_by_label("Level").select_option("minister")
    form.get_by_label("Method").select_option("meeting")
    form.get_by_label("1. We urge you").check()
    form.get_by_role("button", name="Log delivery").click()
    p.wait_for_url("**/inbox/*/deliver")  # the tasking's page again, as the answer to the POST
    assert p.get_by_role("alert").first.inner_text().startswith("Nothing was saved")
    assert p.locator("#recipient_name-error").is_visible()
    assert p.get_by_label("Recipient name").get_attribute("aria-invalid") == "true"
    assert p.get_by_label("Recipient title").input_value() == "Vice Minister for Foreign Affairs"
    assert p.get_by_label("1. We urge you").is_checked()
    hanoi.shoot("tasking-validation-error")
    p.get_by_label("Recipient name").fill("Le Hoai Trung")
    p.get_by_role("button", name="Log delivery").click()
    p.wait_for_url("**/inbox?done=deliver&tasking=*")
    notice = p.get_by_role("status")
    assert "Delivery logged" in notice.inner_text()
    # -- ... and, from the notice, goes back to report the response ---------------------
    notice.get_by_role("link", name="Open the tasking").click()
    p.wait_for_url(tasking_url)
    assert "Le Hoai Trung, Vice Minister for Foreign Affairs" in hanoi.text()
    p.get_by_label("Position").select_option("leans_supportive")
    p.get_by_label("What they said").fill("MFA will recommend a yes vote to the minister.")
    p.get_by_role("button", name="Report response").click()
    p.wait_for_url("**/inbox?done=respond&tasking=*")
    assert SUBJECT not in p.locator("main").inner_text()  # reported: off the inbox
    hanoi.go(tasking_url.removeprefix(base))
    assert "Nothing for your post to do now" in hanoi.text()
    hanoi.shoot("tasking-reported")
    hanoi.close()

    # -- San Jose acknowledges from its inbox, and cannot see Hanoi's report --------------
    sanjose = Visitor(browser, base, backend, "sanjose")
    sanjose.go("/inbox")
    card = sanjose.page.locator("article", has_text=SUBJECT)
    card.get_by_role("button", name="Acknowledge").click()
    sanjose.page.wait_for_url("**/inbox?done=acknowledge&tasking=*")
    card = sanjose.page.locator("article", has_text=SUBJECT)
    assert "acknowledged" in card.inner_text()
    assert card.get_by_role("button", name="Acknowledge").count() == 0
    response = sanjose.page.goto(tasking_url)
    assert response is not None and response.status == 404
    sanjose.go(demarche_url.removeprefix(base))
    page = sanjose.text()
    assert "HANOI" not in page and "recommend a yes vote" not in page
    assert "leans supportive: 0" in page
    assert "1 talking point above your clearance is withheld" not in page  # C point is readable
    sanjose.shoot("demarche-post-view")
    sanjose.close()

    # -- refused writes answer their 403 page, though the write's session rolled back --
    csrf = desk.page.locator("input[name=csrf_token]").first.get_attribute("value")
    for token, words in (("forged", "This form has expired"), (csrf, "for post officers")):
        r = desk.page.request.post(
            f"{tasking_url}/deliver", form={"csrf_token": token or "", "version": "1"}
        )
        assert r.status == 403 and words in r.text(), (r.status, r.text()[:300])
        assert "Sign out" in r.text()

    # -- the desk sees the state change, the chart and the timeline ---------------------
    desk.go(demarche_url.removeprefix(base))
    row = desk.page.locator("tr", has_text="HANOI")
    assert "reported" in row.inner_text() and "leans supportive" in row.inner_text()
    assert "leans supportive: 1" in desk.text()
    assert desk.page.locator("svg[role=img]").is_visible()
    # The progress bar's widths are classes now (no style attribute under the CSP): the
    # reported share shows as a segment of its own, as wide as the stylesheet says.
    bar = desk.page.locator(".progress").first.bounding_box()
    segment = desk.page.locator(".progress .seg-reported").first.bounding_box()
    assert bar and segment and 0.2 < segment["width"] / bar["width"] < 0.45, (bar, segment)
    timeline = desk.page.locator("ol.timeline").inner_text()
    assert "report response" in timeline and "deliver" in timeline and "issue" in timeline
    desk.shoot("demarche-desk-view")

    # -- the overdue board shows the late posts, with numbers -------------------------
    desk.go("/overdue")
    board = desk.page.locator("table.heat")
    assert "EU: FISHERIES ACCESS TALKS" in board.inner_text()
    paris = board.locator("tr", has_text="PARIS").locator("td.cell").first
    assert paris.inner_text().strip().startswith("9")
    desk.shoot("overdue")
    desk.go("/?overdue=1")
    assert "EU: FISHERIES ACCESS TALKS" in desk.text() and SUBJECT not in desk.text()
    desk.go("/")
    desk.shoot("home-after")

    # -- import an instruction cable: the parsed draft beside the original ----------------
    # Only where the shared corpus is (tests/cables/_corpus.py finds it); the rest runs without.
    cable = CABLES / "07STATE166909.txt"
    if cable.exists():
        desk.go("/cables/import")
        desk.shoot("cable-import")
        desk.page.fill("#instr-text", cable.read_text())
        desk.page.get_by_role("button", name="Parse and draft").click()
        # The new draft's edit page, the cable's text beside the fields (tests/pages/
        # test_desk_draft_job.py walks the rest of the desk's job from here).
        desk.page.wait_for_url("**/edit?done=drafted")
        assert desk.page.get_by_role("heading", name="Source cable 07STATE166909").is_visible()
        desk.shoot("cable-draft")

    # -- the desk amends from its own page; a mistake keeps what was typed ---------------
    desk.go(demarche_url.removeprefix(base))
    assert desk.page.locator("input[name=remove]").count() == 0  # not on the demarche page
    desk.page.get_by_role("link", name="Amend", exact=True).click()
    desk.page.wait_for_url(f"{demarche_url}/amend")
    p = desk.page
    assert p.get_by_role("heading", name=f"Amend: {SUBJECT}").is_visible()
    p.fill("#amend-objectives", "Secure a yes vote.\nAsk for co-sponsorship.")
    p.get_by_label("PARIS (Country Paris, action)").check()
    p.get_by_role("button", name="Amend").click()  # no reason given
    assert p.locator("#reason-error").is_visible()
    assert p.input_value("#amend-objectives") == "Secure a yes vote.\nAsk for co-sponsorship."
    assert p.get_by_label("PARIS (Country Paris, action)").is_checked()
    assert not p.get_by_label("HANOI (Country Hanoi, action)").is_checked()
    desk.shoot("amend-error")
    p.get_by_label("Reason (shown to the posts)").fill("Paris recused itself; ask for co-sponsors.")
    p.get_by_role("button", name="Amend").click()
    p.wait_for_url(f"{demarche_url}?done=amended")
    assert "Amended: the posts will see what changed." in desk.text()
    assert "Ask for co-sponsorship." in p.get_by_role("region", name="Objectives").inner_text()
    assert "cancelled" in p.locator("tr", has_text="PARIS").inner_text()
    assert "reported" in p.locator("tr", has_text="HANOI").inner_text()
    assert "Paris recused itself" in p.get_by_role("region", name="Revisions").inner_text()
    desk.close()
