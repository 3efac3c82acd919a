"""SQL for appointments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.appointments.schemas import AppointmentCreate, AppointmentUpdate
from dentalcare.db.locks import DENTIST_WRITERS
from dentalcare.outbox import repository as outbox
from dentalcare.vocabulary import Status

# Every column plus the dentist's name, as the contract's `appointment` has it.
SELECT_APPOINTMENT = """
    SELECT a.*, d.name AS dentist_name, t.name AS treatment_name, c.name AS chair_name
    FROM appointments a JOIN dentists d ON d.id = a.dentist_id
    LEFT JOIN treatment_types t ON t.id = a.treatment_type_id
    LEFT JOIN chairs c ON c.id = a.chair_id
"""

# A booking writes what its body carries plus what the server decides; the database's
# defaults and trigger fill in the rest (status, starts_at/ends_at, timestamps).
SET_BY_SERVER = (
    # Drawn by the service, so that a booking whose reference collided can let go of the
    # interval its trigger took (see try_insert_appointment).
    "id",
    "booking_reference",
    "patient_id",
    "booking_source",
    "urgency",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    # The chair to try first (a converted hold's); the database assigns the one it gets.
    "chair_id",
)
INSERTABLE = (*AppointmentCreate.model_fields, *SET_BY_SERVER)
# A change writes only what PUT /api/appointments/{id} may carry.
# A reschedule also writes the length and chair time of the treatment with the new
# dentist, and the chair to try first.
UPDATABLE = frozenset(AppointmentUpdate.model_fields) | {
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "chair_id",
}
_INSERT_SQL = (
    f"INSERT INTO appointments ({', '.join(INSERTABLE)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(INSERTABLE) + 1))}) RETURNING *"
)


# A booking that collides with another (its trigger finds the interval taken and
# inserts nothing) or draws a reference in use (ON CONFLICT DO NOTHING) inserts nothing
# instead of failing: no error, so no savepoint is needed to answer it, and concurrent
# inserts wait for each other without deadlocking. A guest's booking also notes the
# address it came from, in the same statement (nothing when the booking inserts nothing).
# The row comes from a SELECT whose FROM sets `app.when_taken` first (migration 0009)
# and queues behind the dentist's other writers (db.locks.queue_for_dentist's lock, in
# the same round trip): the row exists only once the lock is held, so the trigger that
# then looks for a free interval and a chair runs after the writer ahead has committed
# (its queries take their own snapshots; the exclusion indexes see in-progress rows).
_DENTIST = f"${INSERTABLE.index('dentist_id') + 1}::uuid"
_TRY_INSERT = (
    f"INSERT INTO appointments ({', '.join(INSERTABLE)}) "
    f"SELECT {', '.join(f'${i}' for i in range(1, len(INSERTABLE) + 1))} "
    "FROM (SELECT set_config('app.when_taken', 'skip', true), "
    f"pg_advisory_xact_lock({DENTIST_WRITERS}, hashtext(CAST({_DENTIST} AS text)))) AS queued "
    "ON CONFLICT DO NOTHING RETURNING *"
)
# With the chair's name (what the booking's messages need of the clinic and the patient
# comes with the booking's snapshot: availability.repository.schedule_for_booking).
_WITH_NAMES = (
    "SELECT booked.*, c.name AS chair_name FROM booked LEFT JOIN chairs c ON c.id = booked.chair_id"
)


def _try_insert_sql(*, guest: bool, messages: bool) -> str:
    """The booking's INSERT; with `guest`, noting the address (the next parameter); with
    `messages`, writing the booking's messages too (the 11 parameters after that,
    outbox.repository.enqueue_in_statement), only if the appointment was inserted: the
    call takes its appointment id from the inserted row."""
    parameters = len(INSERTABLE)
    ctes = [f"booked AS ({_TRY_INSERT})"]
    if guest:
        parameters += 1
        ctes.append(
            "origin AS (INSERT INTO guest_bookings (appointment_id, address) "
            f"SELECT id, ${parameters} FROM booked)"
        )
    select = _WITH_NAMES
    if messages:
        call = outbox.enqueue_in_statement(parameters + 1, appointment="booked.id")
        ctes.append(f"outbox AS (SELECT written FROM booked, {call} AS written)")
        # Referenced, so that it runs (a CTE that only reads runs only if read).
        select = select.replace(
            "SELECT booked.*,", "SELECT booked.*, (SELECT count(*) FROM outbox) AS messages,"
        )
    return f"WITH {', '.join(ctes)} {select}"


_TRY_INSERT_SQLS = {
    (guest, messages): _try_insert_sql(guest=guest, messages=messages)
    for guest in (False, True)
    for messages in (False, True)
}


async def insert_appointment(conn: asyncpg.Connection, values: dict[str, Any]) -> asyncpg.Record:
    """Insert an appointment (columns from INSERTABLE) and return the row."""
    return await conn.fetchrow(_INSERT_SQL, *(values.get(c) for c in INSERTABLE))


async def try_insert_appointment(
    conn: asyncpg.Connection,
    values: dict[str, Any],
    *,
    guest_address: str | None = None,
    messages: list[dict[str, Any]] | None = None,
) -> asyncpg.Record | None:
    """Insert an appointment unless it collides with an active one or its reference is
    taken (None then; `reference_taken` tells which). A guest's booking (`guest_address`,
    the client address it came from) is noted in guest_bookings too. `messages`: rows
    for the messages table (outbox.enqueue.message_rows) written in the same statement
    if the appointment is inserted (`messages` in the row: how many were)."""
    arguments = [values.get(c) for c in INSERTABLE]
    if guest_address is not None:
        arguments.append(guest_address)
    if messages:
        arguments.extend(outbox.message_arguments(messages))
    sql = _TRY_INSERT_SQLS[(guest_address is not None, bool(messages))]
    return await conn.fetchrow(sql, *arguments)


async def release_interval(conn: asyncpg.Connection, appointment_id: UUID) -> None:
    """Let go of the interval a booking's trigger took when the insert itself then did
    nothing (its reference collided)."""
    await conn.execute("SELECT release_occupancy($1)", appointment_id)


async def release_expired_holds(conn: asyncpg.Connection, *, now: datetime) -> int:
    """Delete holds expired by `now` (their intervals with them); how many."""
    rows = await conn.fetch("SELECT id FROM release_expired_holds($1, 1000)", now)
    return len(rows)


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


async def mark_arrived(conn: asyncpg.Connection, appointment_id: UUID, *, at: datetime) -> None:
    """Note the patient's arrival."""
    await conn.execute("UPDATE appointments SET arrived_at = $2 WHERE id = $1", appointment_id, at)


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
        f"WITH changed AS (UPDATE appointments SET {assignments} WHERE id = $1 RETURNING *) "
        "SELECT changed.*, t.name AS treatment_name, c.name AS chair_name FROM changed "
        "LEFT JOIN treatment_types t ON t.id = changed.treatment_type_id "
        "LEFT JOIN chairs c ON c.id = changed.chair_id",
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


async def booking_overlaps(
    conn: asyncpg.Connection,
    *,
    starts_at: datetime,
    ends_at: datetime,
    patient_id: UUID | None,
    email: str,
    guests_only: bool,
    lock: bool,
) -> list[asyncpg.Record]:
    """The patient's active appointments overlapping [starts_at, ends_at), with any
    dentist, first to start first (at most 3): those of the account `patient_id`, else
    those booked under `email` (only guest bookings if `guests_only`). With `lock`, a
    transaction-scoped lock on the patient is taken first, so two bookings of theirs at
    once check one after the other: one round trip (booking_overlaps(), migration 0029,
    whose query sees what the booking it waited for committed)."""
    return await conn.fetch(
        "SELECT * FROM booking_overlaps($1, $2, $3, $4, $5, $6)",
        starts_at,
        ends_at,
        patient_id,
        email,
        guests_only,
        lock,
    )
