"""/api/appointments: book, list, read, look up, change, cancel, export."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status

from dentalcare.appointments import service
from dentalcare.appointments.ics import appointment_ics, clinic_location
from dentalcare.appointments.schemas import (
    AppointmentCreate,
    AppointmentList,
    AppointmentRead,
    AppointmentUpdate,
)
from dentalcare.auth.deps import CurrentUser, OptionalUser, StaffUser
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import (
    BadRequest,
    Forbidden,
    HoldExpired,
    InvalidTransition,
    NotFound,
    PolicyViolation,
    RateLimited,
    SlotUnavailable,
    TooManyBookings,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.ratelimit import Limits
from dentalcare.responses import JSON
from dentalcare.vocabulary import Status

router = APIRouter(prefix="/api/appointments", tags=["appointments"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AppointmentRead,
    responses=responses(
        SlotUnavailable,
        HoldExpired,
        NotFound,
        TooManyBookings,
        ValidationError,
        Unauthorized,
        Forbidden,
        RateLimited,
        BadRequest,
    ),
)
async def book(
    body: AppointmentCreate,
    user: OptionalUser,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    clock: AppClock,
    hold_token: Annotated[str | None, Header(alias="X-Hold-Token", max_length=100)] = None,
) -> Any:
    """Book a free slot (guest, patient or admin), or exactly the caller's hold (`hold_id`;
    a guest sends the hold's token as `X-Hold-Token`); 409 with alternatives if it is
    taken, 409 HoldExpired for a lapsed hold, 409 TooManyBookings when a guest already
    holds as many upcoming bookings as allowed."""
    appointment = await service.book_appointment(
        uow=uow,
        settings=settings,
        throttle=limits,
        caller=user,
        request=body,
        now=clock.now(),
        hold_token=hold_token,
    )
    return JSON(appointment, status_code=status.HTTP_201_CREATED)


@router.get(
    "",
    response_model=AppointmentList,
    responses=responses(Unauthorized, BadRequest),
)
async def list_appointments(
    user: CurrentUser,
    uow: Uow,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    dentist_id: UUID | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """The caller's appointments (a patient's own, a dentist's own, all for admins)."""
    page = await service.list_appointments(
        uow=uow,
        status=status_,
        dentist_id=dentist_id,
        date_from=from_,
        date_to=to,
        limit=limit,
        cursor=cursor,
        reader=user,
    )
    return JSON(page)


@router.get(
    "/lookup",
    response_model=AppointmentRead,
    responses=responses(NotFound, BadRequest, RateLimited),
)
async def lookup(
    uow: Uow,
    limits: Limits,
    reference: Annotated[str, Query(min_length=3, max_length=20)],
    email: Annotated[str, Query(min_length=3, max_length=254)],
) -> Any:
    """A guest's own booking, by booking reference and e-mail address, without its medical
    fields; rate limited per address and per reference."""
    return JSON(
        await service.lookup_by_reference(
            uow=uow, throttle=limits, reference=reference, email=email
        )
    )


@router.get(
    "/{appointment_id}",
    response_model=AppointmentRead,
    responses=responses(NotFound, Unauthorized),
)
async def get_appointment(appointment_id: UUID, user: CurrentUser, uow: Uow) -> Any:
    """One appointment: its patient, its dentist or staff (whose read is audited)."""
    return JSON(await service.get_appointment(uow=uow, appointment_id=appointment_id, caller=user))


@router.post(
    "/{appointment_id}/check-in",
    response_model=AppointmentRead,
    responses=responses(NotFound, Unauthorized, Forbidden, InvalidTransition),
)
async def check_in(appointment_id: UUID, user: StaffUser, uow: Uow, clock: AppClock) -> Any:
    """The patient is here (staff): sets `arrived_at`; the dentist sees "waiting"."""
    return JSON(await service.check_in(uow=uow, appointment_id=appointment_id, now=clock.now()))


@router.put(
    "/{appointment_id}",
    response_model=AppointmentRead,
    responses=responses(
        NotFound,
        Unauthorized,
        Forbidden,
        InvalidTransition,
        SlotUnavailable,
        PolicyViolation,
        ValidationError,
    ),
)
async def update_appointment(
    appointment_id: UUID,
    body: AppointmentUpdate,
    user: CurrentUser,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
) -> Any:
    """Confirm, complete, cancel, reschedule or edit, as the caller's role allows."""
    return JSON(
        await service.update_appointment(
            uow=uow,
            settings=settings,
            caller=user,
            appointment_id=appointment_id,
            request=body,
            now=clock.now(),
        )
    )


@router.delete(
    "/{appointment_id}",
    response_model=AppointmentRead,
    responses=responses(NotFound, Unauthorized, Forbidden, InvalidTransition, PolicyViolation),
)
async def cancel_appointment(
    appointment_id: UUID, user: CurrentUser, uow: Uow, settings: AppSettings, clock: AppClock
) -> Any:
    """Cancel: the appointment is kept with status cancelled."""
    return JSON(
        await service.cancel_appointment(
            uow=uow, settings=settings, caller=user, appointment_id=appointment_id, now=clock.now()
        )
    )


@router.get(
    "/{appointment_id}/ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, **responses(NotFound, Unauthorized)},
)
async def appointment_calendar(
    appointment_id: UUID, user: CurrentUser, uow: Uow, settings: AppSettings, clock: AppClock
) -> Response:
    """The appointment as an iCalendar event, at the clinic's address."""
    appointment = await service.get_appointment(uow=uow, appointment_id=appointment_id)
    return Response(
        appointment_ics(appointment, location=clinic_location(settings), now=clock.now()),
        media_type="text/calendar",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{appointment["booking_reference"]}.ics"'
            )
        },
    )
