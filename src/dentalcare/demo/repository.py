"""SQL for the demo clinic's week of appointments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from dentalcare.demo.week import PlannedVisit

# Migration 0009's "Standard appointment" type.
STANDARD_TREATMENT_ID = UUID("00000000-0000-4000-8000-000000000001")


async def demo_dentists(conn: asyncpg.Connection, emails: Sequence[str]) -> list[asyncpg.Record]:
    """The demo's active dentists with their available weekly windows."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT d.id, d.timezone,
                  coalesce(array_agg(ROW(w.day_of_week, w.start_time, w.end_time)
                                     ORDER BY w.day_of_week, w.start_time)
                           FILTER (WHERE w.id IS NOT NULL), '{}') AS windows
           FROM dentists d
           LEFT JOIN dentist_availability w ON w.dentist_id = d.id AND w.is_available
           WHERE d.active AND lower(d.email) = ANY($1::text[])
           GROUP BY d.id, d.timezone""",
        [e.lower() for e in emails],
    )
    return rows


async def days_with_appointments(
    conn: asyncpg.Connection, dentist_ids: Sequence[UUID], first: date, last: date
) -> list[tuple[UUID, date]]:
    """The (dentist, local date) pairs in [first, last] that already have appointments."""
    rows = await conn.fetch(
        """SELECT DISTINCT dentist_id, appointment_date FROM appointments
           WHERE dentist_id = ANY($1::uuid[]) AND appointment_date BETWEEN $2 AND $3""",
        list(dentist_ids),
        first,
        last,
    )
    return [(r["dentist_id"], r["appointment_date"]) for r in rows]


async def insert_visit(conn: asyncpg.Connection, visit: PlannedVisit, reference: str) -> UUID:
    """Insert one planned visit with its status as it stands (the trigger stamps times);
    its id."""
    patient = visit.patient
    appointment_id: UUID = await conn.fetchval(
        """INSERT INTO appointments (booking_reference, patient_id, dentist_id, patient_name,
               patient_email, patient_phone, patient_age, patient_medical_conditions,
               medications, allergies, appointment_date, appointment_time, duration_minutes,
               status, booking_source, chief_complaint, symptoms, urgency,
               cancellation_reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 30, $13, $14, $15, $16,
                   $17, $18)
           RETURNING id""",
        reference,
        patient.user_id,
        visit.dentist_id,
        patient.name,
        patient.email,
        patient.phone,
        patient.age,
        patient.conditions,
        patient.medications,
        patient.allergies,
        visit.on,
        visit.at,
        visit.status,
        visit.source,
        visit.chief_complaint,
        visit.symptoms,
        visit.urgency,
        visit.cancellation_reason,
    )
    return appointment_id


async def active_logins(conn: asyncpg.Connection, emails: Sequence[str]) -> set[str]:
    """Which of these logins exist and are not disabled (lower-cased)."""
    rows = await conn.fetch(
        "SELECT lower(email) AS email FROM users WHERE NOT disabled AND lower(email) = ANY($1)",
        [e.lower() for e in emails],
    )
    return {r["email"] for r in rows}


async def has_treatment(conn: asyncpg.Connection, name: str) -> bool:
    """Whether an active treatment type has this name."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT FROM treatment_types WHERE active AND lower(name) = lower($1))",
            name,
        )
    )


async def insert_treatment(
    conn: asyncpg.Connection,
    *,
    name: str,
    description: str,
    duration: int,
    before: int,
    after: int,
    recall_months: int | None,
    price: float,
    dentist_ids: Sequence[UUID],
) -> UUID:
    """Add a treatment type performed by `dentist_ids` (none: everyone); its id."""
    treatment_id: UUID = await conn.fetchval(
        """INSERT INTO treatment_types (name, description, duration_minutes,
               buffer_before_minutes, buffer_after_minutes, recall_months, price)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
        name,
        description,
        duration,
        before,
        after,
        recall_months,
        price,
    )
    await conn.execute(
        """INSERT INTO treatment_dentists (treatment_type_id, dentist_id)
           SELECT $1, d FROM unnest($2::uuid[]) AS d""",
        treatment_id,
        list(dentist_ids),
    )
    return treatment_id


async def insert_chair(conn: asyncpg.Connection, name: str) -> UUID:
    """Add a chair; its id."""
    chair_id: UUID = await conn.fetchval("INSERT INTO chairs (name) VALUES ($1) RETURNING id", name)
    return chair_id


async def set_default_chair(conn: asyncpg.Connection, dentist_id: UUID, chair_id: UUID) -> None:
    """A dentist's usual chair."""
    await conn.execute(
        "UPDATE dentists SET default_chair_id = $2 WHERE id = $1", dentist_id, chair_id
    )


async def set_clinic(
    conn: asyncpg.Connection,
    *,
    name: str,
    phone: str,
    email: str,
    address: str,
    timezone: str,
    default_treatment_id: UUID,
) -> None:
    """The demo clinic's settings (its own types replace the migrated standard one on
    the booking pages: staff still see it, patients are not offered it)."""
    await conn.execute(
        "UPDATE treatment_types SET bookable_online = false WHERE id = $1",
        STANDARD_TREATMENT_ID,
    )
    await conn.execute(
        """UPDATE clinic_settings SET name = $1, phone = $2, email = $3, address = $4,
               timezone = $5, default_treatment_type_id = $6, updated_at = now()""",
        name,
        phone,
        email,
        address,
        timezone,
        default_treatment_id,
    )


async def dentist_ids_by_email(conn: asyncpg.Connection, emails: Sequence[str]) -> dict[str, UUID]:
    """Active dentists' ids by lower-cased e-mail."""
    rows = await conn.fetch(
        "SELECT lower(email) AS email, id FROM dentists WHERE active AND lower(email) = ANY($1)",
        [e.lower() for e in emails],
    )
    return {r["email"]: r["id"] for r in rows}
