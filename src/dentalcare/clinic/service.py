"""Clinic rules: settings (with the deployment's defaults), closures, chairs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.clinic import repository
from dentalcare.clinic.schemas import (
    ChairCreate,
    ChairUpdate,
    ClinicUpdate,
    ClosureCreate,
    chair_json,
    clinic_json,
    closure_json,
)
from dentalcare.config import Settings
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import AlreadyExists, NotFound, ValidationError
from dentalcare.jsonshape import hh_mm, iso_date, text_id
from dentalcare.timezones import zone


@dataclass(frozen=True, slots=True)
class ClinicFacts:
    """The clinic's settings as the rules use them (deployment defaults filled in)."""

    name: str
    timezone: str
    phone: str
    email: str
    address: str
    default_treatment_type_id: UUID
    cancellation_notice_hours: int
    hold_minutes: int
    reminder_hours: tuple[int, ...]


def facts_of(row: asyncpg.Record, settings: Settings) -> ClinicFacts:
    """The settings row, NULL name/zone/address taken from the deployment's settings."""
    return ClinicFacts(
        name=row["name"] or settings.clinic_name,
        timezone=row["timezone"] or settings.clinic_timezone,
        phone=row["phone"],
        email=row["email"],
        address=row["address"] if row["address"] is not None else settings.clinic_address,
        default_treatment_type_id=row["default_treatment_type_id"],
        cancellation_notice_hours=row["cancellation_notice_hours"],
        hold_minutes=row["hold_minutes"],
        reminder_hours=tuple(row["reminder_hours"]),
    )


async def clinic_facts(*, uow: UnitOfWork, settings: Settings) -> ClinicFacts:
    """The clinic's settings."""
    return facts_of(await repository.settings_row(await uow.connection()), settings)


def _today(facts: ClinicFacts, now: datetime) -> date:
    return now.astimezone(zone(facts.timezone)).date()


async def today(*, uow: UnitOfWork, settings: Settings, now: datetime) -> date:
    """The date on the clinic's wall clock at `now`."""
    return _today(await clinic_facts(uow=uow, settings=settings), now)


async def get_clinic(
    *, uow: UnitOfWork, settings: Settings, now: datetime | None = None
) -> dict[str, Any]:
    """GET /api/clinic: the settings and the closures from today on."""
    facts = await clinic_facts(uow=uow, settings=settings)
    conn = await uow.connection()
    closures = await repository.closures_from(conn, _today(facts, now or datetime.now(UTC)))
    return clinic_json(facts, closures)


async def update_clinic(
    *, uow: UnitOfWork, settings: Settings, request: ClinicUpdate, now: datetime | None = None
) -> dict[str, Any]:
    """PATCH /api/clinic (admins)."""
    changes = request.model_dump(exclude_unset=True)
    for required in (
        "default_treatment_type_id",
        "cancellation_notice_hours",
        "hold_minutes",
        "reminder_hours",
        "phone",
        "email",
    ):
        if required in changes and changes[required] is None:
            del changes[required]
    conn = await uow.connection()
    chosen = changes.get("default_treatment_type_id")
    if chosen is not None and not await repository.treatment_active(conn, chosen):
        raise ValidationError(
            "default_treatment_type_id: no such active treatment type.",
            fields=[{"loc": ["body", "default_treatment_type_id"], "msg": "no such treatment"}],
        )
    if changes:
        await repository.update_settings(conn, changes)
    return await get_clinic(uow=uow, settings=settings, now=now)


def _booking_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": text_id(row["id"]),
        "booking_reference": row["booking_reference"],
        "dentist_id": text_id(row["dentist_id"]),
        "dentist_name": row["dentist_name"],
        "patient_name": row["patient_name"],
        "appointment_date": iso_date(row["appointment_date"]),
        "appointment_time": hh_mm(row["appointment_time"]),
        "duration_minutes": row["duration_minutes"],
        "status": row["status"],
    }


async def add_closure(
    *, uow: UnitOfWork, settings: Settings, request: ClosureCreate, now: datetime | None = None
) -> dict[str, Any]:
    """Close the clinic on a date; the bookings already made that day are listed (they
    stay: whoever closes the day decides what to do with them)."""
    facts = await clinic_facts(uow=uow, settings=settings)
    if request.date < _today(facts, now or datetime.now(UTC)):
        raise ValidationError(
            "date: the date is in the past.",
            fields=[{"loc": ["body", "date"], "msg": "is in the past"}],
        )
    conn = await uow.connection()
    row = await repository.insert_closure(conn, on=request.date, reason=request.reason)
    if row is None:
        raise AlreadyExists(f"The clinic is already closed on {request.date.isoformat()}.")
    bookings = await repository.active_bookings_on(conn, request.date)
    return {**closure_json(row), "appointments_outside_hours": [_booking_json(b) for b in bookings]}


async def delete_closure(*, uow: UnitOfWork, closure_id: UUID) -> None:
    """Reopen a closed day."""
    if not await repository.delete_closure(await uow.connection(), closure_id):
        raise NotFound("No such closure.")


async def closed_dates(*, uow: UnitOfWork, first: date, last: date) -> frozenset[date]:
    """The clinic's closed dates in [first, last]."""
    return frozenset(await repository.closure_dates(await uow.connection(), first, last))


async def list_chairs(*, uow: UnitOfWork, include_inactive: bool) -> list[dict[str, Any]]:
    """Chairs by name (inactive ones only when asked)."""
    rows = await repository.list_chairs(await uow.connection(), active_only=not include_inactive)
    return [chair_json(r) for r in rows]


async def create_chair(*, uow: UnitOfWork, request: ChairCreate) -> dict[str, Any]:
    """Add a chair."""
    row = await repository.insert_chair(await uow.connection(), name=request.name)
    if row is None:
        raise AlreadyExists(f"A chair named {request.name!r} exists already.")
    return chair_json(row)


async def update_chair(*, uow: UnitOfWork, chair_id: UUID, request: ChairUpdate) -> dict[str, Any]:
    """Rename or (de)activate a chair; a deactivated chair is no dentist's default."""
    changes = {k: v for k, v in request.model_dump(exclude_unset=True).items() if v is not None}
    try:
        async with uow.savepoint() as conn:
            row = await repository.update_chair(conn, chair_id, changes)
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists(f"A chair named {changes.get('name')!r} exists already.") from exc
    if row is None:
        raise NotFound("No such chair.")
    if not row["active"]:
        await repository.clear_default_chair(await uow.connection(), chair_id)
    return chair_json(row)


async def remove_chair(*, uow: UnitOfWork, chair_id: UUID) -> None:
    """Take a chair out of use (booked appointments keep it)."""
    await update_chair(uow=uow, chair_id=chair_id, request=ChairUpdate(active=False))
