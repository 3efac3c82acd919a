"""What a clinic sees in its first hour (issue 18), checked in Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect

from tests.web.support import Clinic, log_in, screenshot


def test_the_api_reference_works_offline_under_the_pages_csp(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """/docs renders Swagger UI from vendored files: no request leaves the server, no inline
    script, no CSP violation (the fixture fails the test on any)."""
    page = open_page()
    hosts: set[str] = set()

    def remember(request: Request) -> None:
        if not request.url.startswith("data:"):
            hosts.add(urlsplit(request.url).netloc)

    page.on("request", remember)
    response = page.goto("/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("DentalCareConnect")
    operation = page.locator(".opblock-summary-path", has_text="/api/appointments").first
    expect(operation).to_be_visible()
    assert hosts == {urlsplit(page.url).netloc}, hosts
    screenshot(page, "api-docs")


def test_a_mistyped_address_shows_a_page_with_a_way_home(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Anonymous: back to the directory or to one's booking; logged in: to one's own page."""
    page = open_page()
    response = page.goto("/dentists/not-a-real-page/nope")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    main = page.locator("#main")
    expect(main.get_by_role("link", name="Find my booking")).to_be_visible()
    main.get_by_role("link", name="Find a dentist").click()
    expect(page).to_have_url(re.compile(r"/$"))
    log_in(page, clinic.patient["email"])
    page.goto("/my/appointmentz")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator(".account-name")).to_contain_text("Alice Brown")  # still logged in
    screenshot(page, "not-found")
    page.locator("#main").get_by_role("link", name="Go to my page").click()
    expect(page).to_have_url(re.compile(r"/my/appointments$"))
