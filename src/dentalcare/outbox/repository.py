"""The messages table's SQL (parameterized, as every repository's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.jsonshape import iso_instant

MESSAGE_COLUMNS = (
    "id, kind, channel, to_address, subject, appointment_id, user_id, status, due_at, "
    "sent_at, attempts, max_attempts, last_error, message_id, created_at"
)
# The booking reference the message was written with (none for account e-mails): what
# /admin/mail shows to tell whose booking a message is about.
REFERENCE_COLUMN = "context->>'reference' AS reference"


_MESSAGE_COLUMNS = (
    "id",
    "kind",
    "channel",
    "to_address",
    "subject",
    "appointment_id",
    "user_id",
    "context",
    "due_at",
    "message_id",
    "dedupe_key",
)
_MESSAGE_TYPES = (
    "uuid[]",
    "text[]",
    "text[]",
    "text[]",
    "text[]",
    "uuid[]",
    "uuid[]",
    "text[]",
    "timestamptz[]",
    "text[]",
    "text[]",
)


def enqueue_in_statement(first: int, *, appointment: str | None = None) -> str:
    """`enqueue_messages(...)` on parameters $first.. ($first + 10), which
    `message_arguments` fills: for a statement that writes messages beside other rows.
    `appointment`: an SQL expression every row's appointment id is taken from instead of
    its parameter (a column of a CTE, so the call runs once per row of it, after it)."""
    arguments = [f"${first + i}::{kind}" for i, kind in enumerate(_MESSAGE_TYPES)]
    if appointment is not None:
        # (The parameter stays named, so that the statement still types it.)
        arguments[5] = (
            f"coalesce(array_fill({appointment}, ARRAY[cardinality({arguments[0]})]), "
            f"{arguments[5]})"
        )
    return f"enqueue_messages({', '.join(arguments)})"


def message_arguments(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """`enqueue_in_statement`'s parameters for `rows` (each holds the function's
    arguments by column name, `context` as JSON text)."""
    return [[row[column] for row in rows] for column in _MESSAGE_COLUMNS]


_INSERT_MESSAGES = f"SELECT {enqueue_in_statement(1)} AS id"


async def insert_messages(conn: asyncpg.Connection, rows: list[dict[str, Any]]) -> list[bool]:
    """Insert messages through `enqueue_messages()` (the caller, a guest say, may not read
    the rows back), in one round trip: each row holds the function's arguments by column
    name, `context` as JSON text. Whether each was inserted (False: its `dedupe_key` is
    taken), in order."""
    inserted = {r["id"] for r in await conn.fetch(_INSERT_MESSAGES, *message_arguments(rows))}
    return [row["id"] in inserted for row in rows]


async def cancel_scheduled(
    conn: asyncpg.Connection, *, appointment_id: UUID, kind: str | None
) -> int:
    """Cancel the appointment's scheduled messages (of `kind`, or every kind)."""
    result: str = await conn.execute(
        """
        UPDATE messages SET status = 'cancelled', locked_until = NULL
        WHERE appointment_id = $1 AND status = 'scheduled' AND ($2::text IS NULL OR kind = $2)
        """,
        appointment_id,
        kind,
    )
    return int(result.split()[-1])


async def move_scheduled(
    conn: asyncpg.Connection, *, appointment_id: UUID, kind: str, due_at: datetime
) -> int:
    """Move the appointment's scheduled messages of `kind` to `due_at`."""
    result: str = await conn.execute(
        """
        UPDATE messages SET due_at = $3
        WHERE appointment_id = $1 AND status = 'scheduled' AND kind = $2
        """,
        appointment_id,
        kind,
        due_at,
    )
    return int(result.split()[-1])


async def claim_due(conn: asyncpg.Connection, *, limit: int, lease_seconds: float) -> list[Any]:
    """Take up to `limit` due messages (and sending ones whose lease lapsed: their worker
    died) for this worker: `sending`, leased, one more attempt. Rows another worker is
    claiming are skipped, so a message is claimed once. One statement in its own
    transaction (`outbox_claim()`, migration 0030): run it outside a transaction."""
    rows: list[Any] = await conn.fetch("SELECT * FROM outbox_claim($1, $2)", limit, lease_seconds)
    return rows


async def mark_sent(conn: asyncpg.Connection, id: UUID, *, captured: str | None) -> None:
    """The message left (or, with `captured`, was kept locally): `outbox_sent()`."""
    await conn.execute("SELECT outbox_sent($1, $2)", id, captured)


async def mark_failed_attempt(
    conn: asyncpg.Connection, id: UUID, *, error: str, retry_in_seconds: float | None
) -> None:
    """An attempt failed: try again in `retry_in_seconds`, or (None) give up: failed
    (`outbox_attempt_failed()`)."""
    await conn.execute(
        "SELECT outbox_attempt_failed($1, $2, $3)", id, error[:2000], retry_in_seconds
    )


