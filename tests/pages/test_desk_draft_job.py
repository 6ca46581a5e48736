"""The desk officer's draft job in a real browser, with no API call: import the Kosovo
instruction through the import page, correct the draft beside the cable's text (its
deadline is long past, its targets need fixing), issue it; a reload of the import's
answer makes no second draft, and importing the cable again asks before drafting."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.cables._corpus import CABLES, SKIP_REASON
from tests.factories import make_collective, make_post, make_signin_user
from tests.pages.conftest import Visitor

CABLE = CABLES / "07STATE166909.txt"
SUBJECT = "DEMARCHE INSTRUCTION ON KOSOVO FINAL STATUS"

pytestmark = pytest.mark.skipif(not CABLE.is_file(), reason=SKIP_REASON)


def seed_world(engine) -> None:
    """The registry as the cable names it (as tests/cables/test_ingest.py builds it)."""
    with Session(engine) as db:

        def post(code, name, routing, country, city=None):
            return make_post(
                db,
                code,
                name=name,
                routing_indicator=routing,
                city=city or code.title(),
                country=country,
            )

        hanoi = post("HANOI", "AMEMBASSY HANOI", "RUEHHI", "Vietnam")
        post("OUAGADOUGOU", "AMEMBASSY OUAGADOUGOU", "RUEHOU", "Burkina Faso")
        post("SANJOSE", "AMEMBASSY SAN JOSE", "RUEHSJ", "Costa Rica", city="San Jose")
        post("TRIPOLI", "AMEMBASSY TRIPOLI", "RUEHTRO", "Libya")
        beijing = post("BEIJING", "AMEMBASSY BEIJING", "RUEHBJ", "China")
        moscow = post("MOSCOW", "AMEMBASSY MOSCOW", "RUEHMO", "Russia")
        post("BELGRADE", "AMEMBASSY BELGRADE", "RUEHBW", "Serbia")
        post("USUN", "USMISSION USUN NEW YORK", "RUCNDT", "United Nations", city="New York")
        post("SUVA", "AMEMBASSY SUVA", "RUEHSV", "Fiji")
        make_collective(
            db,
            "UNSC",
            "UN SECURITY COUNCIL COLLECTIVE",
            [beijing, hanoi, moscow],
            routing_indicator="RUEHGG",
        )
        db.commit()
        make_signin_user(db, "desk")


def _drafts_named(desk: Visitor, subject: str) -> int:
    desk.go("/?status=draft")
    return desk.page.locator("table.outstanding tbody tr", has_text=subject).count()


def test_the_desk_imports_corrects_and_issues_a_cable_with_no_api_call(server, browser):
    base, backend = server
    desk = Visitor(browser, base, backend, "desk")
    p = desk.page
    api_calls: list[str] = []
    p.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url else None)

    # -- import: the answer is the new draft's edit page, beside the cable's text ----
    desk.go("/cables/import")
    desk.shoot("draft-import")
    p.fill("#instr-text", CABLE.read_text())
    p.get_by_role("button", name="Parse and draft").click()
    p.wait_for_url("**/demarches/*/edit?done=drafted")
    edit_url = p.url.removesuffix("?done=drafted")
    assert p.get_by_role("heading", name="Source cable 07STATE166909").is_visible()
    assert p.input_value("#subject") == SUBJECT
    assert p.input_value("#deadline") == "2007-12-17"
    assert "is in the past" in desk.text()  # what stops it being issued, said up front
    desk.shoot("draft-edit")

    # -- a reload of the import's answer reads the draft again: no second draft ------
    p.reload()
    assert p.get_by_role("heading", name="Source cable 07STATE166909").is_visible()
    assert _drafts_named(desk, SUBJECT) == 1
    desk.shoot("draft-list")
    assert "deadline passed: fix it before issuing" in desk.text()
    assert "days past" not in desk.text()

    # -- correct the deadline and the targets; a mistake keeps what was typed --------
    desk.go(edit_url.removeprefix(base))
    deadline = (date.today() + timedelta(days=10)).isoformat()
    hanoi_due = (date.today() + timedelta(days=5)).isoformat()
    p.fill("#deadline", deadline)
    p.get_by_label("Role of TRIPOLI").select_option("info")
    p.get_by_label("Remove BELGRADE").check()
    p.get_by_label("Due date of HANOI").fill(hanoi_due)
    p.select_option("#add_posts", ["SUVA"])
    p.fill("#subject", "no")
    p.get_by_role("button", name="Save draft").click()
    assert p.locator("#subject-error").is_visible()
    assert "Give the demarche a subject of at least 3 characters" in desk.text()
    assert p.input_value("#deadline") == deadline
    assert p.get_by_label("Remove BELGRADE").is_checked()
    assert p.get_by_label("Role of TRIPOLI").input_value() == "info"
    desk.shoot("draft-edit-error")
    p.fill("#subject", "KOSOVO: DELIVER OUR FINAL STATUS POINTS")
    p.get_by_role("button", name="Save draft").click()
    p.wait_for_url("**/demarches/*?done=saved")
    assert "Draft saved" in desk.text() and "Before this draft can be issued" not in desk.text()
    targets = p.get_by_role("region", name="Target posts").inner_text()
    assert "BELGRADE" not in targets and "SUVA" in targets
    assert (
        f"due {hanoi_due}" in targets and "TRIPOLI (AMEMBASSY TRIPOLI) for Libya, info" in targets
    )
    desk.shoot("draft-saved")

    # -- issue it ---------------------------------------------------------------------
    p.get_by_role("button", name=re.compile(r"^Issue to \d+ targets")).click()
    p.wait_for_url("**/demarches/*?done=issued")
    assert "Issued: each target post now has a tasking" in desk.text()
    assert p.locator("tr", has_text="HANOI").count() >= 1
    desk.shoot("draft-issued")

    # -- the same cable imported again: a choice, not a silent second draft ------------
    desk.go("/cables/import")
    p.fill("#instr-text", CABLE.read_text())
    p.get_by_role("button", name="Parse and draft").click()
    assert p.get_by_role("heading", name="Cable 07STATE166909 is already drafted").is_visible()
    assert p.get_by_role("button", name="Draft again").is_visible()
    desk.shoot("draft-duplicate")
    p.get_by_role("link", name=re.compile("Open the existing demarche")).click()
    p.wait_for_url(edit_url.removesuffix("/edit"))
    assert _drafts_named(desk, SUBJECT) == 0  # issued, and no new draft was made
    assert api_calls == []
    desk.close()
