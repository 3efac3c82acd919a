"""/api/availability: weekly schedules and exceptions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from dentalcare.auth.deps import CurrentUser, OptionalUser
from dentalcare.availability import service
from dentalcare.availability.schemas import (
    AvailabilityRead,
    AvailabilityReplaced,
    ExceptionCreate,
    ExceptionRead,
    WeeklyScheduleUpdate,
)
from dentalcare.db.deps import Uow
from dentalcare.errors import Forbidden, NotFound, Unauthorized, ValidationError, responses

router = APIRouter(prefix="/api/availability", tags=["availability"])


@router.get(
    "/{dentist_id}",
    response_model=AvailabilityRead,
    responses=responses(NotFound, Unauthorized),
)
async def get_availability(dentist_id: UUID, uow: Uow, user: OptionalUser) -> Any:
    """A dentist's weekly schedule and upcoming exceptions."""
    return await service.get_availability(uow=uow, caller=user, dentist_id=dentist_id)


@router.put(
    "/{dentist_id}",
    response_model=AvailabilityReplaced,
    responses=responses(NotFound, Unauthorized, Forbidden, ValidationError),
)
async def replace_weekly(
    dentist_id: UUID, body: WeeklyScheduleUpdate, user: CurrentUser, uow: Uow
) -> Any:
    """Replace the weekly schedule (that dentist or an admin).

    Booked appointments are never deleted: those the new hours no longer cover are kept
    and listed in `appointments_outside_hours` for the dentist to deal with.
    """
    return await service.replace_weekly(
        uow=uow, caller=user, dentist_id=dentist_id, windows=body.weekly
    )


@router.post(
    "/{dentist_id}/exceptions",
    status_code=status.HTTP_201_CREATED,
    response_model=ExceptionRead,
    responses=responses(NotFound, Unauthorized, Forbidden, ValidationError),
)
async def add_exception(
    dentist_id: UUID, body: ExceptionCreate, user: CurrentUser, uow: Uow
) -> Any:
    """Add time off (is_available false) or extra hours (true) on a date."""
    return await service.add_exception(uow=uow, caller=user, dentist_id=dentist_id, request=body)


@router.delete(
    "/{dentist_id}/exceptions/{exception_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(NotFound, Unauthorized, Forbidden),
)
async def delete_exception(
    dentist_id: UUID, exception_id: UUID, user: CurrentUser, uow: Uow
) -> Response:
    """Remove an exception."""
    await service.delete_exception(
        uow=uow, caller=user, dentist_id=dentist_id, exception_id=exception_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
