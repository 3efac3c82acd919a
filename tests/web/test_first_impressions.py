"""What a clinic sees in its first hour (issue 18), checked in Chromium."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect

from tests.web.support import Clinic, screenshot


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
