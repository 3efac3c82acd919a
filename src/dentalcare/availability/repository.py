"""SQL for weekly availability and exceptions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from uuid import UUID

import asyncpg

WINDOW_COLUMNS = "id, dentist_id, day_of_week, start_time, end_time, is_available"


async def replace_weekly(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    windows: Iterable[tuple[int, time, time, bool]],
) -> list[asyncpg.Record]:
    """Replace a dentist's weekly windows with `windows` (day, start, end, is_available)."""
    await conn.execute("DELETE FROM dentist_availability WHERE dentist_id = $1", dentist_id)
    rows = list(windows)
    if not rows:
        return []
    return await conn.fetch(
        f"""INSERT INTO dentist_availability (dentist_id, day_of_week, start_time, end_time,
                                              is_available)
            SELECT $1, d, s, e, a FROM unnest($2::smallint[], $3::time[], $4::time[], $5::bool[])
                AS w(d, s, e, a)
            RETURNING {WINDOW_COLUMNS}""",
        dentist_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
    )
