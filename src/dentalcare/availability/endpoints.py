"""/api/availability: weekly schedules and exceptions; /api/dentists/{id}/slots: free slots."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from dentalcare.auth.deps import CurrentUser, OptionalUser
from dentalcare.availability import service
from dentalcare.availability.schemas import (
    AvailabilityRead,
    AvailabilityReplaced,
    ExceptionAdded,
    ExceptionCreate,
    SlotsRead,
    WeeklyScheduleUpdate,
)
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationError,
    responses,
)

router = APIRouter(prefix="/api/availability", tags=["availability"])
# The slots have the dentists' URL but are availability's answer, so they are served from
# here: the dentists package sits below availability and does not import it.
dentist_slots_router = APIRouter(prefix="/api/dentists", tags=["dentists"])


@router.get(
    "/{dentist_id}",
    response_model=AvailabilityRead,
    responses=responses(NotFound, Unauthorized),
)
async def get_availability(dentist_id: UUID, uow: Uow, user: OptionalUser, clock: AppClock) -> Any:
    """A dentist's weekly schedule and upcoming exceptions."""
    return await service.get_availability(
        uow=uow, caller=user, dentist_id=dentist_id, now=clock.now()
    )


@router.put(
    "/{dentist_id}",
    response_model=AvailabilityReplaced,
    responses=responses(NotFound, Unauthorized, Forbidden, ValidationError),
)
async def replace_weekly(
    dentist_id: UUID, body: WeeklyScheduleUpdate, user: CurrentUser, uow: Uow, clock: AppClock
) -> Any:
    """Replace the weekly schedule (that dentist or an admin).

    Booked appointments are never deleted: those the new hours no longer cover are kept
    and listed in `appointments_outside_hours` for the dentist to deal with.
    """
    return await service.replace_weekly(
        uow=uow, caller=user, dentist_id=dentist_id, windows=body.weekly, now=clock.now()
    )


@router.post(
    "/{dentist_id}/exceptions",
    status_code=status.HTTP_201_CREATED,
    response_model=ExceptionAdded,
    responses=responses(NotFound, Unauthorized, Forbidden, ValidationError),
)
async def add_exception(
    dentist_id: UUID, body: ExceptionCreate, user: CurrentUser, uow: Uow, clock: AppClock
) -> Any:
    """Add time off (is_available false; `until` for a range of dates) or extra hours
    (true) on a date; the bookings the time off now covers are kept and listed."""
    return await service.add_exception(
        uow=uow, caller=user, dentist_id=dentist_id, request=body, now=clock.now()
    )


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


@dentist_slots_router.get(
    "/{dentist_id}/slots",
    response_model=SlotsRead,
    responses=responses(NotFound, BadRequest, ValidationError, Unauthorized),
)
async def free_slots(
    dentist_id: UUID,
    request: Request,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
    user: OptionalUser,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    treatment_type_id: UUID | None = None,
) -> Any:
    """Free start times of a treatment (the clinic's default type when none is given)
    between two dates (at most 62 days), in the dentist's time zone."""
    return Response(
        await service.slots_json(
            uow=uow,
            settings=settings,
            cache=getattr(request.app.state, "slots_cache", None),
            caller=user,
            dentist_id=dentist_id,
            start=from_,
            end=to,
            treatment_id=treatment_type_id,
            now=clock.now(),
        ),
        media_type="application/json",
    )
