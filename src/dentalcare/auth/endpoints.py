"""POST /api/auth/register, POST /api/auth/login, GET /api/auth/me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from dentalcare.auth import service
from dentalcare.auth.deps import CurrentUser
from dentalcare.auth.schemas import LoginRequest, RegisterRequest, TokenResponse, UserRead
from dentalcare.db.deps import AppSettings, Db
from dentalcare.errors import (
    AlreadyExists,
    RateLimited,
    Unauthorized,
    ValidationError,
    responses,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])


def client_ip(request: Request) -> str:
    """The caller's address, for rate limiting."""
    return request.client.host if request.client else "unknown"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenResponse,
    responses=responses(AlreadyExists, ValidationError, RateLimited),
)
async def register(body: RegisterRequest, request: Request, db: Db, settings: AppSettings) -> Any:
    """Create a patient account; the response logs it in."""
    request.app.state.login_limiter.hit(client_ip(request))
    return await service.register(db=db, settings=settings, request=body)


@router.post(
    "/login",
    response_model=TokenResponse,
    responses=responses(Unauthorized, ValidationError, RateLimited),
)
async def login(body: LoginRequest, request: Request, db: Db, settings: AppSettings) -> Any:
    """Exchange e-mail and password for an access token."""
    limiter = request.app.state.login_limiter
    limiter.hit(client_ip(request))
    limiter.hit("email:" + body.email.strip().lower())
    return await service.login(db=db, settings=settings, request=body)


@router.get("/me", response_model=UserRead, responses=responses(Unauthorized))
async def me(user: CurrentUser) -> Any:
    """The logged-in user."""
    return service.user_json(user)
