"""SQL for patient records: the search, one patient's rows, export and erasure."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import asyncpg

# The guest id, in SQL: the same value as `guest_id()` below.
GUEST_ID_SQL = "md5('guest:' || lower({email}))::uuid"


def guest_id(email: str) -> UUID:
    """A guest's stable id, derived from their booking e-mail."""
    return UUID(hashlib.md5(f"guest:{email.lower()}".encode(), usedforsecurity=False).hexdigest())


_PEOPLE = f"""
WITH people AS (
    SELECT u.id, 'patient'::text AS kind, u.full_name, u.email, u.phone, u.created_at
    FROM users u WHERE u.role = 'patient'
    UNION ALL
    SELECT {GUEST_ID_SQL.format(email="a.patient_email")}, 'guest',
           (array_agg(a.patient_name ORDER BY a.created_at DESC, a.id))[1],
           lower(a.patient_email),
           (array_agg(a.patient_phone ORDER BY a.created_at DESC, a.id))[1],
           min(a.created_at)
    FROM appointments a WHERE a.patient_id IS NULL
    GROUP BY lower(a.patient_email)
),
bookings AS (
    SELECT coalesce(a.patient_id, {GUEST_ID_SQL.format(email="a.patient_email")}) AS pid,
           a.booking_reference, a.status, a.starts_at, a.patient_name, a.patient_phone
    FROM appointments a
)
"""

_SEARCH = f"""{_PEOPLE}
SELECT p.id, p.kind, p.full_name, p.email, p.phone, p.created_at,
       count(b.pid) AS appointments,
       count(b.pid) FILTER (WHERE b.status = 'completed') AS visits,
       count(b.pid) FILTER (WHERE b.status = 'no_show') AS no_shows,
       count(b.pid) FILTER (WHERE b.status = 'cancelled') AS cancellations,
       max(b.starts_at) AS last_appointment_at
FROM people p LEFT JOIN bookings b ON b.pid = p.id
WHERE $1 = ''
   OR p.full_name ILIKE $2 OR p.email ILIKE $2
   OR ($3 <> '' AND phone_digits(coalesce(p.phone, '')) LIKE '%' || $3 || '%')
   OR EXISTS (SELECT 1 FROM bookings r WHERE r.pid = p.id
              AND (r.booking_reference = upper($1) OR r.patient_name ILIKE $2
                   OR ($3 <> '' AND phone_digits(r.patient_phone) LIKE '%' || $3 || '%')))
GROUP BY p.id, p.kind, p.full_name, p.email, p.phone, p.created_at
ORDER BY lower(p.full_name), p.id
LIMIT $4
"""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(conn: asyncpg.Connection, *, text: str, limit: int) -> list[asyncpg.Record]:
    """Patients and guests matching `text` (every one when empty), by name."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return await conn.fetch(_SEARCH, text, _like(text), digits if len(digits) >= 3 else "", limit)


async def patient_user(conn: asyncpg.Connection, patient_id: UUID) -> asyncpg.Record | None:
    """A registered patient's account row."""
    return await conn.fetchrow(
        "SELECT id, full_name, email, phone, created_at FROM users "
        "WHERE id = $1 AND role = 'patient'",
        patient_id,
    )


async def guest_email(conn: asyncpg.Connection, patient_id: UUID) -> str | None:
    """The booking e-mail whose guest id is `patient_id`, if a guest booked with it."""
    email: str | None = await conn.fetchval(
        "SELECT lower(patient_email) FROM appointments WHERE patient_id IS NULL "
        f"AND {GUEST_ID_SQL.format(email='patient_email')} = $1 LIMIT 1",
        patient_id,
    )
    return email


_APPOINTMENTS = """
SELECT a.id, a.booking_reference, a.dentist_id, d.name AS dentist_name,
       a.appointment_date, a.appointment_time, a.duration_minutes, a.starts_at, a.status,
       a.booking_source, a.treatment_type_id, t.name AS treatment_name, a.chief_complaint,
       a.notes, a.patient_name, a.patient_email, a.patient_phone
FROM appointments a
JOIN dentists d ON d.id = a.dentist_id
LEFT JOIN treatment_types t ON t.id = a.treatment_type_id
"""


async def appointments_of(
    conn: asyncpg.Connection, *, user_id: UUID | None, email: str | None
) -> list[asyncpg.Record]:
    """A patient's (by user id) or a guest's (by e-mail) appointments, newest first."""
    if user_id is not None:
        return await conn.fetch(
            f"{_APPOINTMENTS} WHERE a.patient_id = $1 ORDER BY a.starts_at DESC, a.id", user_id
        )
    return await conn.fetch(
        f"{_APPOINTMENTS} WHERE a.patient_id IS NULL AND lower(a.patient_email) = $1 "
        "ORDER BY a.starts_at DESC, a.id",
        email,
    )


async def table_exists(conn: asyncpg.Connection, name: str) -> bool:
    """Whether a table of that name exists in the public schema (a later migration's)."""
    found: bool = await conn.fetchval("SELECT to_regclass('public.' || $1) IS NOT NULL", name)
    return found


