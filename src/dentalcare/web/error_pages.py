"""The handlers that answer page errors: a login redirect, an error page or a toast."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from dentalcare.web.errors import LoginRequired, PageProblem
from dentalcare.web.templating import render, toast_response


def login_redirect(request: Request) -> Response:
    """Redirect to the login page, remembering where the user was going."""
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
    return render(
        request,
        "errors/problem.html",
        {"title": problem.title, "detail": problem.detail},
        status_code=problem.status_code,
    )


def install_handler(app: FastAPI) -> None:
    """Answer the page errors that routes raise."""

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return login_redirect(request)

    @app.exception_handler(PageProblem)
    async def _page_problem(request: Request, exc: PageProblem) -> Response:
        return problem_page(request, exc)
