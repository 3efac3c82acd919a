"""SQL for the account actions (the link tokens' own SQL is in dentalcare.links)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

ACTIVE = ("pending", "confirmed")


async def appointment_for_link(
    conn: asyncpg.Connection, appointment_id: UUID
) -> asyncpg.Record | None:
    """The few facts a link acts on (system claims)."""
    return await conn.fetchrow(
        "SELECT id, patient_id, patient_email, status, starts_at, attendance_confirmed_at "
        "FROM appointments WHERE id = $1",
        appointment_id,
    )


async def confirm_attendance(
    conn: asyncpg.Connection, appointment_id: UUID, *, at: datetime
) -> None:
    """Record that the patient said they will come (kept if they said so before)."""
    await conn.execute(
        "UPDATE appointments SET attendance_confirmed_at = coalesce(attendance_confirmed_at, $2) "
        "WHERE id = $1",
        appointment_id,
        at,
    )


async def user_for_password(conn: asyncpg.Connection, user_id: UUID) -> asyncpg.Record | None:
    """A user's e-mail, password hash and state (system claims)."""
    return await conn.fetchrow(
        "SELECT id, email, role, full_name, disabled, password_hash, token_version "
        "FROM users WHERE id = $1",
        user_id,
    )


async def set_password(
    conn: asyncpg.Connection, user_id: UUID, password_hash: str
) -> asyncpg.Record:
    """Store a new password hash and end every session issued before (token version)."""
    return await conn.fetchrow(
        "UPDATE users SET password_hash = $2, token_version = token_version + 1 "
        "WHERE id = $1 RETURNING id, email, role, full_name, phone, disabled, token_version",
        user_id,
        password_hash,
    )


async def mark_email_verified(
    conn: asyncpg.Connection, user_id: UUID, email: str, *, at: datetime
) -> bool:
    """Mark the address verified if it is still the user's; whether it was."""
    status: str = await conn.execute(
        "UPDATE users SET email_verified_at = coalesce(email_verified_at, $3) "
        "WHERE id = $1 AND lower(email) = lower($2)",
        user_id,
        email,
        at,
    )
    return status.endswith(" 1")


async def join_guest_bookings(conn: asyncpg.Connection, user_id: UUID, email: str) -> list[UUID]:
    """Give the account every booking made as a guest under its (verified) address; the
    ids of those that joined. Migration 0017 allows this one change of `patient_id`, under
    the service's own claims; the audit and realtime triggers record each row."""
    rows = await conn.fetch(
        "UPDATE appointments SET patient_id = $1 "
        "WHERE patient_id IS NULL AND lower(patient_email) = lower($2) RETURNING id",
        user_id,
        email,
    )
    return [row["id"] for row in rows]


async def upcoming_guest_bookings(
    conn: asyncpg.Connection, email: str, *, now: datetime, limit: int = 20
) -> list[asyncpg.Record]:
    """A guest's upcoming active bookings under this e-mail (system claims)."""
    return await conn.fetch(
        """SELECT a.id, a.booking_reference, a.patient_email, a.patient_name, a.starts_at,
                  a.appointment_date, a.appointment_time, a.status, d.name AS dentist_name,
                  d.timezone AS dentist_timezone
           FROM appointments a JOIN dentists d ON d.id = a.dentist_id
           WHERE a.patient_id IS NULL AND lower(a.patient_email) = lower($1)
             AND a.status = ANY($2::text[]) AND a.starts_at > $3
           ORDER BY a.starts_at LIMIT $4""",
        email,
        list(ACTIVE),
        now,
        limit,
    )
