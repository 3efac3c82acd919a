"""SQL for chat sessions. Every statement runs after `use_session` named the session for RLS."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg


async def use_session(conn: asyncpg.Connection, session_id: UUID) -> None:
    """Name the session this transaction works on (row-level security admits only it)."""
    await conn.execute("SELECT set_config('app.chat_session', $1, true)", str(session_id))


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
           RETURNING id, user_id, state, messages, created_at, updated_at""",
        session_id,
        user_id,
        state,
        messages,
    )


async def session_by_id(
    conn: asyncpg.Connection, session_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """A session the caller may see (None otherwise); `lock` serialises its turns."""
    return await conn.fetchrow(
        f"""SELECT id, user_id, state, messages, created_at, updated_at
            FROM chat_sessions WHERE id = $1 {"FOR UPDATE" if lock else ""}""",
        session_id,
    )


async def save_turn(
    conn: asyncpg.Connection,
    *,
    session_id: UUID,
    state: dict[str, Any],
    messages: list[dict[str, Any]],
) -> None:
    """Store the state after a turn and the full transcript."""
    await conn.execute(
        "UPDATE chat_sessions SET state = $2, messages = $3 WHERE id = $1",
        session_id,
        state,
        messages,
    )


async def clinic_hours(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Per weekday, the earliest start and latest end of any active dentist's hours."""
    return await conn.fetch(
        """SELECT w.day_of_week, min(w.start_time) AS opens, max(w.end_time) AS closes
           FROM dentist_availability w JOIN dentists d ON d.id = w.dentist_id
           WHERE d.active AND w.is_available
           GROUP BY w.day_of_week ORDER BY w.day_of_week"""
    )
