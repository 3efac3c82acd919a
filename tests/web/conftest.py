"""Fixtures for the browser tests: Debian's Chromium through Playwright, a dedicated server.

Each module gets its own server, started after the database is emptied, so its realtime
listener starts at the log's head. Chromium is never downloaded: `make test` installs
Debian's package (`make browser`) and Playwright drives it via `executable_path`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.fixtures.servers import RunningServer, serve
from tests.web.support import CHROMIUM_ARGS, Clinic, Database, build_clinic, chromium_path

expect.set_options(timeout=10_000)

# Reports each Content-Security-Policy violation on the console, with what caused it.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => console.log(
  "CSP violation: " + e.violatedDirective + " at " + e.sourceFile + ":" + e.lineNumber +
  ":" + e.columnNumber + " " + e.sample + " " + (e.target && e.target.outerHTML || "").slice(0, 160)
));
"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium (a fresh temporary profile per launch)."""
    path = chromium_path()
    # Fail, never skip: a browser suite that silently does not run proves nothing.
    assert path is not None, "Chromium is not installed: run `make browser`"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def web_db(database_url: str) -> Iterator[Database]:
    """The test database, as its owner, from sync code."""
    db = Database(database_url)
    db.clean()
    try:
        yield db
    finally:
        db.close()


@pytest.fixture(scope="module")
def server(web_db: Database, database_url: str) -> Iterator[RunningServer]:
    """A server of this module's own (its listener starts at the emptied log's head)."""
    with serve(database_url) as running:
        yield running


@pytest.fixture
def clinic(web_db: Database, server: RunningServer) -> Clinic:
    """A fresh clinic for each test."""
    server.app.state.login_limiter.reset()
    server.app.state.booking_limiter.reset()
    server.app.state.hold_limiter.reset()
    return build_clinic(web_db)


@pytest.fixture
def open_page(browser: Browser, server: RunningServer) -> Iterator[Callable[..., Page]]:
    """Open a page in a new browser context (one per person), closed after the test."""
    contexts: list[BrowserContext] = []

    def make(*, phone: bool = False, javascript: bool = True) -> Page:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
        context = browser.new_context(
            base_url=server.base_url,
            viewport=viewport,  # type: ignore[arg-type]
            device_scale_factor=1,
            locale="en-GB",
            timezone_id="UTC",
            java_script_enabled=javascript,
        )
        context.add_init_script(CSP_REPORTER)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        page.errors = errors  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        for page in context.pages:
            assert not page.errors, page.errors  # type: ignore[attr-defined]
        context.close()
