"""The browser harness every page test shares: Debian's Chromium driven by Playwright,
against the real app under uvicorn in a thread on a free loopback port, on a freshly
migrated database (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set).

A test module fills its own world: it defines `seed_world(engine)`, which the `server`
fixture calls once per database before the app starts. `Visitor` is one signed-in
person; `shoot()` writes desktop and phone screenshots to tests/screenshots/ and checks
the page at both widths: axe-core (axe-playwright-python ships it) must find no serious
or critical violation, and at phone width nothing may be wider than the screen.
`close()` fails on anything found, naming the page, the rule and the elements.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import create_app
from app.settings import Settings
from tests.databases import BACKENDS, drop_database, fresh_database, migrated_engine
from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parent.parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# What axe reports that fails a test: "serious" and "critical" are the impacts that
# stop someone using the page (a control with no name, text too faint, a box a keyboard
# cannot scroll); "moderate" and "minor" are left to review.
FAILING_IMPACTS = frozenset({"serious", "critical"})

try:
    from playwright import sync_api
except ImportError:  # the test extra installs it
    sync_api = None
try:
    from axe_playwright_python.base import AXE_SCRIPT
except ImportError:  # the test extra installs it
    AXE_SCRIPT = None

SKIP_REASON = (
    f"{CHROMIUM} is missing: install Debian's chromium (make test tries apt-get) "
    "to run the browser tests"
    if not os.path.exists(CHROMIUM)
    else "playwright is not installed (pip install -e '.[test]')"
    if sync_api is None
    else "axe-playwright-python is not installed (pip install -e '.[test]')"
    if AXE_SCRIPT is None
    else ""
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory) -> Iterator[tuple[str, str]]:
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    url = fresh_database(request.param, tmp_path_factory.mktemp("browser-db"))
    engine = migrated_engine(url)
    seed = getattr(request.module, "seed_world", None)
    if seed is not None:
        seed(engine)
    app = create_app(Settings(database_url=url, log_level="WARNING"))
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", request.param
    srv.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()
    engine.dispose()
    drop_database(url)


@pytest.fixture(scope="module")
def browser():
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    assert sync_api is not None
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


class Visitor:
    """One signed-in person in their own browser context (their own cookies); with no
    username, someone on the sign-in page who has not signed in."""

    def __init__(
        self, browser, base: str, backend: str, username: str | None, password: str = PASSWORD
    ) -> None:
        self.context = browser.new_context(viewport=DESKTOP)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        # Chromium reports what the Content-Security-Policy refused on the console: an
        # inline style or script left in a page would show here (close() fails on it).
        self.refused: list[str] = []
        self.page.on(
            "console",
            lambda m: self.refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        self.base, self.backend = base, backend
        self.found: list[str] = []  # what shoot() found: axe violations, a page too wide
        self.page.goto(f"{base}/login")
        if username is None:
            return
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.get_by_role("button", name="Sign in").click()
        # Signed in once off the form: the desk lands on the dashboard, a post on its inbox.
        self.page.wait_for_url(lambda url: not url.split("?")[0].endswith("/login"))

    def go(self, path: str) -> None:
        response = self.page.goto(f"{self.base}{path}")
        assert response is not None and response.ok, (path, response and response.status)

    def shoot(self, name: str) -> None:
        """Check the current page at desktop and phone width (axe, and the page's width
        on a phone), and write both screenshots. SQLite run only: the PostgreSQL run
        renders the same templates over the same world, and the suite's time is bounded."""
        if self.backend != "sqlite":
            return
        self.check(name, "desktop")
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=SHOTS / f"{name}-desktop.png", full_page=True)
        self.page.set_viewport_size(PHONE)
        try:
            self.check(name, "phone")
            width = self.page.evaluate("document.scrollingElement.scrollWidth")
            if width > PHONE["width"]:
                self.found.append(
                    f"{name} (phone): the page is {width} px wide, wider than "
                    f"the {PHONE['width']} px screen: {self._widest()}"
                )
            self.page.screenshot(path=SHOTS / f"{name}-phone.png", full_page=True)
        finally:
            self.page.set_viewport_size(DESKTOP)

    def check(self, name: str, width: str) -> None:
        """Record every serious or critical axe violation on the page as it is now."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            # evaluate() runs outside the page's Content-Security-Policy: no 'self' needed.
            self.page.evaluate(AXE_SCRIPT)
        results = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        for v in results["violations"]:
            if v["impact"] in FAILING_IMPACTS:
                targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
                self.found.append(f"{name} ({width}): {v['id']} ({v['impact']}): {targets}")

    def _widest(self) -> str:
        """The elements whose right edge passes the screen's, to say what to fix."""
        return self.page.evaluate(
            """() => { const w = document.documentElement.clientWidth, out = [];
            for (const e of document.querySelectorAll('body *')) {
              const r = e.getBoundingClientRect();
              if (r.right > w + 1 && !e.closest('.table-wrap')) {
                out.push(e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                         + ' ' + Math.round(r.right) + 'px');
              }
            } return out.slice(0, 5).join(', '); }"""
        )

    def text(self) -> str:
        return self.page.content()

    def close(self) -> None:
        self.context.close()
        assert self.refused == [], self.refused
        assert self.found == [], "\n".join(self.found)
