"""SQL for staff logins."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from dentalcare.auth.repository import USER_COLUMNS


async def list_staff(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every active staff login, by name."""
    return await conn.fetch(
        f"""SELECT {USER_COLUMNS} FROM users
            WHERE role IN ('admin', 'front_desk') AND NOT disabled
            ORDER BY lower(full_name), id"""
    )


async def staff_by_id(conn: asyncpg.Connection, user_id: UUID) -> asyncpg.Record | None:
    """An active staff login, locked for the change."""
    return await conn.fetchrow(
        f"""SELECT {USER_COLUMNS} FROM users
            WHERE id = $1 AND role IN ('admin', 'front_desk') AND NOT disabled
            FOR UPDATE""",
        user_id,
    )


async def other_admins(conn: asyncpg.Connection, user_id: UUID) -> int:
    """How many active admins there are besides this user."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> $1",
        user_id,
    )
    return count
