"""Who is calling: CurrentUser, OptionalUser and the role guards; the password hashing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from dentalcare.auth.passwords import PasswordHashing
from dentalcare.auth.tokens import Principal, authenticate
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import Forbidden, Unauthorized

SESSION_COOKIE = "dc_session"


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer …`, else from the portals' session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        return token.strip()
    return request.cookies.get(SESSION_COOKIE) or None


async def optional_user(
    request: Request, uow: Uow, settings: AppSettings, clock: AppClock
) -> Principal | None:
    """The caller, or None when anonymous. A token that is present must be valid; the
    request's unit of work then acts for the caller."""
    token = bearer_token(request)
    if token is None:
        return None
    principal = await authenticate(uow, settings, token, now=clock.now())
    request.state.principal = principal
    return principal


async def current_user(user: Annotated[Principal | None, Depends(optional_user)]) -> Principal:
    """The caller, who must be logged in."""
    if user is None:
        raise Unauthorized("Log in first: this needs an access token.")
    return user


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only callers with one of `roles`."""

    async def guard(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        if user.role not in roles:
            raise Forbidden(f"This is for {' or '.join(roles)} accounts only.")
        return user

    return guard


async def password_hashing(request: Request) -> PasswordHashing:
    """The process's argon2 worker slots."""
    hashing: PasswordHashing = request.app.state.password_hashing
    return hashing


Hashing = Annotated[PasswordHashing, Depends(password_hashing)]
OptionalUser = Annotated[Principal | None, Depends(optional_user)]
CurrentUser = Annotated[Principal, Depends(current_user)]
AdminUser = Annotated[Principal, Depends(require_role("admin"))]
# Clinic staff: admins and the front desk (vocabulary.STAFF_ROLES).
StaffUser = Annotated[Principal, Depends(require_role("admin", "front_desk"))]