async def columns_of(conn: asyncpg.Connection, table: str) -> list[str]:
    """A table's columns, in order."""
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [r["column_name"] for r in rows]


def quote_ident(name: str) -> str:
    """An identifier from the catalog, quoted for SQL text."""
    return '"' + name.replace('"', '""') + '"'


async def references_to(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """(table, column) of every single-column foreign key pointing at `table`, from the
    tables the service may read."""
    rows = await conn.fetch(
        """
        SELECT c.conrelid::regclass::text AS tbl, a.attname AS col
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.confrelid = ('public.' || $1)::regclass
          AND array_length(c.conkey, 1) = 1
          AND has_table_privilege(c.conrelid, 'SELECT')
        ORDER BY 1, 2
        """,
        table,
    )
    return [(r["tbl"], r["col"]) for r in rows]


async def rows_where(
    conn: asyncpg.Connection, table: str, column: str, values: list[Any]
) -> list[dict[str, Any]]:
    """Every column of the rows of `table` whose `column` is one of `values`."""
    rows = await conn.fetch(
        f"SELECT * FROM {quote_ident(table)} WHERE {quote_ident(column)} = ANY($1) ORDER BY 1",
        values,
    )
    return [dict(r) for r in rows]


async def guest_appointment_rows(conn: asyncpg.Connection, email: str) -> list[dict[str, Any]]:
    """Every column of a guest's appointments (booked without an account under `email`)."""
    rows = await conn.fetch(
        "SELECT * FROM appointments WHERE patient_id IS NULL AND lower(patient_email) = $1 "
        "ORDER BY starts_at, id",
        email.lower(),
    )
    return [dict(r) for r in rows]


async def erase_user(conn: asyncpg.Connection, user_id: UUID, *, email: str) -> None:
    """Anonymise an account and close its sessions (the token version moves on)."""
    await conn.execute(
        "UPDATE users SET email = $2, full_name = 'Erased patient', phone = NULL, "
        "password_hash = '!erased', disabled = true, token_version = token_version + 1 "
        "WHERE id = $1",
        user_id,
        email,
    )


# What erasure writes into an appointment's personal and medical fields.
def erased_fields(erased_email: str) -> dict[str, Any]:
    """The erased values of an appointment's personal and medical columns."""
    return {
        "patient_name": "Erased patient",
        "patient_email": erased_email,
        "patient_phone": "-",
        "patient_age": None,
        "patient_medical_conditions": None,
        "chief_complaint": None,
        "symptoms": None,
        "medical_history": None,
        "medications": None,
        "allergies": None,
        "notes": None,
        "cancellation_reason": None,
    }


async def erase_history(
    conn: asyncpg.Connection, appointment_ids: list[UUID], erased: dict[str, Any]
) -> None:
    """Overwrite the erased fields in the realtime log's copies of these appointments and
    the guest booking addresses (migration 0014). The deferred event triggers fire first,
    so that the copies this transaction's own changes log are erased too."""
    await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    await conn.execute("SELECT erase_patient_history($1, $2)", appointment_ids, erased)


async def erase_side_data(
    conn: asyncpg.Connection,
    *,
    user_id: UUID | None,
    email: str,
    phone: str | None,
    appointment_ids: list[UUID],
    erased_email: str,
) -> None:
    """Blank the patient's messages, waitlist entries and recalls, and delete their links
    and reminder opt-out (migration 0016's definer function)."""
    await conn.execute(
        "SELECT erase_patient_side_data($1, $2, $3, $4, $5)",
        user_id,
        email,
        phone,
        appointment_ids,
        erased_email,
    )


_ERASE_APPOINTMENT_FIELDS = """
patient_name = 'Erased patient', patient_email = $2, patient_phone = '-',
patient_age = NULL, patient_medical_conditions = NULL, chief_complaint = NULL,
symptoms = NULL, medical_history = NULL, medications = NULL, allergies = NULL,
notes = NULL, cancellation_reason = NULL
"""


async def erase_appointments(
    conn: asyncpg.Connection, *, user_id: UUID | None, email: str, erased_email: str
) -> list[UUID]:
    """Anonymise the personal and medical fields of a patient's appointments (their
    account's, and guest bookings under their e-mail); the scheduling facts stay."""
    rows = await conn.fetch(
        f"UPDATE appointments SET {_ERASE_APPOINTMENT_FIELDS} "
        "WHERE (patient_id = $1 OR (patient_id IS NULL AND lower(patient_email) = $3)) "
        "RETURNING id",
        user_id,
        erased_email,
        email.lower(),
    )
    return [r["id"] for r in rows]


async def scrub_chats(conn: asyncpg.Connection, *, user_id: UUID | None, needles: list[str]) -> int:
    """Empty the transcripts and state of the patient's chat sessions and of any guest
    session that mentions one of `needles` (their e-mail, phone, name)."""
    patterns = [_like(n) for n in needles if n]
    status = await conn.execute(
        "UPDATE chat_sessions SET messages = '[]'::jsonb, state = '{}'::jsonb "
        "WHERE user_id = $1 OR messages::text ILIKE ANY($2) OR state::text ILIKE ANY($2)",
        user_id,
        patterns,
    )
    return int(status.split()[-1])
