"""Cookies, CSRF, escaping and security headers of the pages (plain HTTP, no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.responses import Response

from dentalcare.web.session import start_session
from tests.fixtures.servers import RunningServer
from tests.fixtures.settings import make_settings
from tests.web.support import PASSWORD, Clinic

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    """A cookie-keeping client of the module's server (no redirects followed)."""
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        yield client


def _token(client: httpx.Client, path: str) -> str:
    match = CSRF.search(client.get(path).text)
    assert match, path
    return match.group(1)


def _log_in(client: httpx.Client, email: str) -> httpx.Response:
    token = _token(client, "/login")
    return client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})


def test_session_and_csrf_cookies_are_httponly_and_lax(clinic: Clinic, http: httpx.Client) -> None:
    """Both cookies: HttpOnly, SameSite=Lax, whole site."""
    first = http.get("/login")
    csrf_cookie = first.headers["set-cookie"].lower()
    assert "dc_csrf=" in csrf_cookie and "httponly" in csrf_cookie and "samesite=lax" in csrf_cookie
    response = _log_in(http, clinic.patient["email"])
    assert response.status_code == 303 and response.headers["location"] == "/my/appointments"
    session = next(
        v for v in response.headers.get_list("set-cookie") if v.startswith("dc_session=")
    )
    assert "httponly" in session.lower() and "samesite=lax" in session.lower()
    assert "secure" not in session.lower()


def test_session_cookie_is_secure_when_configured(database_url: str) -> None:
    """With cookie_secure the session cookie is sent over HTTPS only."""
    response = Response()
    start_session(response, make_settings(database_url, cookie_secure=True), "token", 60)
    assert "secure" in response.headers["set-cookie"].lower()


def test_forms_without_a_valid_csrf_token_are_refused(clinic: Clinic, http: httpx.Client) -> None:
    """No token, a forged token, or a token from before login: 403 and nothing happens."""
    assert http.post("/login", data={"email": "a@b.c", "password": "x"}).status_code == 403
    http.get("/login")
    forged = {"email": clinic.patient["email"], "password": PASSWORD, "csrf_token": "forged"}
    assert http.post("/login", data=forged).status_code == 403
    stale = _token(http, "/login")
    assert _log_in(http, clinic.patient["email"]).status_code == 303
    refused = http.post("/logout", data={"csrf_token": stale})
    assert refused.status_code == 403
    assert "form has expired" in refused.text
    assert http.get("/my/appointments").status_code == 200  # still logged in
    fresh = _token(http, "/my/appointments")
    assert http.post("/logout", headers={"X-CSRF-Token": fresh}).status_code == 303


def test_pages_carry_a_strict_csp_and_no_inline_code(clinic: Clinic, http: httpx.Client) -> None:
    """Every script and style is a file; the policy forbids anything inline."""
    _log_in(http, clinic.admin["email"])
    for path in ("/", f"/dentists/{clinic.dentist_id}", "/admin", "/admin/appointments"):
        response = http.get(path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert not re.search(r"\sstyle=", html), path


def test_calendar_file_needs_reference_and_email(clinic: Clinic, http: httpx.Client) -> None:
    """A stranger cannot fetch a booking's calendar file by guessing its reference."""
    response = http.get("/bookings/DC-ABCDEFG/calendar.ics")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/bookings/find")


def test_realtime_token_needs_a_session(clinic: Clinic, http: httpx.Client) -> None:
    """The socket token is only handed to a logged-in page (and needs the CSRF header)."""
    token = _token(http, "/")
    anonymous = http.post("/session/realtime-token", headers={"X-CSRF-Token": token})
    assert anonymous.status_code == 401
    _log_in(http, clinic.patient["email"])
    token = _token(http, "/my/appointments")
    assert http.post("/session/realtime-token").status_code == 403
    granted = http.post("/session/realtime-token", headers={"X-CSRF-Token": token})
    assert granted.status_code == 200 and granted.json()["expires_in"] == 900
