"""SQL for the reports: counts over appointments, hours over the weekly schedule."""

from __future__ import annotations

from datetime import date

import asyncpg

_COUNTS = """
SELECT count(*) AS appointments,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'no_show') AS no_shows,
       count(*) FILTER (WHERE status = 'cancelled') AS cancellations,
       count(*) FILTER (WHERE status IN ('pending', 'confirmed')) AS open
FROM appointments WHERE appointment_date BETWEEN $1 AND $2
"""

_BY_SOURCE = """
SELECT booking_source, count(*) AS n FROM appointments
WHERE appointment_date BETWEEN $1 AND $2 GROUP BY booking_source
"""

_BY_DAY = """
SELECT d::date AS day,
       count(a.id) FILTER (WHERE a.status <> 'cancelled') AS booked,
       count(a.id) FILTER (WHERE a.status = 'cancelled') AS cancelled,
       count(a.id) FILTER (WHERE a.status = 'no_show') AS no_shows
FROM generate_series($1::date, $2::date, interval '1 day') AS d
LEFT JOIN appointments a ON a.appointment_date = d::date
GROUP BY d ORDER BY d
"""

# A dentist's hours: their weekly windows on each day of the range (exceptions aside);
# their booked time: the length of every appointment that was not cancelled.
_DENTISTS = """
WITH days AS (
    SELECT d::date AS day, (extract(isodow FROM d)::int - 1) AS dow
    FROM generate_series($1::date, $2::date, interval '1 day') AS d
),
hours AS (
    SELECT w.dentist_id,
           sum(extract(epoch FROM (w.end_time - w.start_time)) / 60)::bigint AS minutes
    FROM days JOIN dentist_availability w ON w.day_of_week = days.dow AND w.is_available
    GROUP BY w.dentist_id
),
booked AS (
    SELECT dentist_id, sum(duration_minutes)::bigint AS minutes
    FROM appointments
    WHERE appointment_date BETWEEN $1 AND $2 AND status <> 'cancelled'
    GROUP BY dentist_id
)
SELECT d.id, d.name, coalesce(h.minutes, 0) AS available_minutes,
       coalesce(b.minutes, 0) AS booked_minutes
FROM dentists d
LEFT JOIN hours h ON h.dentist_id = d.id
LEFT JOIN booked b ON b.dentist_id = d.id
WHERE d.active OR b.minutes IS NOT NULL
ORDER BY d.name, d.id
"""

# A chair's open time: the clinic's day on each date of the range, from the earliest
# dentist window to the latest end; its booked time: appointments in it, buffers included.
_CHAIRS = """
WITH days AS (
    SELECT d::date AS day, (extract(isodow FROM d)::int - 1) AS dow
    FROM generate_series($1::date, $2::date, interval '1 day') AS d
),
open_day AS (
    SELECT days.day,
           coalesce(extract(epoch FROM (max(w.end_time) - min(w.start_time))) / 60, 0)
               AS minutes
    FROM days LEFT JOIN dentist_availability w
         ON w.day_of_week = days.dow AND w.is_available
         AND w.dentist_id IN (SELECT id FROM dentists WHERE active)
    GROUP BY days.day
),
open_total AS (SELECT coalesce(sum(minutes), 0)::bigint AS minutes FROM open_day),
booked AS (
    SELECT chair_id,
           sum(duration_minutes + buffer_before_minutes + buffer_after_minutes)::bigint
               AS minutes
    FROM appointments
    WHERE appointment_date BETWEEN $1 AND $2 AND status <> 'cancelled'
      AND chair_id IS NOT NULL
    GROUP BY chair_id
)
SELECT c.id, c.name, (SELECT minutes FROM open_total) AS open_minutes,
       coalesce(b.minutes, 0) AS booked_minutes
FROM chairs c LEFT JOIN booked b ON b.chair_id = c.id
WHERE c.active OR b.minutes IS NOT NULL
ORDER BY c.name, c.id
"""


async def counts(conn: asyncpg.Connection, start: date, end: date) -> asyncpg.Record:
    """Appointments in the range by outcome."""
    row: asyncpg.Record = await conn.fetchrow(_COUNTS, start, end)
    return row


async def by_source(conn: asyncpg.Connection, start: date, end: date) -> dict[str, int]:
    """Appointments in the range by booking source."""
    return {r["booking_source"]: r["n"] for r in await conn.fetch(_BY_SOURCE, start, end)}


async def by_day(conn: asyncpg.Connection, start: date, end: date) -> list[asyncpg.Record]:
    """Booked, cancelled and no-show appointments on each day of the range."""
    return await conn.fetch(_BY_DAY, start, end)


async def dentists(conn: asyncpg.Connection, start: date, end: date) -> list[asyncpg.Record]:
    """Each dentist's hours and booked minutes in the range."""
    return await conn.fetch(_DENTISTS, start, end)


async def chairs(conn: asyncpg.Connection, start: date, end: date) -> list[asyncpg.Record]:
    """Each chair's open and booked minutes in the range."""
    return await conn.fetch(_CHAIRS, start, end)
