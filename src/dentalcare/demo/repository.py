"""SQL for the demo clinic's week of appointments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

import asyncpg

from dentalcare.demo.week import PlannedVisit


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


async def insert_visit(conn: asyncpg.Connection, visit: PlannedVisit, reference: str) -> None:
    """Insert one planned visit with its status as it stands (the trigger stamps times)."""
    patient = visit.patient
    await conn.execute(
        """INSERT INTO appointments (booking_reference, patient_id, dentist_id, patient_name,
               patient_email, patient_phone, patient_age, patient_medical_conditions,
               medications, allergies, appointment_date, appointment_time, duration_minutes,
               status, booking_source, chief_complaint, symptoms, urgency,
               cancellation_reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 30, $13, $14, $15, $16,
                   $17, $18)""",
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


async def active_logins(conn: asyncpg.Connection, emails: Sequence[str]) -> set[str]:
    """Which of these logins exist and are not disabled (lower-cased)."""
    rows = await conn.fetch(
        "SELECT lower(email) AS email FROM users WHERE NOT disabled AND lower(email) = ANY($1)",
        [e.lower() for e in emails],
    )
    return {r["email"] for r in rows}
