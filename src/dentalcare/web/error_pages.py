"""The handlers that answer page errors: a login redirect, an error page or a toast."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from dentalcare.error_handlers import http_error_response
from dentalcare.web.chrome import resolve_clinic
from dentalcare.web.errors import LoginRequired, PageProblem
from dentalcare.web.session import HOME_BY_ROLE, resolve_page_user
from dentalcare.web.templating import render, toast_response


def login_redirect(request: Request) -> Response:
    """Redirect to the login page, remembering where the user was going. A live region's
    background refresh (`DC.refresh`, header X-Live-Refresh) gets 204 and no redirect:
    nobody asked to go anywhere, and a logout in flight must land where it was going."""
    if request.headers.get("x-live-refresh"):
        return Response(status_code=204)
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    url = "/login?next=" + quote(target, safe="/")
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def problem_page(request: Request, problem: PageProblem) -> Response:
    """An error page, or a toast for htmx requests."""
    if request.headers.get("hx-request"):
        return toast_response(problem.detail, kind="error", status_code=problem.status_code)
    user = getattr(request.state, "page_user", None)
    return render(
        request,
        "errors/problem.html",
        {
            "title": problem.title,
            "detail": problem.detail,
            "home_url": HOME_BY_ROLE.get(user.role, "/") if user else "/",
        },
        status_code=problem.status_code,
    )


# Paths whose errors stay JSON: the API, its schema, and files (a missing file is not a page).
_MACHINE_PREFIXES = ("/api/", "/static/", "/openapi.json")


def is_page_request(request: Request) -> bool:
    """Whether an unknown path was asked for as a page (a person's browser), not by a client."""
    path = request.url.path
    return (
        request.method in ("GET", "HEAD")
        and path != "/api"
        and not path.startswith(_MACHINE_PREFIXES)
    )


async def not_found_page(request: Request) -> Response:
    """The HTML 404: what happened and the ways back (to the visitor's own home page if
    they are logged in: no route ran, so the session cookie is read here)."""
    if not hasattr(request.state, "page_user"):
        await resolve_page_user(request)
    await resolve_clinic(request)
    return problem_page(
        request,
        PageProblem(
            404,
            "Page not found",
            "There is no page at this address. It may have moved, or the link may be mistyped.",
        ),
    )


def install_handler(app: FastAPI) -> None:
    """Answer the page errors that routes raise."""

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request)

    @app.exception_handler(PageProblem)
    async def _page_problem(request: Request, exc: PageProblem) -> Response:
        await resolve_clinic(request)
        return problem_page(request, exc)

    # Replaces the JSON handler for Starlette's errors; /api/* keeps the JSON shape.
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and is_page_request(request):
            return await not_found_page(request)
        return http_error_response(request, exc)
