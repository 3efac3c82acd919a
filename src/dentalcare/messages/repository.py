"""The appointment facts the message pages need that the outbox's repository does not hold."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def appointment_dentist(conn: asyncpg.Connection, appointment_id: UUID) -> UUID | None:
    """The dentist of an appointment the caller may see (None: no such appointment, or
    row-level security hides it)."""
    value: UUID | None = await conn.fetchval(
        "SELECT dentist_id FROM appointments WHERE id = $1", appointment_id
    )
    return value
