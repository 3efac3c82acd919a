"""Who is looking at a page: the session cookie, role guards and the cookie helpers."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from dentalcare.auth.deps import SESSION_COOKIE
from dentalcare.auth.tokens import Principal, authenticate
from dentalcare.config import Settings
from dentalcare.db.claims import ANONYMOUS
from dentalcare.db.deps import AppSettings, Uow, get_db, get_settings
from dentalcare.db.errors import DATABASE_DOWN
from dentalcare.errors import DentalCareError, Unauthorized
from dentalcare.web.errors import LoginRequired, wrong_role

HOME_BY_ROLE = {
    "patient": "/my/appointments",
    "dentist": "/dentist",
    "admin": "/admin",
    "front_desk": "/admin",
}


async def page_user(request: Request, uow: Uow, settings: AppSettings) -> Principal | None:
    """The logged-in user of a page, or None; a stale cookie counts as logged out."""
    if hasattr(request.state, "page_user"):
        cached: Principal | None = request.state.page_user
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    principal: Principal | None = None
    if token:
        try:
            principal = await authenticate(uow, settings, token)
        except Unauthorized:
            request.state.drop_session = True
    request.state.page_user = principal
    return principal


async def resolve_page_user(request: Request) -> Principal | None:
    """`page_user` outside a route (an error page): its own short read-only unit of work;
    if the database cannot say, the visitor counts as logged out."""
    db, settings = await get_db(request), await get_settings(request)
    try:
        async with db.unit_of_work(ANONYMOUS, read_only=True) as uow:
            return await page_user(request, uow, settings)
    except (DentalCareError, *DATABASE_DOWN):
        request.state.page_user = None
        return None


def session_binding(request: Request) -> str:
    """A digest of the session the request runs under ('' when logged out)."""
    if getattr(request.state, "page_user", None) is None:
        return ""
    token = request.cookies.get(SESSION_COOKIE, "")
    return hashlib.sha256(token.encode()).hexdigest()


def role_guard(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting only logged-in users with one of `roles`."""

    async def guard(user: Annotated[Principal | None, Depends(page_user)]) -> Principal:
        if user is None:
            raise LoginRequired("log in first")
        if user.role not in roles:
            raise wrong_role(" or ".join(roles))
        return user

    return guard


def set_cookie(
    response: Response,
    settings: Settings,
    name: str,
    value: str,
    *,
    max_age: int,
    httponly: bool = True,
) -> None:
    """Set a cookie with the portals' flags (HttpOnly, SameSite=Lax, Secure if configured)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=httponly,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    """Delete a cookie set by `set_cookie`."""
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )


def start_session(response: Response, settings: Settings, token: str, expires_in: int) -> None:
    """Log the browser in: the access token in an HttpOnly cookie."""
    set_cookie(response, settings, SESSION_COOKIE, token, max_age=expires_in)


def end_session(response: Response, settings: Settings) -> None:
    """Log the browser out."""
    clear_cookie(response, settings, SESSION_COOKIE)


PageUser = Annotated[Principal | None, Depends(page_user)]
PatientPage = Annotated[Principal, Depends(role_guard("patient"))]
DentistPage = Annotated[Principal, Depends(role_guard("dentist"))]
AdminPage = Annotated[Principal, Depends(role_guard("admin"))]
AnyUserPage = Annotated[Principal, Depends(role_guard("patient", "dentist", "admin", "front_desk"))]
# Clinic staff: admins and the front desk.
StaffPage = Annotated[Principal, Depends(role_guard("admin", "front_desk"))]
# Whoever sees a patient's medical fields: the dentist (own appointments) and staff.
ClinicPage = Annotated[Principal, Depends(role_guard("dentist", "admin", "front_desk"))]
