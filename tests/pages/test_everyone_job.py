"""What every user meets, in Chromium, on the world `make run` builds (issue 15, "Everyone").

The demo data, plus one demarche written as imported cables are (a long URL in an
objective and a talking point, a cable reference with no space to break at), visited
by each demo user: every page passes axe at desktop and phone width and fits a 390 px
screen (Visitor.shoot checks both). The API docs load with every other host blocked;
the skip link takes a keyboard user past the header.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import demo
from app.auth.models import User
from app.demarches import service as demarches
from app.demarches.schemas import DemarcheIn, TalkingPointIn, TargetIn
from tests.pages.conftest import SHOTS, Visitor

LONG_URL = (
    "http://www.un.org/News/Press/docs/2007/sc9200.doc.htm?ref=MAROVIA-RENEWAL-"
    "UNOMAR-MANDATE-EXTENSION-OPERATIVE-PARAGRAPHS-1-TO-14"
)
LONG_SUBJECT = "UNSC/MAROVIA: REF 07STATE166909/07USUNNEWYORK1032/07HANOI2211 FOLLOW-UP"


def seed_world(engine) -> None:
    with Session(engine) as db:
        demo.load(db)
        desk = db.scalars(select(User).where(User.username == "desk")).one()
        d = demarches.create_draft(
            db,
            DemarcheIn(
                subject=LONG_SUBJECT,
                summary=f"Background at {LONG_URL}",
                deadline=date.today() + timedelta(days=14),
                delivery_level="highest appropriate level",
                objectives=[f"Press the text at {LONG_URL} before the vote."],
                talking_points=[TalkingPointIn(text=f"The draft is at {LONG_URL}.")],
                targets=[TargetIn(post="HANOI"), TargetIn(post="SANJOSE")],
            ),
            actor=desk,
        )
        demarches.issue(db, d, actor=desk)
        db.commit()


def _links(v: Visitor, pattern: str) -> list[str]:
    """Distinct paths on the current page that match pattern, in page order."""
    hrefs = v.page.eval_on_selector_all("a[href]", "as => as.map(a => a.getAttribute('href'))")
    paths = (h.split("#")[0] for h in hrefs)
    return list(dict.fromkeys(p for p in paths if re.fullmatch(pattern, p)))


def test_every_demo_page_passes_axe_and_fits_a_phone(server, browser):
    base, backend = server
    password = demo.password_for

    desk = Visitor(browser, base, backend, "desk", password("desk"))
    desk.shoot("everyone-desk-home")
    demarche_pages = _links(desk, r"/demarches/\d+")
    assert len(demarche_pages) >= 4, demarche_pages
    long_one = []
    for path in demarche_pages:
        desk.go(path)
        desk.shoot("everyone-desk-" + path.strip("/").replace("/", "-"))
        if LONG_SUBJECT in desk.page.inner_text("main"):
            long_one.append(path)
            # The long URL is on the page whole: it wraps, it is not cut.
            assert LONG_URL in desk.page.inner_text("main")
    assert len(long_one) == 1, long_one
    for path in ("/overdue", "/demarches/new", "/cables/import", "/nowhere-at-all"):
        response = desk.page.goto(f"{base}{path}")
        assert response is not None
        desk.shoot("everyone-desk-" + (path.strip("/").replace("/", "-") or "home"))
    desk.close()

    hanoi = Visitor(browser, base, backend, "hanoi", password("hanoi"))
    hanoi.go("/inbox")
    hanoi.shoot("everyone-hanoi-inbox")
    tasking_pages = _links(hanoi, r"/(inbox|demarches)/\d+")
    assert len(tasking_pages) >= 4, tasking_pages  # its taskings, and their demarches
    for path in tasking_pages:
        hanoi.go(path)
        hanoi.shoot("everyone-hanoi-" + path.strip("/").replace("/", "-"))
    hanoi.close()

    for username in ("viewer", "admin"):
        v = Visitor(browser, base, backend, username, password(username))
        v.shoot(f"everyone-{username}-home")
        v.go("/overdue")
        v.shoot(f"everyone-{username}-overdue")
        v.close()


def test_the_sign_in_page_passes_axe_and_fits_a_phone(server, browser):
    base, backend = server
    v = Visitor(browser, base, backend, None)  # not signed in
    v.shoot("everyone-login")
    v.page.fill("#username", "desk")
    v.page.fill("#password", "not the password")
    v.page.get_by_role("button", name="Sign in").click()
    v.shoot("everyone-login-refused")
    v.close()


def test_the_api_docs_work_with_every_other_host_blocked(server, browser):
    base, backend = server
    v = Visitor(browser, base, backend, "viewer", demo.password_for("viewer"))
    elsewhere: list[str] = []

    def only_here(route) -> None:
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    v.context.route("**/*", only_here)
    v.go("/docs")
    # Swagger UI has read /openapi.json and drawn an operation per route.
    v.page.wait_for_selector(".opblock", timeout=15_000)
    operations = v.page.locator(".opblock").count()
    assert operations >= 20, operations
    assert v.page.get_by_text("/api/v1/demarches", exact=True).first.is_visible()
    # Opening an operation draws its parameters and answers, styles and all, under
    # the page's policy (close() fails on anything Chromium refused).
    v.page.locator(".opblock-summary").first.click()
    v.page.wait_for_selector(".opblock-body .responses-wrapper")
    assert elsewhere == [], elsewhere
    if backend == "sqlite":
        SHOTS.mkdir(exist_ok=True)
        v.page.screenshot(path=SHOTS / "everyone-api-docs.png")
    # An old bookmark of FastAPI's ReDoc page lands on these docs.
    v.go("/redoc")
    assert v.page.url == f"{base}/docs"
    v.close()  # and Chromium reported no Content-Security-Policy refusal


def test_the_skip_link_takes_the_keyboard_past_the_header(server, browser):
    base, backend = server
    v = Visitor(browser, base, backend, "desk", demo.password_for("desk"))
    v.page.keyboard.press("Tab")
    focused = v.page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    assert v.page.locator(".skip-link").is_visible()  # shown once focused
    v.page.keyboard.press("Enter")
    assert v.page.evaluate("document.activeElement.id") == "main"
    # The next Tab lands inside the content, not back on the menu.
    v.page.keyboard.press("Tab")
    assert v.page.evaluate("!!document.activeElement.closest('main')")
    favicon = v.page.request.get(f"{base}/static/favicon.svg")
    assert favicon.ok and favicon.headers["content-type"].startswith("image/svg+xml")
    v.close()
