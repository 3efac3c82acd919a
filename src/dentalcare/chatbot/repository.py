"""SQL for chat sessions. Every statement runs with claims that name the session
(`Claims.chat_session`): row-level security admits only that row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg


async def insert_session(
    conn: asyncpg.Connection,
    *,
    session_id: UUID,
    user_id: UUID | None,
    state: dict[str, Any],
    messages: list[dict[str, Any]],
) -> asyncpg.Record:
    """Create a session."""
    return await conn.fetchrow(
        """INSERT INTO chat_sessions (id, user_id, state, messages)
           VALUES ($1, $2, $3, $4)
           RETURNING id, user_id, state, messages, version, created_at, updated_at""",
        session_id,
        user_id,
        state,
        messages,
    )


async def session_by_id(conn: asyncpg.Connection, session_id: UUID) -> asyncpg.Record | None:
    """A session the caller may see (None otherwise)."""
    return await conn.fetchrow(
        """SELECT id, user_id, state, messages, version, created_at, updated_at
           FROM chat_sessions WHERE id = $1""",
        session_id,
    )


async def save_turn(
    conn: asyncpg.Connection,
    *,
    session_id: UUID,
    version: int,
    state: dict[str, Any],
    messages: list[dict[str, Any]],
) -> bool:
    """Store the state after a turn and the transcript, if the session is still at
    `version` (no other turn was saved since it was loaded); False otherwise."""
    saved = await conn.fetchval(
        """UPDATE chat_sessions SET state = $3, messages = $4, version = version + 1
           WHERE id = $1 AND version = $2 RETURNING true""",
        session_id,
        version,
        state,
        messages,
    )
    return bool(saved)


async def clinic_hours(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Per weekday, the earliest start and latest end of any active dentist's hours."""
    return await conn.fetch(
        """SELECT w.day_of_week, min(w.start_time) AS opens, max(w.end_time) AS closes
           FROM dentist_availability w JOIN dentists d ON d.id = w.dentist_id
           WHERE d.active AND w.is_available
           GROUP BY w.day_of_week ORDER BY w.day_of_week"""
    )


async def expire_guest_sessions(conn: asyncpg.Connection, *, idle: timedelta, batch: int) -> int:
    """Delete up to `batch` guest sessions untouched for longer than `idle` (system claims;
    the app role has no DELETE: migration 0007's function does it); how many went."""
    expired = await conn.fetchval("SELECT expire_guest_chat_sessions($1, $2)", idle, batch)
    return int(expired or 0)
