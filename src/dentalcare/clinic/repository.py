"""SQL for the clinic's settings, closures and chairs."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

SETTINGS_COLUMNS = (
    "name",
    "timezone",
    "phone",
    "email",
    "address",
    "default_treatment_type_id",
    "cancellation_notice_hours",
    "hold_minutes",
    "reminder_hours",
)


async def settings_row(conn: asyncpg.Connection, *, lock: bool = False) -> asyncpg.Record:
    """The clinic's one settings row."""
    suffix = " FOR UPDATE" if lock else ""
    row: asyncpg.Record = await conn.fetchrow(
        f"SELECT {', '.join(SETTINGS_COLUMNS)} FROM clinic_settings{suffix}"
    )
    return row


async def update_settings(conn: asyncpg.Connection, changes: dict[str, Any]) -> asyncpg.Record:
    """Apply `changes` (columns from SETTINGS_COLUMNS) and return the row."""
    columns = [c for c in changes if c in SETTINGS_COLUMNS]
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=1))
    row: asyncpg.Record = await conn.fetchrow(
        f"UPDATE clinic_settings SET {assignments}, updated_at = now() "
        f"RETURNING {', '.join(SETTINGS_COLUMNS)}",
        *(changes[c] for c in columns),
    )
    return row


async def closures_from(conn: asyncpg.Connection, first: date) -> list[asyncpg.Record]:
    """Closures on or after `first`, by date."""
    return await conn.fetch(
        "SELECT id, date, reason FROM clinic_closures WHERE date >= $1 ORDER BY date", first
    )


async def closure_dates(conn: asyncpg.Connection, first: date, last: date) -> list[date]:
    """The closed dates in [first, last]."""
    rows = await conn.fetch(
        "SELECT date FROM clinic_closures WHERE date BETWEEN $1 AND $2", first, last
    )
    return [r["date"] for r in rows]


async def insert_closure(
    conn: asyncpg.Connection, *, on: date, reason: str
) -> asyncpg.Record | None:
    """Add a closure; None when that date is already closed."""
    return await conn.fetchrow(
        """INSERT INTO clinic_closures (date, reason) VALUES ($1, $2)
           ON CONFLICT (date) DO NOTHING RETURNING id, date, reason""",
        on,
        reason,
    )


async def delete_closure(conn: asyncpg.Connection, closure_id: UUID) -> bool:
    """Remove a closure; whether it existed."""
    result = await conn.execute("DELETE FROM clinic_closures WHERE id = $1", closure_id)
    return result != "DELETE 0"


async def active_bookings_on(conn: asyncpg.Connection, on: date) -> list[asyncpg.Record]:
    """Every active appointment on a local date (any dentist), by start."""
    return await conn.fetch(
        """SELECT a.id, a.booking_reference, a.dentist_id, d.name AS dentist_name,
                  a.appointment_date, a.appointment_time, a.duration_minutes, a.patient_name,
                  a.status
           FROM appointments a JOIN dentists d ON d.id = a.dentist_id
           WHERE a.appointment_date = $1 AND a.status IN ('pending', 'confirmed')
           ORDER BY a.starts_at, a.id""",
        on,
    )


async def list_chairs(conn: asyncpg.Connection, *, active_only: bool) -> list[asyncpg.Record]:
    """Chairs by name."""
    where = " WHERE active" if active_only else ""
    return await conn.fetch(f"SELECT id, name, active FROM chairs{where} ORDER BY name, id")


async def insert_chair(conn: asyncpg.Connection, *, name: str) -> asyncpg.Record | None:
    """Add a chair; None when an active chair has that name."""
    return await conn.fetchrow(
        """INSERT INTO chairs (name) VALUES ($1)
           ON CONFLICT (lower(name)) WHERE active DO NOTHING RETURNING id, name, active""",
        name,
    )


async def update_chair(
    conn: asyncpg.Connection, chair_id: UUID, changes: dict[str, Any]
) -> asyncpg.Record | None:
    """Rename or (de)activate a chair and return it."""
    columns = [c for c in changes if c in ("name", "active")]
    assignments = "".join(f"{c} = ${i}, " for i, c in enumerate(columns, start=2))
    return await conn.fetchrow(
        f"UPDATE chairs SET {assignments}updated_at = now() WHERE id = $1 "
        "RETURNING id, name, active",
        chair_id,
        *(changes[c] for c in columns),
    )


async def clear_default_chair(conn: asyncpg.Connection, chair_id: UUID) -> None:
    """Dentists whose default chair this was have none any more."""
    await conn.execute(
        "UPDATE dentists SET default_chair_id = NULL WHERE default_chair_id = $1", chair_id
    )


async def treatment_active(conn: asyncpg.Connection, treatment_id: UUID) -> bool:
    """Whether a treatment type exists and is offered."""
    return bool(
        await conn.fetchval("SELECT active FROM treatment_types WHERE id = $1", treatment_id)
    )
