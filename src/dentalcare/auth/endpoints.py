"""POST /api/auth/register, POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from dentalcare.auth import service
from dentalcare.auth.deps import CurrentUser, Hashing
from dentalcare.auth.schemas import LoginRequest, RegisterRequest, TokenResponse, UserRead
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import (
    AlreadyExists,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.ratelimit import Limits

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenResponse,
    responses=responses(AlreadyExists, ValidationError, RateLimited, ServiceUnavailable),
)
async def register(
    body: RegisterRequest,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    hashing: Hashing,
    clock: AppClock,
) -> Any:
    """Create a patient account; the response logs it in."""
    return await service.register(
        uow=uow,
        settings=settings,
        throttle=limits,
        hashing=hashing,
        request=body,
        now=clock.now(),
    )


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=responses(Unauthorized, ValidationError, RateLimited, ServiceUnavailable),
)
async def login(
    body: LoginRequest,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    hashing: Hashing,
    clock: AppClock,
) -> Any:
    """Exchange e-mail and password for an access token."""
    return await service.login(
        uow=uow,
        settings=settings,
        throttle=limits,
        hashing=hashing,
        request=body,
        now=clock.now(),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=responses(Unauthorized))
async def logout(user: CurrentUser, uow: Uow, settings: AppSettings, clock: AppClock) -> Response:
    """End this session: its token is refused from now on, and its sockets close (4001)."""
    await service.logout(uow=uow, settings=settings, principal=user, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserRead, responses=responses(Unauthorized))
async def me(user: CurrentUser) -> Any:
    """The logged-in user."""
    return service.user_json(user)
