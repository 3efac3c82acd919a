"""/api/treatment-types."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status

from dentalcare.auth.deps import AdminUser, OptionalUser
from dentalcare.db.deps import Uow
from dentalcare.errors import AlreadyExists, Forbidden, NotFound, Unauthorized, ValidationError
from dentalcare.errors import responses as error_responses
from dentalcare.responses import JSON
from dentalcare.treatments import service
from dentalcare.treatments.schemas import (
    TreatmentTypeCreate,
    TreatmentTypeRead,
    TreatmentTypeUpdate,
)

router = APIRouter(prefix="/api/treatment-types", tags=["treatments"])


@router.get("", response_model=list[TreatmentTypeRead], responses=error_responses(Unauthorized))
async def list_treatments(uow: Uow, user: OptionalUser) -> Any:
    """Treatment types: the bookable ones for patients and guests, all for staff."""
    return JSON(await service.list_treatments(uow=uow, caller=user))


@router.get(
    "/{treatment_id}",
    response_model=TreatmentTypeRead,
    responses=error_responses(NotFound, Unauthorized),
)
async def get_treatment(treatment_id: UUID, uow: Uow, user: OptionalUser) -> Any:
    """One treatment type."""
    return JSON(await service.get_treatment(uow=uow, caller=user, treatment_id=treatment_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TreatmentTypeRead,
    responses=error_responses(AlreadyExists, ValidationError, Unauthorized, Forbidden),
)
async def create_treatment(body: TreatmentTypeCreate, user: AdminUser, uow: Uow) -> Any:
    """Add a treatment type (admins)."""
    return JSON(await service.create_treatment(uow=uow, request=body), status_code=201)


@router.patch(
    "/{treatment_id}",
    response_model=TreatmentTypeRead,
    responses=error_responses(AlreadyExists, NotFound, ValidationError, Unauthorized, Forbidden),
)
async def update_treatment(
    treatment_id: UUID, body: TreatmentTypeUpdate, user: AdminUser, uow: Uow
) -> Any:
    """Change a treatment type (admins)."""
    return JSON(await service.update_treatment(uow=uow, treatment_id=treatment_id, request=body))


@router.delete(
    "/{treatment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(NotFound, ValidationError, Unauthorized, Forbidden),
)
async def retire_treatment(treatment_id: UUID, user: AdminUser, uow: Uow) -> Response:
    """Stop offering a treatment type (admins): `active:false`, bookings keep it."""
    await service.retire_treatment(uow=uow, treatment_id=treatment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
