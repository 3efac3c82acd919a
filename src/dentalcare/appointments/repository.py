"""SQL for appointments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.appointments.schemas import AppointmentCreate, AppointmentUpdate
from dentalcare.vocabulary import Status

# Every column plus the dentist's name, as the contract's `appointment` has it.
SELECT_APPOINTMENT = """
    SELECT a.*, d.name AS dentist_name
    FROM appointments a JOIN dentists d ON d.id = a.dentist_id
"""

# A booking writes what its body carries plus what the server decides; the database's
# defaults and trigger fill in the rest (status, starts_at/ends_at, timestamps).
SET_BY_SERVER = ("booking_reference", "patient_id", "booking_source", "urgency", "duration_minutes")
INSERTABLE = (*AppointmentCreate.model_fields, *SET_BY_SERVER)
# A change writes only what PUT /api/appointments/{id} may carry.
UPDATABLE = frozenset(AppointmentUpdate.model_fields)
_INSERT_SQL = (
    f"INSERT INTO appointments ({', '.join(INSERTABLE)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(INSERTABLE) + 1))}) RETURNING *"
)


# A booking that collides with another (the exclusion constraint) or draws a reference
# in use inserts nothing instead of failing: no error, so no savepoint is needed to
# answer it, and concurrent inserts wait for each other without deadlocking.
_TRY_INSERT_SQL = _INSERT_SQL.replace(" RETURNING *", " ON CONFLICT DO NOTHING RETURNING *")
# A guest's booking also notes the address it came from, in the same statement (nothing
# when the booking inserts nothing).
_TRY_INSERT_GUEST_SQL = (
    f"WITH booked AS ({_TRY_INSERT_SQL}), "
    "origin AS (INSERT INTO guest_bookings (appointment_id, address) "
    f"SELECT id, ${len(INSERTABLE) + 1} FROM booked) "
    "SELECT * FROM booked"
)


async def insert_appointment(conn: asyncpg.Connection, values: dict[str, Any]) -> asyncpg.Record:
    """Insert an appointment (columns from INSERTABLE) and return the row."""
    return await conn.fetchrow(_INSERT_SQL, *(values.get(c) for c in INSERTABLE))


async def try_insert_appointment(
    conn: asyncpg.Connection, values: dict[str, Any], *, guest_address: str | None = None
) -> asyncpg.Record | None:
    """Insert an appointment unless it collides with an active one or its reference is
    taken (None then; `reference_taken` tells which). A guest's booking (`guest_address`,
    the client address it came from) is noted in guest_bookings too."""
    arguments = [values.get(c) for c in INSERTABLE]
    if guest_address is None:
        return await conn.fetchrow(_TRY_INSERT_SQL, *arguments)
    return await conn.fetchrow(_TRY_INSERT_GUEST_SQL, *arguments, guest_address)


async def reference_taken(conn: asyncpg.Connection, reference: str) -> bool:
    """Whether any appointment has this booking reference (whatever the caller may see)."""
    return bool(await conn.fetchval("SELECT booking_reference_taken($1)", reference))


async def guest_upcoming_bookings(
    conn: asyncpg.Connection, *, email: str, phone: str, address: str | None, now: datetime
) -> asyncpg.Record:
    """(by_email, by_phone, by_address): guests' active bookings not begun by `now` with
    this e-mail, this phone number, from this address. Holds them for this transaction,
    so that a concurrent booking sharing any of them counts after this one."""
    row: asyncpg.Record = await conn.fetchrow(
        "SELECT * FROM guest_upcoming_bookings($1, $2, $3, $4)", email, phone, address, now
    )
    return row


async def appointment_by_id(
    conn: asyncpg.Connection, appointment_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """An appointment visible to the transaction's claims."""
    suffix = " FOR UPDATE OF a" if lock else ""
    return await conn.fetchrow(f"{SELECT_APPOINTMENT} WHERE a.id = $1{suffix}", appointment_id)


async def appointment_by_reference(
    conn: asyncpg.Connection, reference: str
) -> asyncpg.Record | None:
    """An appointment by booking reference, if the claims let the caller see it."""
    return await conn.fetchrow(
        f"{SELECT_APPOINTMENT} WHERE a.booking_reference = $1", reference.strip().upper()
    )


async def update_appointment(
    conn: asyncpg.Connection, appointment_id: UUID, changes: dict[str, Any]
) -> asyncpg.Record | None:
    """Apply `changes` (columns from UPDATABLE) and return the row."""
    columns = [c for c in changes if c in UPDATABLE]
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    return await conn.fetchrow(
        f"UPDATE appointments SET {assignments} WHERE id = $1 RETURNING *",
        appointment_id,
        *(changes[c] for c in columns),
    )


async def list_appointments(
    conn: asyncpg.Connection,
    *,
    status: Status | None,
    dentist_id: UUID | None,
    date_from: date | None,
    date_to: date | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[asyncpg.Record]:
    """A page of the appointments the claims can see, ordered by start time then id."""
    return await conn.fetch(
        f"""{SELECT_APPOINTMENT}
            WHERE ($1::text IS NULL OR a.status = $1)
              AND ($2::uuid IS NULL OR a.dentist_id = $2)
              AND ($3::date IS NULL OR a.appointment_date >= $3)
              AND ($4::date IS NULL OR a.appointment_date <= $4)
              AND ($5::timestamptz IS NULL OR (a.starts_at, a.id) > ($5, $6::uuid))
            ORDER BY a.starts_at, a.id
            LIMIT $7""",
        status,
        dentist_id,
        date_from,
        date_to,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
