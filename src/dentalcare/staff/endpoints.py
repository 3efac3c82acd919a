"""/api/staff: staff logins (admins only)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from dentalcare.auth.deps import AdminUser, Hashing
from dentalcare.auth.schemas import UserRead
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.errors import (
    AlreadyExists,
    Forbidden,
    InvalidTransition,
    NotFound,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.responses import JSON
from dentalcare.staff import service
from dentalcare.staff.schemas import StaffCreate, StaffCreated

router = APIRouter(prefix="/api/staff", tags=["staff"])


@router.get("", response_model=list[UserRead], responses=responses(Unauthorized, Forbidden))
async def list_staff(user: AdminUser, uow: Uow) -> Any:
    """Every active staff login (admins and the front desk)."""
    return JSON(await service.list_staff(uow=uow))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StaffCreated,
    responses=responses(AlreadyExists, ValidationError, Unauthorized, Forbidden),
)
async def create_staff(
    body: StaffCreate, user: AdminUser, uow: Uow, settings: AppSettings, hashing: Hashing
) -> Any:
    """A front-desk or admin login; `initial_password` is shown only here, and the new
    login's owner is sent an invitation with a set-password link."""
    created = await service.create_staff(uow=uow, settings=settings, hashing=hashing, request=body)
    return JSON(created, status_code=201)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(NotFound, InvalidTransition, Unauthorized, Forbidden),
)
async def remove_staff(user_id: UUID, user: AdminUser, uow: Uow) -> Response:
    """Disable a staff login; its tokens stop working at once."""
    await service.remove_staff(uow=uow, caller=user, user_id=user_id)
    return Response(status_code=204)
