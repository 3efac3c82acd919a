"""CSRF protection: a signed double-submit token bound to the browser and its session.

The browser holds a random nonce in the HttpOnly cookie `dc_csrf`. Pages carry
`HMAC(key, nonce | session digest)` in a hidden `csrf_token` field and in a
`<meta name="csrf-token">` that htmx and fetch send back as `X-CSRF-Token`. Another site
can neither read the nonce nor compute the token without the server's key, and a token
stops working when the session changes (login, logout).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from dentalcare.auth.tokens import Principal
from dentalcare.config import Settings
from dentalcare.db.deps import AppSettings
from dentalcare.web import signing
from dentalcare.web.errors import PageProblem
from dentalcare.web.session import page_user, session_binding, set_cookie

CSRF_COOKIE = "dc_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
NONCE_MAX_AGE = 60 * 60 * 24 * 30


def _nonce(request: Request) -> str:
    """The browser's nonce, or a new one that the response will set."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 16 <= len(existing) <= 64:
        return existing
    fresh: str | None = getattr(request.state, "new_csrf_nonce", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(24)
        request.state.new_csrf_nonce = fresh
    return fresh


def csrf_token(request: Request, settings: Settings) -> str:
    """The token that forms on this page must send back."""
    data = f"{_nonce(request)}|{session_binding(request)}".encode()
    return signing.mac(settings, "csrf", data)


def remember_nonce(request: Request, response: Response, settings: Settings) -> None:
    """Set the nonce cookie if this request created one."""
    fresh = getattr(request.state, "new_csrf_nonce", None)
    if fresh is not None:
        set_cookie(response, settings, CSRF_COOKIE, fresh, max_age=NONCE_MAX_AGE)


def _rejected() -> PageProblem:
    return PageProblem(
        403,
        "This form has expired",
        "For your security this form could not be accepted. Reload the page and try again.",
    )


async def checked_form(
    request: Request,
    settings: AppSettings,
    _user: Annotated[Principal | None, Depends(page_user)],
) -> FormData:
    """The submitted form, after checking its CSRF token (field or X-CSRF-Token header)."""
    if CSRF_COOKIE not in request.cookies:
        raise _rejected()
    content_type = request.headers.get("content-type", "")
    form = FormData()
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form(max_files=0, max_fields=400)
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request, settings)):
        raise _rejected()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
