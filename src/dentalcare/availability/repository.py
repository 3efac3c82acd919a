"""SQL for weekly availability and exceptions, and the bookings checked against them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from uuid import UUID

import asyncpg

from dentalcare.vocabulary import ACTIVE_SQL

WINDOW_COLUMNS = "id, dentist_id, day_of_week, start_time, end_time, is_available"


async def replace_weekly(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    windows: Iterable[tuple[int, time, time, bool]],
) -> list[asyncpg.Record]:
    """Replace a dentist's weekly windows with `windows` (day, start, end, is_available)."""
    await conn.execute("DELETE FROM dentist_availability WHERE dentist_id = $1", dentist_id)
    rows = list(windows)
    if not rows:
        return []
    return await conn.fetch(
        f"""INSERT INTO dentist_availability (dentist_id, day_of_week, start_time, end_time,
                                              is_available)
            SELECT $1, d, s, e, a FROM unnest($2::smallint[], $3::time[], $4::time[], $5::bool[])
                AS w(d, s, e, a)
            RETURNING {WINDOW_COLUMNS}""",
        dentist_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )


async def weekly_windows(conn: asyncpg.Connection, dentist_id: UUID) -> list[asyncpg.Record]:
    """A dentist's weekly windows, by day and time."""
    return await conn.fetch(
        f"""SELECT {WINDOW_COLUMNS} FROM dentist_availability WHERE dentist_id = $1
            ORDER BY day_of_week, start_time""",
        dentist_id,
    )


async def exceptions_from(
    conn: asyncpg.Connection, dentist_id: UUID, start: date
) -> list[asyncpg.Record]:
    """A dentist's exceptions on or after `start`, by date."""
    return await conn.fetch(
        """SELECT * FROM availability_exceptions WHERE dentist_id = $1 AND date >= $2
           ORDER BY date, start_time NULLS FIRST""",
        dentist_id,
        start,
    )


async def insert_exception(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    on: date,
    start: time | None,
    end: time | None,
    is_available: bool,
    reason: str | None,
) -> asyncpg.Record:
    """Add an exception and return it."""
    return await conn.fetchrow(
        """INSERT INTO availability_exceptions
               (dentist_id, date, start_time, end_time, is_available, reason)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        dentist_id,
        on,
        start,
        end,
        is_available,
        reason,
    )


async def delete_exception(
    conn: asyncpg.Connection, *, dentist_id: UUID, exception_id: UUID
) -> bool:
    """Delete one of the dentist's exceptions; whether it existed."""
    result = await conn.execute(
        "DELETE FROM availability_exceptions WHERE id = $1 AND dentist_id = $2",
        exception_id,
        dentist_id,
    )
    return result != "DELETE 0"


# Everything the slot engine needs, in one round trip. Busy times come as two plain
# arrays (decoding rows of records costs twice as much) and are bounded by the local
# date, which the partial index appointments_active_by_day serves: the cost of a check
# does not grow with a dentist's history.
_SCHEDULE_SELECT = """
SELECT d.id, d.name, d.timezone, d.slot_minutes, d.active,
       ARRAY(SELECT ROW(w.day_of_week, w.start_time, w.end_time, w.is_available)
             FROM dentist_availability w WHERE w.dentist_id = d.id) AS weekly,
       ARRAY(SELECT ROW(e.date, e.start_time, e.end_time, e.is_available)
             FROM availability_exceptions e
             WHERE e.dentist_id = d.id AND e.date BETWEEN $2 AND $3) AS exceptions,
       coalesce(busy.starts, '{}') AS busy_starts,
       coalesce(busy.ends, '{}') AS busy_ends
FROM dentists d
LEFT JOIN LATERAL (
    SELECT array_agg(b.starts_at ORDER BY b.starts_at, b.id) AS starts,
           array_agg(b.ends_at ORDER BY b.starts_at, b.id) AS ends
    FROM appointment_busy b
    WHERE b.dentist_id = d.id AND b.appointment_date BETWEEN $2::date - 2 AND $3::date + 2
      AND b.starts_at < $5 AND b.ends_at > $4 AND b.id IS DISTINCT FROM $6
) AS busy ON true
"""
_SCHEDULE_SQL = _SCHEDULE_SELECT + "WHERE d.id = $1"
_SCHEDULES_SQL = _SCHEDULE_SELECT + "WHERE d.id = ANY($1::uuid[])"


async def schedule_snapshot(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    first: date,
    last: date,
    busy_from: datetime,
    busy_to: datetime,
    ignore_appointment: UUID | None = None,
) -> asyncpg.Record | None:
    """The dentist, their windows, the exceptions in [first, last] and busy intervals."""
    return await conn.fetchrow(
        _SCHEDULE_SQL, dentist_id, first, last, busy_from, busy_to, ignore_appointment
    )


async def schedule_snapshots(
    conn: asyncpg.Connection,
    *,
    dentist_ids: Sequence[UUID],
    first: date,
    last: date,
    busy_from: datetime,
    busy_to: datetime,
) -> list[asyncpg.Record]:
    """`schedule_snapshot` for several dentists in one round trip (unknown ids: no row)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        _SCHEDULES_SQL, list(dentist_ids), first, last, busy_from, busy_to, None
    )
    return rows


async def upcoming_bookings(
    conn: asyncpg.Connection, *, dentist_id: UUID, after: datetime
) -> list[asyncpg.Record]:
    """A dentist's active appointments that start after `after` (to check against new hours)."""
    return await conn.fetch(
        f"""SELECT id, booking_reference, appointment_date, appointment_time, duration_minutes,
                   patient_name, status
            FROM appointments
            WHERE dentist_id = $1 AND starts_at > $2 AND status IN ({ACTIVE_SQL})
            ORDER BY starts_at""",
        dentist_id,
        after,
    )
