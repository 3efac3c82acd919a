"""Manage links (`/api/manage/{token}`), unsubscribe, password reset and change, e-mail
verification and "e-mail me my bookings"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from dentalcare.accounts import service
from dentalcare.accounts.schemas import (
    EmailRequest,
    ManageRequest,
    PasswordChange,
    PasswordResetConfirm,
    TokenRequest,
)
from dentalcare.auth.deps import CurrentUser, Hashing
from dentalcare.auth.schemas import TokenResponse
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import (
    Conflict,
    Forbidden,
    LinkExpired,
    PolicyViolation,
    RateLimited,
    ServiceUnavailable,
    SlotUnavailable,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.ratelimit import client_bucket

router = APIRouter(tags=["accounts"])


async def account_mail_limits(request: Request) -> service.AccountMailLimits:
    """The process's limits on account e-mails (per address and per client)."""
    limits: service.AccountMailLimits = request.app.state.account_mail_limits
    return limits


MailLimits = Annotated[service.AccountMailLimits, Depends(account_mail_limits)]


def _client(request: Request) -> str:
    return client_bucket(request.client.host if request.client else None)


@router.get("/api/manage/{token}", responses=responses(LinkExpired))
async def manage_read(token: str, uow: Uow, clock: AppClock) -> Any:
    """What this link does and to which appointment (the link stays unused)."""
    return await service.manage_page(uow=uow, token=token, now=clock.now())


@router.post(
    "/api/manage/{token}",
    responses=responses(
        LinkExpired, PolicyViolation, SlotUnavailable, Conflict, Forbidden, ValidationError
    ),
)
async def manage(
    token: str, body: ManageRequest, uow: Uow, settings: AppSettings, clock: AppClock
) -> Any:
    """Confirm attendance, cancel or reschedule from a message's link, without a login."""
    return await service.manage(
        uow=uow, settings=settings, token=token, request=body, now=clock.now()
    )


@router.post("/api/unsubscribe/{token}", responses=responses(LinkExpired))
async def unsubscribe(token: str, uow: Uow, clock: AppClock) -> Any:
    """Stop reminders to the address this link was sent to (other messages still go)."""
    await service.unsubscribe(uow=uow, token=token, now=clock.now())
    return {"detail": "You will get no more reminders. Booking messages still arrive."}


@router.post(
    "/api/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(RateLimited, ValidationError),
)
async def password_reset(
    body: EmailRequest,
    request: Request,
    uow: Uow,
    settings: AppSettings,
    limits: MailLimits,
    clock: AppClock,
) -> Any:
    """Send a reset link if an account has this address; the same answer either way."""
    limits.count(email=str(body.email), address=_client(request))
    await service.request_password_reset(
        uow=uow, settings=settings, email=str(body.email), now=clock.now()
    )
    return {"detail": "If an account uses this address, a reset link is on its way."}


@router.post(
    "/api/auth/password-reset/confirm",
    responses=responses(LinkExpired, ValidationError, ServiceUnavailable),
)
async def password_reset_confirm(
    body: PasswordResetConfirm, uow: Uow, hashing: Hashing, clock: AppClock
) -> Any:
    """Set a new password from a reset or invitation link."""
    return await service.confirm_password_reset(
        uow=uow, hashing=hashing, request=body, now=clock.now()
    )


@router.post(
    "/api/auth/password",
    response_model=TokenResponse,
    responses=responses(Unauthorized, ValidationError, ServiceUnavailable),
)
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    uow: Uow,
    settings: AppSettings,
    hashing: Hashing,
    clock: AppClock,
) -> Any:
    """Change your own password: other sessions end, this one gets a fresh token."""
    return await service.change_password(
        uow=uow,
        settings=settings,
        hashing=hashing,
        principal=user,
        request=body,
        now=clock.now(),
    )


@router.post("/api/auth/verify-email", responses=responses(LinkExpired, ValidationError))
async def verify_email(body: TokenRequest, uow: Uow, clock: AppClock) -> Any:
    """Mark the account's e-mail address verified."""
    return await service.verify_email(uow=uow, token=body.token, now=clock.now())


@router.post(
    "/api/bookings/email-me",
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(RateLimited, ValidationError),
)
async def email_my_bookings(
    body: EmailRequest,
    request: Request,
    uow: Uow,
    settings: AppSettings,
    limits: MailLimits,
    clock: AppClock,
) -> Any:
    """Send a guest the list of their upcoming bookings with manage links; the same
    answer whether or not there are any."""
    limits.count(email=str(body.email), address=_client(request))
    await service.send_guest_bookings(
        uow=uow, settings=settings, email=str(body.email), now=clock.now()
    )
    return {"detail": "If there are upcoming bookings under this address, a list is on its way."}
