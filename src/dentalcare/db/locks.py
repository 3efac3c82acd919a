"""Transaction-level advisory locks that queue writers which would otherwise deadlock.

Two inserts whose intervals conflict in an exclusion index each wait for the other's
in-progress row, and PostgreSQL's deadlock detector aborts one of them. Bookings and holds
for one dentist therefore queue on one lock per dentist, taken just before the insert and
released when the transaction ends (commit or rollback).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

# pg_advisory_xact_lock(key1, key2): the first key names what is locked.
DENTIST_WRITERS = 7216013


async def queue_for_dentist(conn: asyncpg.Connection, dentist_id: UUID) -> None:
    """Wait for the dentist's other bookings and holds in flight to commit."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1::int, hashtext(CAST($2::uuid AS text)))",
        DENTIST_WRITERS,
        dentist_id,
    )
