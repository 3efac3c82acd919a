"""/api/patients: patient records, export and erasure (API.md v2, patients)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from dentalcare.auth.deps import CurrentUser
from dentalcare.db.deps import Uow
from dentalcare.errors import Forbidden, NotFound, Unauthorized, ValidationError
from dentalcare.errors import responses as error_responses
from dentalcare.patients import service
from dentalcare.responses import JSON

router = APIRouter(prefix="/api/patients", tags=["patients"])


@router.get("", responses=error_responses(Unauthorized, Forbidden, ValidationError))
async def search_patients(
    uow: Uow,
    user: CurrentUser,
    search: Annotated[str, Query(max_length=200)] = "",
) -> Any:
    """Registered patients and guests (by e-mail) matching name, e-mail, phone or
    booking reference, with counts of appointments, visits and no-shows (staff)."""
    return JSON(await service.search(uow=uow, caller=user, text=search))


@router.get("/{patient_id}", responses=error_responses(Unauthorized, Forbidden, NotFound))
async def get_patient(patient_id: UUID, uow: Uow, user: CurrentUser) -> Any:
    """A patient's record (staff; the patient themself)."""
    return JSON(await service.get_patient(uow=uow, caller=user, patient_id=patient_id))


@router.get("/{patient_id}/export", responses=error_responses(Unauthorized, Forbidden, NotFound))
async def export_patient(patient_id: UUID, uow: Uow, user: CurrentUser) -> Any:
    """Everything held about the patient, as JSON (the patient; admins)."""
    body = await service.export(uow=uow, caller=user, patient_id=patient_id)
    return JSON(
        body,
        headers={"Content-Disposition": f'attachment; filename="patient-{patient_id}.json"'},
    )


@router.post(
    "/{patient_id}/erase",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def erase_patient(patient_id: UUID, uow: Uow, user: CurrentUser) -> Response:
    """Anonymise the patient's personal and medical fields, keep the scheduling facts,
    close their sessions (admins; the patient for their own account)."""
    await service.erase(uow=uow, caller=user, patient_id=patient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
