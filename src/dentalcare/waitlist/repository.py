"""SQL for the waitlist: entries, offers, freed slots, recalls and the dashboard figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

_ENTRY = """e.id, e.patient_id, e.patient_name, e.patient_email, e.patient_phone,
    e.treatment_type_id, e.dentist_id, e.earliest_date, e.latest_date, e.times, e.status,
    e.booked_appointment_id, e.created_at"""
_OFFER = """o.id, o.entry_id, o.freed_slot_id, o.hold_id, o.dentist_id, o.treatment_type_id,
    o.appointment_date, o.appointment_time, o.starts_at, o.expires_at, o.token_hash,
    o.offered_by, o.status, o.appointment_id, o.created_at, o.resolved_at"""


async def insert_entry(conn: asyncpg.Connection, **values: Any) -> asyncpg.Record:
    """Insert an entry."""
    return await conn.fetchrow(
        f"""INSERT INTO waitlist_entries AS e (patient_id, patient_name, patient_email,
                patient_phone, treatment_type_id, dentist_id, earliest_date, latest_date,
                times, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            RETURNING {_ENTRY}""",
        values["patient_id"],
        values["patient_name"],
        values["patient_email"],
        values["patient_phone"],
        values["treatment_type_id"],
        values["dentist_id"],
        values["earliest_date"],
        values["latest_date"],
        values["times"],
        values["created_by"],
    )


async def entry_by_id(
    conn: asyncpg.Connection, entry_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """One entry (visible to the caller)."""
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(
        f"SELECT {_ENTRY} FROM waitlist_entries e WHERE e.id = $1{suffix}", entry_id
    )


async def list_entries(
    conn: asyncpg.Connection,
    *,
    status: str | None,
    dentist_id: UUID | None,
    treatment_type_id: UUID | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Entries visible to the caller, oldest first, with their live offer's columns."""
    return await conn.fetch(
        f"""SELECT {_ENTRY}, o.hold_id, o.dentist_id AS offer_dentist_id,
                   o.appointment_date, o.appointment_time, o.starts_at, o.expires_at,
                   o.status AS offer_status
            FROM waitlist_entries e
            LEFT JOIN waitlist_offers o ON o.entry_id = e.id AND o.status = 'live'
            WHERE ($1::text IS NULL OR e.status = $1)
              AND ($2::uuid IS NULL OR e.dentist_id = $2)
              AND ($3::uuid IS NULL OR e.treatment_type_id = $3)
            ORDER BY e.created_at, e.id LIMIT $4""",
        status,
        dentist_id,
        treatment_type_id,
        limit,
    )


async def set_entry_status(
    conn: asyncpg.Connection,
    entry_id: UUID,
    status: str,
    *,
    appointment_id: UUID | None = None,
) -> None:
    """Change an entry's status."""
    await conn.execute(
        """UPDATE waitlist_entries SET status = $2,
               booked_appointment_id = coalesce($3, booked_appointment_id)
           WHERE id = $1""",
        entry_id,
        status,
        appointment_id,
    )


async def expire_entries(conn: asyncpg.Connection, *, today: date) -> int:
    """Waiting entries whose range has passed become expired; how many."""
    done = await conn.execute(
        "UPDATE waitlist_entries SET status = 'expired' "
        "WHERE status = 'waiting' AND latest_date < $1",
        today,
    )
    return int(done.split()[-1])


async def live_offer_of(
    conn: asyncpg.Connection, entry_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """The entry's live offer."""
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(
        f"SELECT {_OFFER} FROM waitlist_offers o WHERE o.entry_id = $1 AND o.status = 'live'"
        + suffix,
        entry_id,
    )


async def open_offers_of_patient(
    conn: asyncpg.Connection, patient_id: UUID, *, now: datetime
) -> list[asyncpg.Record]:
    """A patient's live, unexpired offers, soonest first, with who and what they are for."""
    return await conn.fetch(
        """SELECT o.entry_id, o.dentist_id, o.appointment_date, o.appointment_time,
                  o.starts_at, o.expires_at, d.name AS dentist_name,
                  d.timezone AS dentist_timezone, t.name AS treatment_name
           FROM waitlist_offers o
           JOIN waitlist_entries e ON e.id = o.entry_id
           JOIN dentists d ON d.id = o.dentist_id
           JOIN treatment_types t ON t.id = o.treatment_type_id
           WHERE o.status = 'live' AND o.expires_at > $2 AND e.patient_id = $1
           ORDER BY o.starts_at, o.entry_id""",
        patient_id,
        now,
    )


async def insert_offer(conn: asyncpg.Connection, **values: Any) -> asyncpg.Record:
    """Record an offer of a held slot to an entry."""
    return await conn.fetchrow(
        f"""INSERT INTO waitlist_offers AS o (entry_id, freed_slot_id, hold_id, dentist_id,
                treatment_type_id, appointment_date, appointment_time, starts_at, expires_at,
                token_hash, offered_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            RETURNING {_OFFER}""",
        values["entry_id"],
        values["freed_slot_id"],
        values["hold_id"],
        values["dentist_id"],
        values["treatment_type_id"],
        values["appointment_date"],
        values["appointment_time"],
        values["starts_at"],
        values["expires_at"],
        values["token_hash"],
        values["offered_by"],
    )


async def resolve_offer(
    conn: asyncpg.Connection,
    offer_id: UUID,
    status: str,
    *,
    now: datetime,
    appointment_id: UUID | None = None,
) -> None:
    """End an offer (accepted, declined or lapsed)."""
    await conn.execute(
        "UPDATE waitlist_offers SET status = $2, resolved_at = $3, appointment_id = $4 "
        "WHERE id = $1",
        offer_id,
        status,
        now,
        appointment_id,
    )


async def lapsed_offers(conn: asyncpg.Connection, *, now: datetime) -> list[asyncpg.Record]:
    """Live offers past their expiry, locked (another process's are skipped)."""
    return await conn.fetch(
        f"""SELECT {_OFFER} FROM waitlist_offers o
            WHERE o.status = 'live' AND o.expires_at <= $1
            ORDER BY o.expires_at LIMIT 100 FOR UPDATE SKIP LOCKED""",
        now,
    )


async def record_freed_slot(
    conn: asyncpg.Connection, *, dentist_id: UUID, starts_at: datetime, ends_at: datetime
) -> None:
    """A slot staff offer by hand, recorded as freed by staff (for the figures)."""
    await conn.execute(
        "INSERT INTO freed_slots (dentist_id, starts_at, ends_at, source) "
        "VALUES ($1, $2, $3, 'staff')",
        dentist_id,
        starts_at,
        ends_at,
    )


async def next_freed_slot(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The oldest unprocessed freed slot, locked (another process's are skipped)."""
    return await conn.fetchrow(
        """SELECT f.id, coalesce(f.origin_id, f.id) AS origin, f.dentist_id, f.starts_at,
                  f.ends_at, f.source
           FROM freed_slots f WHERE f.processed_at IS NULL
           ORDER BY f.id LIMIT 1 FOR UPDATE SKIP LOCKED"""
    )


async def dentist_zone(conn: asyncpg.Connection, dentist_id: UUID) -> asyncpg.Record | None:
    """A dentist's time zone and whether they still work here."""
    return await conn.fetchrow("SELECT timezone, active FROM dentists WHERE id = $1", dentist_id)


async def any_lapsed(conn: asyncpg.Connection, *, now: datetime) -> bool:
    """Whether some live offer is past its expiry (a one-table look before the work)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT FROM waitlist_offers WHERE status = 'live' "
            "AND expires_at <= $1)",
            now,
        )
    )


async def mark_freed_slot(
    conn: asyncpg.Connection, freed_id: int, *, outcome: str, now: datetime
) -> None:
    """Note what became of a freed slot."""
    await conn.execute(
        "UPDATE freed_slots SET processed_at = $2, outcome = $3 WHERE id = $1",
        freed_id,
        now,
        outcome,
    )


async def candidates(
    conn: asyncpg.Connection, *, dentist_id: UUID, on: date, origin: int, limit: int
) -> list[asyncpg.Record]:
    """Waiting entries a freed slot of `dentist_id` on local date `on` may suit, oldest
    first: their dentist (or any who performs the treatment), their date range, not yet
    offered this slot's chain."""
    return await conn.fetch(
        f"""SELECT {_ENTRY} FROM waitlist_entries e
            WHERE e.status = 'waiting'
              AND (e.dentist_id IS NULL OR e.dentist_id = $1)
              AND $2 BETWEEN e.earliest_date AND e.latest_date
              AND (NOT EXISTS (SELECT FROM treatment_dentists td
                               WHERE td.treatment_type_id = e.treatment_type_id)
                   OR EXISTS (SELECT FROM treatment_dentists td
                              WHERE td.treatment_type_id = e.treatment_type_id
                                AND td.dentist_id = $1))
              AND NOT EXISTS (
                  SELECT FROM waitlist_offers o JOIN freed_slots f ON f.id = o.freed_slot_id
                  WHERE o.entry_id = e.id AND coalesce(f.origin_id, f.id) = $3)
            ORDER BY e.created_at, e.id LIMIT $4
            FOR UPDATE OF e SKIP LOCKED""",
        dentist_id,
        on,
        origin,
        limit,
    )


async def offer_by_token(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    """The offer a link's token belongs to."""
    return await conn.fetchrow(
        f"SELECT {_OFFER} FROM waitlist_offers o WHERE o.token_hash = $1", token_hash
    )


async def user_contact(conn: asyncpg.Connection, user_id: UUID) -> asyncpg.Record | None:
    """A registered patient's name, e-mail and phone."""
    return await conn.fetchrow(
        "SELECT id, full_name, email, phone, role FROM users WHERE id = $1", user_id
    )


async def list_recalls(
    conn: asyncpg.Connection, *, due_before: date | None, limit: int
) -> list[asyncpg.Record]:
    """Recalls due before a date (all when None), soonest first."""
    return await conn.fetch(
        """SELECT patient_id, patient_name, patient_email, treatment_type_id, due_date,
                  last_visit, contacted_at, booked_appointment_id
           FROM recalls WHERE ($1::date IS NULL OR due_date < $1)
           ORDER BY due_date, lower(patient_email) LIMIT $2""",
        due_before,
        limit,
    )


async def recalls_to_send(
    conn: asyncpg.Connection, *, today: date, limit: int
) -> list[asyncpg.Record]:
    """Recalls due by today, not yet contacted nor booked, locked."""
    return await conn.fetch(
        """SELECT r.id, r.patient_id, r.patient_name, r.patient_email, r.treatment_type_id,
                  r.due_date, t.name AS treatment_name
           FROM recalls r JOIN treatment_types t ON t.id = r.treatment_type_id
           WHERE r.due_date <= $1 AND r.contacted_at IS NULL
             AND r.booked_appointment_id IS NULL
           ORDER BY r.due_date LIMIT $2 FOR UPDATE OF r SKIP LOCKED""",
        today,
        limit,
    )


async def mark_contacted(conn: asyncpg.Connection, recall_id: UUID, *, now: datetime) -> None:
    """Note that a recall message went out."""
    await conn.execute(
        "UPDATE recalls SET contacted_at = $2, updated_at = $2 WHERE id = $1", recall_id, now
    )


async def figures(conn: asyncpg.Connection) -> asyncpg.Record:
    """Freed slots (by cancellations and reschedules, and offered by staff), how many of
    their chains ended in a booking through the waitlist, and the median minutes from the
    freeing to that booking."""
    return await conn.fetchrow(
        """WITH freed AS (
               SELECT id, freed_at FROM freed_slots
               WHERE origin_id IS NULL AND source IN ('appointment', 'staff')),
           refilled AS (
               SELECT DISTINCT ON (fr.id) fr.id, o.resolved_at - fr.freed_at AS took
               FROM freed fr
               JOIN freed_slots f ON coalesce(f.origin_id, f.id) = fr.id
               JOIN waitlist_offers o ON o.freed_slot_id = f.id AND o.status = 'accepted'
               ORDER BY fr.id, o.resolved_at)
           SELECT (SELECT count(*) FROM freed) AS freed,
                  (SELECT count(*) FROM refilled) AS refilled,
                  (SELECT percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY extract(epoch FROM took)) FROM refilled) AS median_seconds,
                  (SELECT count(*) FROM waitlist_entries WHERE status = 'waiting') AS waiting,
                  (SELECT count(*) FROM waitlist_offers WHERE status = 'live') AS live_offers"""
    )


async def offer_chain(conn: asyncpg.Connection, *, limit: int) -> list[asyncpg.Record]:
    """Recent offers with their entry (the admin page's chains)."""
    return await conn.fetch(
        f"""SELECT {_OFFER}, e.patient_name, coalesce(f.origin_id, f.id) AS origin
            FROM waitlist_offers o JOIN waitlist_entries e ON e.id = o.entry_id
            LEFT JOIN freed_slots f ON f.id = o.freed_slot_id
            ORDER BY o.created_at DESC LIMIT $1""",
        limit,
    )
