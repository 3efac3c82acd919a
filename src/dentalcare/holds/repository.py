"""SQL for holds (their intervals are taken and freed by the table's trigger)."""

from __future__ import annotations

from datetime import date, datetime, time
from uuid import UUID

import asyncpg

_COLUMNS = """id, dentist_id, treatment_type_id, chair_id, appointment_date, appointment_time,
    duration_minutes, buffer_before_minutes, buffer_after_minutes, starts_at, ends_at,
    expires_at, user_id, token_hash, created_at"""


async def insert_hold(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    treatment_type_id: UUID,
    on: date,
    at: time,
    duration_minutes: int,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    starts_at: datetime,
    ends_at: datetime,
    expires_at: datetime,
    user_id: UUID | None,
    token_hash: bytes | None,
) -> asyncpg.Record | None:
    """Insert a hold; None when its interval is taken (the trigger inserts nothing)."""
    return await conn.fetchrow(
        f"""INSERT INTO holds (dentist_id, treatment_type_id, appointment_date, appointment_time,
                               duration_minutes, buffer_before_minutes, buffer_after_minutes,
                               starts_at, ends_at, expires_at, user_id, token_hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            RETURNING {_COLUMNS}""",
        dentist_id,
        treatment_type_id,
        on,
        at,
        duration_minutes,
        buffer_before_minutes,
        buffer_after_minutes,
        starts_at,
        ends_at,
        expires_at,
        user_id,
        token_hash,
    )


async def hold_by_id(
    conn: asyncpg.Connection, hold_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """One hold."""
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {_COLUMNS} FROM holds WHERE id = $1{suffix}", hold_id)


async def delete_hold(conn: asyncpg.Connection, hold_id: UUID) -> bool:
    """Delete a hold (its interval goes with it); whether it existed."""
    return (await conn.execute("DELETE FROM holds WHERE id = $1", hold_id)) != "DELETE 0"


async def delete_holds_of(
    conn: asyncpg.Connection, *, user_id: UUID | None, token_hash: bytes | None
) -> None:
    """Delete the caller's hold, if any (one live hold per caller)."""
    await conn.execute(
        "DELETE FROM holds WHERE ($1::uuid IS NOT NULL AND user_id = $1) "
        "OR ($2::bytea IS NOT NULL AND token_hash = $2)",
        user_id,
        token_hash,
    )


async def release_expired(conn: asyncpg.Connection, *, now: datetime, batch: int) -> int:
    """Delete up to `batch` holds expired by `now`; how many went."""
    rows = await conn.fetch("SELECT id FROM release_expired_holds($1, $2)", now, batch)
    return len(rows)
