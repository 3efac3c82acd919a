"""/api/dentists: the directory and admin management (free slots: availability.endpoints)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from dentalcare.auth.deps import AdminUser, CurrentUser, Hashing, OptionalUser
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.dentists import service
from dentalcare.dentists.schemas import DentistCreate, DentistCreated, DentistRead, DentistUpdate
from dentalcare.errors import (
    AlreadyExists,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.responses import JSON

router = APIRouter(prefix="/api/dentists", tags=["dentists"])


@router.get("", response_model=list[DentistRead], responses=responses(Unauthorized))
async def list_dentists(
    uow: Uow,
    user: OptionalUser,
    search: Annotated[str | None, Query(max_length=100)] = None,
    specialization: Annotated[str | None, Query(max_length=120)] = None,
) -> Any:
    """Active dentists, optionally searched by name or specialty."""
    return JSON(
        await service.list_dentists(
            uow=uow, caller=user, search=search, specialization=specialization
        )
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DentistCreated,
    responses=responses(AlreadyExists, ValidationError, Unauthorized, Forbidden),
)
async def create_dentist(
    body: DentistCreate, user: AdminUser, uow: Uow, settings: AppSettings, hashing: Hashing
) -> Any:
    """Add a dentist with a login; the initial password is shown only in this response."""
    return await service.create_dentist(uow=uow, settings=settings, hashing=hashing, request=body)


@router.get(
    "/{dentist_id}", response_model=DentistRead, responses=responses(NotFound, Unauthorized)
)
async def get_dentist(dentist_id: UUID, uow: Uow, user: OptionalUser) -> Any:
    """One dentist (a removed one only for admins)."""
    return JSON(await service.get_dentist(uow=uow, caller=user, dentist_id=dentist_id))


@router.patch(
    "/{dentist_id}",
    response_model=DentistRead,
    responses=responses(NotFound, Unauthorized, Forbidden, AlreadyExists, ValidationError),
)
async def update_dentist(dentist_id: UUID, body: DentistUpdate, user: CurrentUser, uow: Uow) -> Any:
    """Edit a profile: admins, or the dentist (own profile, not the e-mail)."""
    return await service.update_dentist(uow=uow, caller=user, dentist_id=dentist_id, request=body)


@router.delete(
    "/{dentist_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(NotFound, Unauthorized, Forbidden),
)
async def remove_dentist(
    dentist_id: UUID, user: AdminUser, uow: Uow, settings: AppSettings, clock: AppClock
) -> Response:
    """Remove a dentist: login disabled, future appointments cancelled, history kept."""
    await service.remove_dentist(uow=uow, settings=settings, dentist_id=dentist_id, now=clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
