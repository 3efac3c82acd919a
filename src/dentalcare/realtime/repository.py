"""Every query on the event log (`realtime_events`).

Rows are readable only under the `system` claims. `seq` is drawn at commit by writers that
hold a shared advisory lock until their commit is visible; `realtime_horizon()` takes that
lock exclusively and returns the highest seq drawn, so every event at or below the horizon
is final. Reading `seq > last AND seq <= horizon ORDER BY seq` therefore never skips a late
committer (gaps exist only for transactions that rolled back, and are never filled later).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

COLUMNS = "seq, table_name, op, record, old_record, dentist_id, patient_id, committed_at"


async def act_as_system(conn: asyncpg.Connection) -> None:
    """Give a dedicated (never pooled) connection the `system` claims for its whole session."""
    await conn.execute(
        "SELECT set_config('app.role', 'system', false), "
        "set_config('application_name', 'dentalcare-listener', false)"
    )


async def horizon(conn: asyncpg.Connection) -> int:
    """The seq at and below which the log is final (waits for in-flight commits).

    Call it outside a transaction: the lock it takes lasts for its own statement only —
    inside one it would hold every event-producing commit back until that transaction's
    client sends COMMIT.
    """
    value = await conn.fetchval("SELECT realtime_horizon()", timeout=10)
    return int(value)


async def latest_seq(conn: asyncpg.Connection) -> int:
    """Where a reader starting now begins: the horizon (0 for an empty log)."""
    return await horizon(conn)


async def seq_drawn(conn: asyncpg.Connection) -> int:
    """The highest seq drawn so far, without waiting (never read up to it: see horizon)."""
    return int(await conn.fetchval("SELECT realtime_seq_drawn()", timeout=10))


async def oldest_seq(conn: asyncpg.Connection) -> int | None:
    """The lowest `seq` still retained, or None when the log is empty."""
    value = await conn.fetchval("SELECT min(seq) FROM realtime_events")
    return None if value is None else int(value)


async def events_after(
    conn: asyncpg.Connection, after: int, *, through: int, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` events with `after < seq <= through` (a horizon), in order."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"""SELECT {COLUMNS} FROM realtime_events
            WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3""",
        after,
        through,
        limit,
        timeout=10,
    )
    return rows


# One statement per shape of channel, each matching an index of migration 0008 (one
# statement with `($5 IS NULL OR dentist_id = $5)` could use none of them).
_VISIBLE = f"""SELECT {COLUMNS} FROM realtime_events
    WHERE {{narrow}} AND seq > $1 AND seq <= $2 AND table_name = ANY($3::text[])
    ORDER BY seq LIMIT $4"""
VISIBLE_TO_PATIENT = _VISIBLE.format(narrow="patient_id = $5")  # realtime_events_patient
VISIBLE_TO_DENTIST = _VISIBLE.format(narrow="dentist_id = $5")  # realtime_events_dentist
VISIBLE_OF_TABLES = _VISIBLE.format(narrow="TRUE")  # realtime_events_table (or the key)


async def visible_events(
    conn: asyncpg.Connection,
    *,
    after: int,
    through: int,
    tables: Sequence[str],
    dentist_id: UUID | None,
    patient_id: UUID | None,
    limit: int,
) -> list[asyncpg.Record]:
    """The events in `(after, through]` of `tables`, narrowed to one dentist or patient.

    Call it inside a transaction: it plans the statement for these very values. A cached
    statement's generic plan guesses that any `seq` range is a small one and walks the
    primary key from `after`, filtering the whole retained log for one dentist's rows.
    """
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    args: tuple[object, ...] = (after, through, list(tables), limit)
    if patient_id is not None:
        if dentist_id is not None:
            raise ValueError("a replay is narrowed to a dentist or to a patient, not both")
        rows: list[asyncpg.Record] = await conn.fetch(VISIBLE_TO_PATIENT, *args, patient_id)
    elif dentist_id is not None:
        rows = await conn.fetch(VISIBLE_TO_DENTIST, *args, dentist_id)
    else:
        rows = await conn.fetch(VISIBLE_OF_TABLES, *args)
    return rows


async def prune(conn: asyncpg.Connection, *, committed_before: datetime, batch: int) -> int:
    """Delete up to `batch` events committed before the cutoff; the newest event always stays.

    Keeping the newest row means the log's lowest `seq` always tells how far history reaches,
    even after a quiet week.
    """
    status: str = await conn.execute(
        """DELETE FROM realtime_events WHERE seq IN (
               SELECT seq FROM realtime_events
               WHERE committed_at < $1
                 AND seq < (SELECT max(seq) FROM realtime_events)
               ORDER BY seq LIMIT $2)""",
        committed_before,
        batch,
    )
    return int(status.rsplit(" ", 1)[-1])
