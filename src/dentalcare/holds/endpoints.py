"""/api/holds: keep a slot while the booking form is filled in."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Response, status

from dentalcare.auth.deps import OptionalUser
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import (
    BadRequest,
    NotFound,
    RateLimited,
    SlotUnavailable,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.holds import service
from dentalcare.holds.schemas import HoldCreate, HoldRead
from dentalcare.ratelimit import Limits
from dentalcare.responses import JSON

router = APIRouter(prefix="/api/holds", tags=["holds"])
HoldToken = Annotated[str | None, Header(alias="X-Hold-Token", max_length=100)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=HoldRead,
    responses=responses(SlotUnavailable, ValidationError, RateLimited, Unauthorized, BadRequest),
)
async def create_hold(
    body: HoldCreate,
    user: OptionalUser,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    clock: AppClock,
    hold_token: HoldToken = None,
) -> Any:
    """Hold a free slot for `hold_minutes`; a guest gets a `hold_token` to send back as
    `X-Hold-Token`. A new hold releases the caller's previous one."""
    hold = await service.create_hold(
        uow=uow,
        settings=settings,
        throttle=limits,
        caller=user,
        request=body,
        token=hold_token,
        now=clock.now(),
    )
    return JSON(hold, status_code=status.HTTP_201_CREATED)


@router.delete(
    "/{hold_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(NotFound, BadRequest, ValidationError, Unauthorized),
)
async def release_hold(
    hold_id: UUID, user: OptionalUser, uow: Uow, hold_token: HoldToken = None
) -> Response:
    """Give the slot back."""
    await service.release_hold(uow=uow, caller=user, hold_id=hold_id, token=hold_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
