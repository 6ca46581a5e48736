"""The desk officer's chasing, in a real browser and no API call: from the overdue board
it extends Hanoi's due date; from the demarche page it waives San Jose, insists on
Paris and cancels London's tasking, each with a reason and a confirmation; each time it
lands back where it was, told what changed; and the posts read why on their pages."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import Role, User
from app.classification import Classification
from app.posts.models import Region
from app.taskings import service
from app.taskings.workflow import Action
from tests.factories import make_demarche, make_region_post, make_signin_user, tasking_of
from tests.pages.conftest import Visitor

SUBJECT = "UNSC: URGE SUPPORT FOR THE MAROVIA RESOLUTION"
# Filled by seed_world, once per database, before the app starts.
IDS: dict[str, int] = {}


def seed_world(engine) -> None:
    with Session(engine) as db:
        posts = [
            make_region_post(db, "HANOI", Region.EAP),
            make_region_post(db, "SANJOSE", Region.WHA),
            make_region_post(db, "PARIS", Region.EUR),
            make_region_post(db, "LONDON", Region.EUR),
        ]
        desk = make_signin_user(db, "desk")
        for code in ("HANOI", "SANJOSE", "PARIS"):
            make_signin_user(db, code.lower(), Role.POST_OFFICER, Classification.SECRET, code)
        today = date.today()
        d = make_demarche(
            db,
            desk,
            posts,
            subject=SUBJECT,
            deadline=today - timedelta(days=5),
            issued_on=today - timedelta(days=20),
            secret_point=False,
        )
        IDS["demarche"] = d.id
        for code in ("HANOI", "SANJOSE", "PARIS", "LONDON"):
            IDS[code] = tasking_of(db, d, code).id
        # San Jose and Paris advise against delivering: the desk must answer each.
        for code, why in (
            ("SANJOSE", "The vote here is already lost; a demarche would cost us goodwill."),
            ("PARIS", "The minister is abroad until next week."),
        ):
            officer = db.scalar(select(User).where(User.username == code.lower()))
            assert officer is not None
            service.move_with_reason(
                db, tasking_of(db, d, code), Action.ADVISE_AGAINST, actor=officer, reason=why
            )
        db.commit()


def _confirm_move(desk: Visitor, label: str, reason: str) -> None:
    """On a tasking's page: the move's form, refused without its reason and box, then sent."""
    p = desk.page
    section = p.locator(f"section#{label}")
    section.get_by_role("button").click()
    p.wait_for_load_state()
    assert "Tick the box to confirm" in desk.text() and "Give a reason" in desk.text()
    section = p.locator(f"section#{label}")
    section.locator("textarea").fill(reason)
    section.locator('input[name="confirm"]').check()
    section.get_by_role("button").click()
    p.wait_for_load_state()


def test_the_desk_chases_and_the_posts_see_why(server, browser):
    base, backend = server
    did = IDS["demarche"]
    new_due = (date.today() + timedelta(days=14)).isoformat()

    # -- the overdue board, by region: groups, totals, and a link on every cell ------
    desk = Visitor(browser, base, backend, "desk")
    desk.go("/overdue?sort=region")
    p = desk.page
    assert "EUR: 1 post, 1 overdue tasking" in desk.text()  # London; Paris advised against
    desk.shoot("chase-overdue-by-region")
    p.locator(f'a[href^="/taskings/{IDS["HANOI"]}?"]').click()
    p.wait_for_url(f"{base}/taskings/{IDS['HANOI']}?**")
    assert "Back to the overdue board" in desk.text()
    desk.shoot("chase-desk-tasking")

    # -- extend Hanoi's due date, with a reason; a missing reason is said beside it ----
    p.fill("#extend-date", new_due)
    p.locator("section#extend").get_by_role("button").click()
    p.wait_for_load_state()
    assert "Give a reason" in desk.text()
    desk.shoot("chase-extend-refused")
    p.fill("#extend-reason", "The Foreign Minister is travelling until the 20th.")
    p.locator("section#extend").get_by_role("button").click()
    p.wait_for_url(f"{base}/overdue?sort=region&done=extend&moved={IDS['HANOI']}")
    assert f"HANOI: due date moved to {new_due}." in desk.text()
    desk.shoot("chase-overdue-extended")

    # -- a post's own list of taskings, from its row ---------------------------------
    p.get_by_role("link", name="LONDON", exact=True).click()
    p.wait_for_url(f"{base}/taskings?post=LONDON&overdue=1")
    assert SUBJECT in desk.text()
    desk.shoot("chase-post-taskings")

    # -- from the demarche page: waive, insist and cancel, each confirmed ----------------
    desk.go(f"/demarches/{did}")
    desk.shoot("chase-demarche-desk-column")
    for post, link, label, reason, said in (
        ("SANJOSE", "Waive", "waive", "Agreed: we will not press San Jose.", "SANJOSE: waived."),
        (
            "PARIS",
            "Insist",
            "insist",
            "Deliver to the deputy: the vote is on the 18th.",
            "PARIS: told to deliver after all",
        ),
        ("LONDON", "Cancel", "cancel", "London is no longer on the Council.", "LONDON: cancelled."),
    ):
        p.get_by_role("link", name=f"{link} {post}", exact=True).click()
        p.wait_for_url(f"{base}/taskings/{IDS[post]}?**")
        if post == "SANJOSE":
            desk.shoot("chase-confirm-waive")
        _confirm_move(desk, label, reason)
        assert p.url.startswith(f"{base}/demarches/{did}?done={label}&moved={IDS[post]}")
        assert said in desk.text()
    desk.shoot("chase-demarche-after")
    desk.close()

    # -- each post reads what the desk decided, and why ------------------------------
    for post, why in (
        ("hanoi", "The Foreign Minister is travelling until the 20th."),
        ("sanjose", "Agreed: we will not press San Jose."),
        ("paris", "Deliver to the deputy: the vote is on the 18th."),
    ):
        officer = Visitor(browser, base, backend, post)
        officer.go(f"/inbox/{IDS[post.upper()]}")
        assert f"Reason: {why}" in officer.text()
        if post == "hanoi":
            assert f"to <strong>{new_due}</strong>" in officer.text()
            officer.shoot("chase-post-sees-extension")
        if post == "sanjose":
            officer.shoot("chase-post-sees-waiver")
        officer.close()
