"""SQL for the audit log (it is only ever inserted into and read)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

COLUMNS = "id, at, actor_id, actor_role, ip, action, entity, entity_id, changes::text AS changes"


async def insert_read(
    conn: asyncpg.Connection, *, entity: str, entity_id: UUID, fields: list[str]
) -> None:
    """Note that the transaction's actor read these fields of an entity."""
    await conn.execute(
        """INSERT INTO audit_log (actor_id, actor_role, ip, action, entity, entity_id, changes)
           VALUES (app_user_id(), app_role(), audit_actor_ip(), 'read', $1, $2, $3::jsonb)""",
        entity,
        entity_id,
        json.dumps({field: [None, None] for field in fields}) if fields else None,
    )


async def insert_reads(
    conn: asyncpg.Connection, *, entity: str, entity_ids: list[UUID], fields: list[str]
) -> None:
    """`insert_read` for several entities at once, in one statement (a page of a list)."""
    await conn.execute(
        """INSERT INTO audit_log (actor_id, actor_role, ip, action, entity, entity_id, changes)
           SELECT app_user_id(), app_role(), audit_actor_ip(), 'read', $1, e, $3::jsonb
           FROM unnest($2::uuid[]) AS e""",
        entity,
        entity_ids,
        json.dumps({field: [None, None] for field in fields}) if fields else None,
    )


async def list_entries(
    conn: asyncpg.Connection,
    *,
    actor: UUID | None,
    entity: str | None,
    entity_id: UUID | None,
    since: datetime | None,
    until: datetime | None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Entries matching every filter given, newest first, below `before` (an id)."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM audit_log
            WHERE ($1::uuid IS NULL OR actor_id = $1)
              AND ($2::text IS NULL OR entity = $2)
              AND ($3::uuid IS NULL OR entity_id = $3)
              AND ($4::timestamptz IS NULL OR at >= $4)
              AND ($5::timestamptz IS NULL OR at < $5)
              AND ($6::bigint IS NULL OR id < $6)
            ORDER BY id DESC
            LIMIT $7""",
        actor,
        entity,
        entity_id,
        since,
        until,
        before,
        limit,
    )
    return [
        {**dict(row), "changes": json.loads(row["changes"]) if row["changes"] else None}
        for row in rows
    ]


async def entries_for(
    conn: asyncpg.Connection, *, entity: str, entity_id: UUID, limit: int
) -> list[dict[str, Any]]:
    """One entity's trail, oldest first (readable by whoever the policy lets read)."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM audit_log WHERE entity = $1 AND entity_id = $2
            ORDER BY id LIMIT $3""",
        entity,
        entity_id,
        limit,
    )
    return [
        {**dict(row), "changes": json.loads(row["changes"]) if row["changes"] else None}
        for row in rows
    ]
