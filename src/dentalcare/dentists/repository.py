"""SQL for dentists, and for what removing one does to their future appointments."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from dentalcare.vocabulary import ACTIVE_SQL, Status

DENTIST_COLUMNS = """id, user_id, name, email, specialization, bio, years_of_experience,
    timezone, slot_minutes, active, default_chair_id, created_at, updated_at"""


async def insert_dentist(
    conn: asyncpg.Connection,
    *,
    user_id: UUID | None,
    name: str,
    email: str,
    specialization: str,
    bio: str,
    years_of_experience: int,
    timezone: str,
    slot_minutes: int,
) -> asyncpg.Record:
    """Insert a dentist profile and return it."""
    return await conn.fetchrow(
        f"""INSERT INTO dentists (user_id, name, email, specialization, bio,
                                  years_of_experience, timezone, slot_minutes)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {DENTIST_COLUMNS}""",
        user_id,
        name,
        email,
        specialization,
        bio,
        years_of_experience,
        timezone,
        slot_minutes,
    )


async def list_active(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every active dentist, by name."""
    return await conn.fetch(
        f"SELECT {DENTIST_COLUMNS} FROM dentists WHERE active ORDER BY name, id"
    )


async def dentist_by_id(conn: asyncpg.Connection, dentist_id: UUID) -> asyncpg.Record | None:
    """A dentist, active or removed."""
    return await conn.fetchrow(f"SELECT {DENTIST_COLUMNS} FROM dentists WHERE id = $1", dentist_id)


async def lock_dentist(conn: asyncpg.Connection, dentist_id: UUID) -> asyncpg.Record | None:
    """A dentist row, locked for update."""
    return await conn.fetchrow(
        f"SELECT {DENTIST_COLUMNS} FROM dentists WHERE id = $1 FOR UPDATE", dentist_id
    )


async def update_dentist(
    conn: asyncpg.Connection, dentist_id: UUID, changes: dict[str, object]
) -> asyncpg.Record | None:
    """Apply `changes` (column -> value; columns from a fixed list) and return the row."""
    allowed = {
        "name",
        "email",
        "specialization",
        "bio",
        "years_of_experience",
        "timezone",
        "slot_minutes",
        "default_chair_id",
    }
    columns = [c for c in changes if c in allowed]
    if not columns:
        return await dentist_by_id(conn, dentist_id)
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    return await conn.fetchrow(
        f"UPDATE dentists SET {assignments} WHERE id = $1 RETURNING {DENTIST_COLUMNS}",
        dentist_id,
        *(changes[c] for c in columns),
    )


async def mark_removed(conn: asyncpg.Connection, dentist_id: UUID) -> asyncpg.Record | None:
    """Take a dentist out of the directory (the row and its history are kept)."""
    return await conn.fetchrow(
        f"""UPDATE dentists SET active = false, removed_at = now()
            WHERE id = $1 AND active RETURNING {DENTIST_COLUMNS}""",
        dentist_id,
    )


async def cancel_future_appointments(
    conn: asyncpg.Connection, *, dentist_id: UUID, after: datetime, reason: str
) -> list[UUID]:
    """Cancel a dentist's active appointments that start after `after`; their ids."""
    cancelled: Status = "cancelled"
    rows = await conn.fetch(
        f"""UPDATE appointments SET status = $4, cancellation_reason = $3
            WHERE dentist_id = $1 AND starts_at > $2 AND status IN ({ACTIVE_SQL})
            RETURNING id""",
        dentist_id,
        after,
        reason,
        cancelled,
    )
    return [row["id"] for row in rows]


async def chair_active(conn: asyncpg.Connection, chair_id: UUID) -> bool:
    """Whether a chair exists and is in use."""
    return bool(await conn.fetchval("SELECT active FROM chairs WHERE id = $1", chair_id))
