"""Treatment rules: who sees which types, admin changes, and what a booking of one takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.auth.tokens import Principal
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import AlreadyExists, NotFound, ValidationError
from dentalcare.treatments import repository
from dentalcare.treatments.schemas import (
    TreatmentTypeCreate,
    TreatmentTypeUpdate,
    treatment_json,
)
from dentalcare.vocabulary import is_staff


@dataclass(frozen=True, slots=True)
class BookedTreatment:
    """What a booking of a treatment with one dentist takes: its length (the dentist's
    slot length for a type without one) and the chair time either side."""

    id: UUID
    name: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int


def _invalid(msg: str, detail: str, field: str = "treatment_type_id") -> ValidationError:
    return ValidationError(f"{field}: {detail}", fields=[{"loc": ["body", field], "msg": msg}])


async def booking_treatment(*, uow: UnitOfWork, treatment_id: UUID | None) -> asyncpg.Record:
    """The treatment type a booking names (the clinic's default when None) and who
    performs it; 422 when it is unknown or retired."""
    row = await repository.booking_treatment(await uow.connection(), treatment_id=treatment_id)
    if row is None or not row["active"]:
        raise _invalid("no such treatment", "no such treatment type.")
    return row


def booked_from(
    row: Mapping[str, Any] | None,
    *,
    dentist_id: UUID,
    dentist_name: str,
    slot_minutes: int,
    staff: bool,
    field: str = "treatment_type_id",
) -> BookedTreatment:
    """`booked_treatment` on a row the caller read already (`booking_treatment`'s
    columns; None: no such treatment)."""
    if row is None or not row["active"]:
        raise _invalid("no such treatment", "no such treatment type.", field)
    return booked_with(
        row,
        dentist_id=dentist_id,
        dentist_name=dentist_name,
        slot_minutes=slot_minutes,
        staff=staff,
        field=field,
    )


def booked_with(
    row: Mapping[str, Any],
    *,
    dentist_id: UUID,
    dentist_name: str,
    slot_minutes: int,
    staff: bool,
    field: str = "treatment_type_id",
) -> BookedTreatment:
    """What a booking of `row` (from `booking_treatment`) with this dentist takes; 422
    when the dentist does not perform it or — for patients and guests — it is not
    bookable online."""
    if row["dentist_ids"] and dentist_id not in row["dentist_ids"]:
        raise _invalid(
            "not performed by this dentist",
            f"{dentist_name} does not perform {row['name']}; choose another dentist.",
            field,
        )
    if not staff and not row["bookable_online"]:
        raise _invalid(
            "not bookable online",
            f"{row['name']} cannot be booked online; please call the clinic.",
            field,
        )
    return BookedTreatment(
        id=row["id"],
        name=row["name"],
        duration_minutes=row["duration_minutes"] or slot_minutes,
        buffer_before_minutes=row["buffer_before_minutes"],
        buffer_after_minutes=row["buffer_after_minutes"],
    )


async def booked_treatment(
    *,
    uow: UnitOfWork,
    treatment_id: UUID | None,
    dentist_id: UUID,
    dentist_name: str,
    slot_minutes: int,
    staff: bool,
    field: str = "treatment_type_id",
) -> BookedTreatment:
    """The treatment a booking or a slot search uses (the clinic's default when none is
    named); 422 when it is unknown, retired, not performed by the dentist, or — for
    patients and guests — not bookable online."""
    row = await repository.booking_treatment(await uow.connection(), treatment_id=treatment_id)
    return booked_from(
        row,
        dentist_id=dentist_id,
        dentist_name=dentist_name,
        slot_minutes=slot_minutes,
        staff=staff,
        field=field,
    )


async def list_treatments(*, uow: UnitOfWork, caller: Principal | None) -> list[dict[str, Any]]:
    """Active, online-bookable types for patients and guests; all of them for staff."""
    staff = caller is not None and is_staff(caller.role)
    rows = await repository.list_treatments(await uow.connection(), include_hidden=staff)
    return [treatment_json(r) for r in rows]


async def get_treatment(
    *, uow: UnitOfWork, caller: Principal | None, treatment_id: UUID
) -> dict[str, Any]:
    """One treatment type (hidden ones for staff only)."""
    row = await repository.treatment_by_id(await uow.connection(), treatment_id)
    staff = caller is not None and is_staff(caller.role)
    if row is None or (not staff and not (row["active"] and row["bookable_online"])):
        raise NotFound("No such treatment type.")
    return treatment_json(row)


async def _check_dentists(conn: asyncpg.Connection, dentist_ids: list[UUID]) -> None:
    unknown = await repository.unknown_dentists(conn, dentist_ids)
    if unknown:
        raise _invalid(
            "no such dentist", f"no active dentist has the id {unknown[0]}.", "dentist_ids"
        )


async def create_treatment(*, uow: UnitOfWork, request: TreatmentTypeCreate) -> dict[str, Any]:
    """Add a treatment type (admins)."""
    conn = await uow.connection()
    values = request.model_dump(exclude={"dentist_ids"})
    dentist_ids = list(dict.fromkeys(request.dentist_ids))
    await _check_dentists(conn, dentist_ids)
    row = await repository.insert_treatment(conn, values)
    if row is None:
        raise AlreadyExists(f"A treatment type named {request.name!r} exists already.")
    await repository.set_dentists(conn, row["id"], dentist_ids)
    created = await repository.treatment_by_id(conn, row["id"])
    assert created is not None
    return treatment_json(created)


async def update_treatment(
    *, uow: UnitOfWork, treatment_id: UUID, request: TreatmentTypeUpdate
) -> dict[str, Any]:
    """Change a treatment type (admins); booked appointments keep the length they have."""
    changes = request.model_dump(exclude_unset=True)
    for required in (
        "name",
        "description",
        "duration_minutes",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "bookable_online",
        "active",
    ):
        if required in changes and changes[required] is None:
            del changes[required]
    dentist_ids = changes.pop("dentist_ids", None)
    conn = await uow.connection()
    if changes.get("active") is False:
        await _refuse_retiring_default(conn, treatment_id)
    try:
        async with uow.savepoint() as conn:
            if not await repository.update_treatment(conn, treatment_id, changes):
                raise NotFound("No such treatment type.")
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists("Another active treatment type has that name.") from exc
    if dentist_ids is not None:
        dentist_ids = list(dict.fromkeys(dentist_ids))
        await _check_dentists(conn, dentist_ids)
        await repository.set_dentists(conn, treatment_id, dentist_ids)
    row = await repository.treatment_by_id(conn, treatment_id)
    assert row is not None
    return treatment_json(row)


async def _refuse_retiring_default(conn: asyncpg.Connection, treatment_id: UUID) -> None:
    if await repository.is_clinic_default(conn, treatment_id):
        raise _invalid(
            "is the clinic's default",
            "this is the clinic's default treatment; choose another default first.",
            "active",
        )


async def retire_treatment(*, uow: UnitOfWork, treatment_id: UUID) -> dict[str, Any]:
    """DELETE: the type is no longer offered (`active:false`); bookings keep it."""
    return await update_treatment(
        uow=uow, treatment_id=treatment_id, request=TreatmentTypeUpdate(active=False)
    )
