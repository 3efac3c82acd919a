"""SQL for the health check."""

from __future__ import annotations

import asyncpg


async def schema_version(conn: asyncpg.Connection) -> str | None:
    """The Alembic revision the database is at."""
    return await conn.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
