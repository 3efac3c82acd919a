"""SQL for weekly availability and exceptions, and the bookings checked against them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from uuid import UUID

import asyncpg

from dentalcare.treatments.repository import BOOKING_TREATMENT_COLUMNS, booking_treatment_sql
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
        """SELECT * FROM availability_exceptions
           WHERE dentist_id = $1 AND coalesce(until, date) >= $2
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
    until: date | None = None,
) -> asyncpg.Record:
    """Add an exception (time off from `on` to `until` for a range) and return it."""
    return await conn.fetchrow(
        """INSERT INTO availability_exceptions
               (dentist_id, date, start_time, end_time, is_available, reason, until)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        dentist_id,
        on,
        start,
        end,
        is_available,
        reason,
        until,
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


# Everything the slot engine needs, in one round trip. Busy times are the dentist's
# occupancy rows (appointments and live holds, buffers included) as two int8 arrays of
# microseconds since the Unix epoch (decoding rows of records costs twice as much as
# arrays, and arrays of timestamptz a datetime per element), bounded by the GiST index on
# `during`: the cost does not grow with a dentist's history. The chairs' occupancy and
# the clinic's closures do not depend on the dentist: PostgreSQL computes them once per
# statement (an InitPlan), however many dentists it returns.
# $1 dentist(s), $2..$3 local dates, $4..$5 instants, $6 appointment and $7 hold to
# leave out (the one being moved, the caller's own hold), $8 now (holds expired by then
# are not busy, even before the sweeper deletes them). The expiry is looked up for hold
# rows only: as a bare NOT EXISTS it became an anti-join probing `holds` for every
# appointment row too (2,900 with 4 chairs over 62 days: 1.3-1.7 ms of an 8 ms query).
_OCCUPIED = """
    o.during && tstzrange($4, $5)
    AND ($6::uuid IS NULL OR o.appointment_id IS DISTINCT FROM $6)
    AND ($7::uuid IS NULL OR o.hold_id IS DISTINCT FROM $7)
    AND (o.hold_id IS NULL
         OR NOT EXISTS (SELECT FROM holds h WHERE h.id = o.hold_id AND h.expires_at <= $8))
"""
# The active chairs in the order `chair_ids` lists them.
_ACTIVE_CHAIRS = "ARRAY(SELECT c.id FROM chairs c WHERE c.active ORDER BY c.name, c.id)"


def _us(moment: str) -> str:
    """An instant as int8 microseconds since the Unix epoch (exact: extract is numeric)."""
    return f"(extract(epoch FROM {moment}) * 1000000)::int8"


_SCHEDULE_SELECT = f"""
SELECT d.id, d.name, d.timezone, d.slot_minutes, d.active, d.default_chair_id,
       ARRAY(SELECT ROW(w.day_of_week, w.start_time, w.end_time, w.is_available)
             FROM dentist_availability w WHERE w.dentist_id = d.id) AS weekly,
       ARRAY(SELECT ROW(e.date, e.start_time, e.end_time, e.is_available, e.until)
             FROM availability_exceptions e
             WHERE e.dentist_id = d.id AND e.date <= $3
               AND coalesce(e.until, e.date) >= $2) AS exceptions,
       coalesce(busy.starts, '{{}}') AS busy_starts,
       coalesce(busy.ends, '{{}}') AS busy_ends,
       {_ACTIVE_CHAIRS} AS chair_ids,
       chair_busy.positions AS chair_busy_positions,
       chair_busy.starts AS chair_busy_starts,
       chair_busy.ends AS chair_busy_ends,
       ARRAY(SELECT x.date FROM clinic_closures x WHERE x.date BETWEEN $2 AND $3) AS closures,
       -- When the answer stops being true on its own: the first live hold's expiry (the
       -- clinic's, an index probe computed once per statement; for the slots cache).
       (SELECT min(h.expires_at) FROM holds h WHERE h.expires_at > $8) AS next_hold_expiry
FROM dentists d
-- The occupancy look-ups use the exclusion constraints' own index expressions
-- (uuid_range(...) && ..., during && ...): GiST index scans, not scans of the table.
CROSS JOIN (
    -- By chair (1-based position in chair_ids: an int4, not a uuid to decode per row),
    -- then by start; the same ORDER BY for all three, so one sort.
    SELECT coalesce(array_agg(o.pos ORDER BY o.pos, o.starts), '{{}}') AS positions,
           coalesce(array_agg(o.starts ORDER BY o.pos, o.starts), '{{}}') AS starts,
           coalesce(array_agg(o.ends ORDER BY o.pos, o.starts), '{{}}') AS ends
    FROM (
        SELECT array_position({_ACTIVE_CHAIRS}, o.chair_id) AS pos,
               {_us("lower(o.during)")} AS starts, {_us("upper(o.during)")} AS ends
        FROM occupancy o
    -- The active chairs' ids once (an InitPlan), not a join probing chairs for each row.
        WHERE o.chair_id = ANY(ARRAY(SELECT c.id FROM chairs c WHERE c.active)) AND {_OCCUPIED}
    ) AS o
) AS chair_busy
LEFT JOIN LATERAL (
    SELECT array_agg({_us("lower(o.during)")} ORDER BY lower(o.during)) AS starts,
           array_agg({_us("upper(o.during)")} ORDER BY lower(o.during)) AS ends
    FROM occupancy o
    WHERE uuid_range(o.dentist_id, o.dentist_id, '[]') && uuid_range(d.id, d.id, '[]')
      AND {_OCCUPIED}
) AS busy ON true
"""
_SCHEDULE_SQL = _SCHEDULE_SELECT + "WHERE d.id = $1"
_SCHEDULES_SQL = _SCHEDULE_SELECT + "WHERE d.id = ANY($1::uuid[])"
# A booking's snapshot: the dentist's schedule and the treatment the booking names ($9,
# the clinic's default when NULL), its columns prefixed `treatment_` (NULL when there is
# no such treatment), and what the booking's messages need of the clinic (its settings
# row's `clinic_*`, NULL without one) and of the patient ($10: whether that address
# stopped reminders), in one round trip.
_SCHEDULE_FOR_BOOKING_SQL = (
    "SELECT s.*, "
    + ", ".join(f"tr.{c} AS treatment_{c}" for c in BOOKING_TREATMENT_COLUMNS)
    + ", cs.name AS clinic_name, cs.address AS clinic_address, cs.phone AS clinic_phone, "
    "cs.reminder_hours AS clinic_reminder_hours, "
    "coalesce(reminders_opted_out($10::text), false) AS reminders_opted_out"
    f" FROM ({_SCHEDULE_SQL}) AS s LEFT JOIN LATERAL ({booking_treatment_sql('$9')}) AS tr"
    " ON true LEFT JOIN LATERAL (SELECT name, address, phone, reminder_hours"
    " FROM clinic_settings LIMIT 1) AS cs ON true"
)


async def schedule_snapshot(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    first: date,
    last: date,
    busy_from: datetime,
    busy_to: datetime,
    now: datetime,
    ignore_appointment: UUID | None = None,
    ignore_hold: UUID | None = None,
) -> asyncpg.Record | None:
    """The dentist, their windows, the exceptions in [first, last], the busy intervals of
    the dentist and of every active chair, the clinic's closures, and when the first live
    hold expires."""
    return await conn.fetchrow(
        _SCHEDULE_SQL,
        dentist_id,
        first,
        last,
        busy_from,
        busy_to,
        ignore_appointment,
        ignore_hold,
        now,
    )


async def schedule_for_booking(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    treatment_id: UUID | None,
    day: date,
    busy_from: datetime,
    busy_to: datetime,
    now: datetime,
    ignore_appointment: UUID | None = None,
    patient_email: str | None = None,
) -> asyncpg.Record | None:
    """`schedule_snapshot` for one day, with the treatment a booking of `treatment_id`
    takes (`treatment_*` columns), the clinic's settings (`clinic_*`) and whether
    `patient_email` stopped reminders (`reminders_opted_out`)."""
    return await conn.fetchrow(
        _SCHEDULE_FOR_BOOKING_SQL,
        dentist_id,
        day,
        day,
        busy_from,
        busy_to,
        ignore_appointment,
        None,
        now,
        treatment_id,
        patient_email,
    )


async def schedule_snapshots(
    conn: asyncpg.Connection,
    *,
    dentist_ids: Sequence[UUID],
    first: date,
    last: date,
    busy_from: datetime,
    busy_to: datetime,
    now: datetime,
    ignore_hold: UUID | None = None,
) -> list[asyncpg.Record]:
    """`schedule_snapshot` for several dentists in one round trip (unknown ids: no row)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        _SCHEDULES_SQL, list(dentist_ids), first, last, busy_from, busy_to, None, ignore_hold, now
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


async def dentists_with_hours(conn: asyncpg.Connection, *, since: date) -> list[UUID]:
    """The dentists with weekly hours, or with extra hours on a date from `since` on."""
    rows = await conn.fetch(
        """SELECT dentist_id FROM dentist_availability WHERE is_available
           UNION
           SELECT dentist_id FROM availability_exceptions
           WHERE is_available AND coalesce(until, date) >= $1""",
        since,
    )
    return [r["dentist_id"] for r in rows]
