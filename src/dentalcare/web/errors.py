"""Errors that page routes raise; `web.error_pages` turns them into pages or redirects.

Only the exception types live here, with no rendering, so that the modules below the
templates (the session and CSRF checks) can raise them without importing the templates.
"""

from __future__ import annotations


class WebError(Exception):
    """Base of the errors page routes raise."""


class LoginRequired(WebError):
    """The page needs a login: the browser is sent to /login and back."""


class PageProblem(WebError):
    """A problem shown as a page (or, for htmx requests, as an error toast)."""

    def __init__(self, status_code: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.title = title
        self.detail = detail


def wrong_role(role: str) -> PageProblem:
    """The page is for another kind of account."""
    return PageProblem(
        403, "Not available for this account", f"This page is for {role} accounts only."
    )


def not_found(detail: str = "We could not find that page.") -> PageProblem:
    """A 404 page."""
    return PageProblem(404, "Not found", detail)