async def retry_failed(conn: asyncpg.Connection, id: UUID) -> Any:
    """A failed message goes again (now, with a fresh set of attempts)."""
    return await conn.fetchrow(
        f"""
        UPDATE messages SET status = 'scheduled', due_at = now(), attempts = 0,
                            last_error = NULL
        WHERE id = $1 AND status = 'failed'
        RETURNING {MESSAGE_COLUMNS}
        """,
        id,
    )


async def get_message(conn: asyncpg.Connection, id: UUID) -> Any:
    """One message (what row-level security lets the caller see), with its capture."""
    return await conn.fetchrow(
        f"SELECT {MESSAGE_COLUMNS}, {REFERENCE_COLUMN}, captured FROM messages WHERE id = $1", id
    )


async def list_for_appointment(conn: asyncpg.Connection, appointment_id: UUID) -> list[Any]:
    """The appointment's messages, oldest first."""
    rows: list[Any] = await conn.fetch(
        f"""
        SELECT {MESSAGE_COLUMNS} FROM messages WHERE appointment_id = $1
        ORDER BY created_at, id
        """,
        appointment_id,
    )
    return rows


async def list_messages(
    conn: asyncpg.Connection,
    *,
    status: str | None,
    kind: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Any]:
    """Messages newest first, filtered, after the cursor position `after`."""
    rows: list[Any] = await conn.fetch(
        f"""
        SELECT {MESSAGE_COLUMNS}, {REFERENCE_COLUMN} FROM messages
        WHERE ($1::text IS NULL OR status = $1)
          AND ($2::text IS NULL OR kind = $2)
          AND ($3::timestamptz IS NULL OR created_at >= $3)
          AND ($4::timestamptz IS NULL OR created_at < $4)
          AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $7
        """,
        status,
        kind,
        created_from,
        created_to,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return rows


async def appointment_facts(conn: asyncpg.Connection, appointment_id: UUID) -> Any:
    """What a booking message says about its appointment (as the caller may see it)."""
    return await conn.fetchrow(
        """
        SELECT a.id, a.status, a.starts_at, a.ends_at, a.booking_reference, a.patient_id,
               a.patient_name, a.patient_email, a.patient_phone,
               d.name AS dentist_name, d.timezone AS dentist_timezone,
               t.name AS treatment_name
        FROM appointments a JOIN dentists d ON d.id = a.dentist_id
        LEFT JOIN treatment_types t ON t.id = a.treatment_type_id
        WHERE a.id = $1
        """,
        appointment_id,
    )


async def booking_facts(conn: asyncpg.Connection, appointment_id: UUID) -> Any:
    """`appointment_facts`, the clinic's settings (`name`, `address`, `phone`,
    `reminder_hours`; NULL without a settings row) and whether the patient stopped
    reminders (`opted_out`), in one round trip."""
    return await conn.fetchrow(
        """
        SELECT a.id, a.status, a.starts_at, a.ends_at, a.booking_reference, a.patient_id,
               a.patient_name, a.patient_email, a.patient_phone,
               d.name AS dentist_name, d.timezone AS dentist_timezone,
               t.name AS treatment_name,
               c.name, c.address, c.phone, c.reminder_hours,
               reminders_opted_out(a.patient_email) AS opted_out
        FROM appointments a JOIN dentists d ON d.id = a.dentist_id
        LEFT JOIN treatment_types t ON t.id = a.treatment_type_id
        LEFT JOIN LATERAL (
            SELECT name, address, phone, reminder_hours FROM clinic_settings LIMIT 1
        ) c ON true
        WHERE a.id = $1
        """,
        appointment_id,
    )


async def clinic_row(conn: asyncpg.Connection) -> Any:
    """The clinic's settings row (name, address, phone, reminder hours)."""
    return await conn.fetchrow(
        "SELECT name, address, phone, reminder_hours FROM clinic_settings LIMIT 1"
    )


async def dentist_timezone(conn: asyncpg.Connection, dentist_id: UUID) -> str | None:
    """A dentist's time zone."""
    value: str | None = await conn.fetchval(
        "SELECT timezone FROM dentists WHERE id = $1", dentist_id
    )
    return value


def message_json(row: Any) -> dict[str, Any]:
    """API.md `message`."""
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "channel": row["channel"],
        "to": row["to_address"],
        "subject": row["subject"],
        "appointment_id": str(row["appointment_id"]) if row["appointment_id"] else None,
        "status": row["status"],
        "due_at": iso_instant(row["due_at"]),
        "sent_at": iso_instant(row["sent_at"]),
        "attempts": row["attempts"],
        "last_error": row["last_error"],
    }


async def cancel_reminders_to(conn: asyncpg.Connection, email: str) -> int:
    """Cancel the reminders still waiting for this address (it unsubscribed); how many."""
    status: str = await conn.execute(
        "UPDATE messages SET status = 'cancelled' "
        "WHERE kind = 'reminder' AND status = 'scheduled' AND lower(to_address) = lower($1)",
        email,
    )
    return int(status.split()[-1])
