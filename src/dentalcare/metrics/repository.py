"""SQL for the gauges read at scrape time."""

from __future__ import annotations

import asyncpg

OUTBOX_TABLE = "messages"


async def outbox_depth(conn: asyncpg.Connection) -> int:
    """Messages not yet sent: rows of the outbox table without `sent_at` (or whose
    `status` is pending), 0 while no outbox table exists (the outbox is another issue)."""
    columns = {
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = $1",
            OUTBOX_TABLE,
        )
    }
    if not columns:
        return 0
    if "sent_at" in columns:
        where = "sent_at IS NULL"
    elif "status" in columns:
        where = "status IN ('pending', 'queued', 'retry')"
    else:
        where = "true"
    n: int = await conn.fetchval(f"SELECT count(*) FROM {OUTBOX_TABLE} WHERE {where}")
    return n
