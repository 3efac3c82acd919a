"""Errors that page routes raise and the one handler that turns them into pages or redirects."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response


class WebError(Exception):
    """Base of the errors page routes raise; each knows its response."""

    def response(self, request: Request) -> Response:
        """The response for this error."""
        raise NotImplementedError


class LoginRequired(WebError):
    """The page needs a login: send the browser to /login and back."""

    def response(self, request: Request) -> Response:
        """Redirect to the login page, remembering where the user was going."""
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        url = "/login?next=" + quote(target, safe="/")
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)


class PageProblem(WebError):
    """A problem shown as a page (or, for htmx requests, as an error toast)."""

    def __init__(self, status_code: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.title = title
        self.detail = detail

    def response(self, request: Request) -> Response:
        """An error page, or a toast for htmx requests."""
        from dentalcare.web.templating import render, toast_response

        if request.headers.get("hx-request"):
            return toast_response(self.detail, kind="error", status_code=self.status_code)
        return render(
            request,
            "errors/problem.html",
            {"title": self.title, "detail": self.detail},
            status_code=self.status_code,
        )


def wrong_role(role: str) -> PageProblem:
    """The page is for another kind of account."""
    return PageProblem(
        403, "Not available for this account", f"This page is for {role} accounts only."
    )


def not_found(detail: str = "We could not find that page.") -> PageProblem:
    """A 404 page."""
    return PageProblem(404, "Not found", detail)


def install_handler(app: FastAPI) -> None:
    """Render WebError subclasses through their own `response`."""

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        return exc.response(request)
