"""/api/clinic (settings, closures) and /api/chairs."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from dentalcare.auth.deps import AdminUser, CurrentUser, OptionalUser
from dentalcare.clinic import service
from dentalcare.clinic.schemas import (
    ChairCreate,
    ChairRead,
    ChairUpdate,
    ClinicRead,
    ClinicUpdate,
    ClosureCreate,
)
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import AlreadyExists, Forbidden, NotFound, Unauthorized, ValidationError
from dentalcare.errors import responses as error_responses
from dentalcare.responses import JSON
from dentalcare.vocabulary import is_staff

router = APIRouter(prefix="/api/clinic", tags=["clinic"])
chairs_router = APIRouter(prefix="/api/chairs", tags=["clinic"])


@router.get("", response_model=ClinicRead, responses=error_responses(Unauthorized))
async def get_clinic(uow: Uow, settings: AppSettings, clock: AppClock, user: OptionalUser) -> Any:
    """The clinic's name, zone, contact details, booking policy and upcoming closures."""
    return JSON(await service.get_clinic(uow=uow, settings=settings, now=clock.now()))


@router.patch(
    "",
    response_model=ClinicRead,
    responses=error_responses(ValidationError, Unauthorized, Forbidden),
)
async def update_clinic(
    body: ClinicUpdate, user: AdminUser, uow: Uow, settings: AppSettings, clock: AppClock
) -> Any:
    """Change the clinic's settings (admins)."""
    return JSON(
        await service.update_clinic(uow=uow, settings=settings, request=body, now=clock.now())
    )


@router.post(
    "/closures",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(AlreadyExists, ValidationError, Unauthorized, Forbidden),
)
async def add_closure(
    body: ClosureCreate, user: AdminUser, uow: Uow, settings: AppSettings, clock: AppClock
) -> Any:
    """Close the clinic for a day; lists the bookings already made on it."""
    closure = await service.add_closure(uow=uow, settings=settings, request=body, now=clock.now())
    return JSON(closure, status_code=status.HTTP_201_CREATED)


@router.delete(
    "/closures/{closure_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(NotFound, Unauthorized, Forbidden),
)
async def delete_closure(closure_id: UUID, user: AdminUser, uow: Uow) -> Response:
    """Reopen a closed day."""
    await service.delete_closure(uow=uow, closure_id=closure_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@chairs_router.get(
    "", response_model=list[ChairRead], responses=error_responses(Unauthorized, Forbidden)
)
async def list_chairs(user: CurrentUser, uow: Uow, include_inactive: bool = False) -> Any:
    """The clinic's chairs (staff)."""
    if not is_staff(user.role):
        raise Forbidden("Only clinic staff see the chairs.")
    return JSON(await service.list_chairs(uow=uow, include_inactive=include_inactive))


@chairs_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ChairRead,
    responses=error_responses(AlreadyExists, ValidationError, Unauthorized, Forbidden),
)
async def create_chair(body: ChairCreate, user: AdminUser, uow: Uow) -> Any:
    """Add a chair (admins)."""
    return JSON(await service.create_chair(uow=uow, request=body), status_code=201)


@chairs_router.patch(
    "/{chair_id}",
    response_model=ChairRead,
    responses=error_responses(AlreadyExists, NotFound, ValidationError, Unauthorized, Forbidden),
)
async def update_chair(chair_id: UUID, body: ChairUpdate, user: AdminUser, uow: Uow) -> Any:
    """Rename or (de)activate a chair (admins)."""
    return JSON(await service.update_chair(uow=uow, chair_id=chair_id, request=body))


@chairs_router.delete(
    "/{chair_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(NotFound, Unauthorized, Forbidden),
)
async def remove_chair(chair_id: UUID, user: AdminUser, uow: Uow) -> Response:
    """Take a chair out of use (admins); booked appointments keep it."""
    await service.remove_chair(uow=uow, chair_id=chair_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
