"""SQL for dentists."""

from __future__ import annotations

from uuid import UUID

import asyncpg

DENTIST_COLUMNS = """id, user_id, name, email, specialization, bio, years_of_experience,
    timezone, slot_minutes, active, created_at, updated_at"""


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
