"""The audit log: reading it (admins) and noting staff reads of medical fields."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.audit import repository
from dentalcare.audit.schemas import audit_json
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import BadRequest

# The appointment fields a patient gives about their health (API.md: "medical fields").
MEDICAL_FIELDS = (
    "patient_medical_conditions",
    "symptoms",
    "medical_history",
    "medications",
    "allergies",
)
PAGE = 100


async def record_read(
    conn: asyncpg.Connection, *, entity: str, entity_id: UUID, fields: tuple[str, ...]
) -> None:
    """Write, in the reading transaction, that its actor read these (medical) fields."""
    await repository.insert_read(conn, entity=entity, entity_id=entity_id, fields=list(fields))


async def record_reads(
    conn: asyncpg.Connection, *, entity: str, entity_ids: list[UUID], fields: tuple[str, ...]
) -> None:
    """`record_read` for every entity of a page the actor read, in one statement."""
    if entity_ids:
        await repository.insert_reads(
            conn, entity=entity, entity_ids=entity_ids, fields=list(fields)
        )


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise BadRequest("The cursor is not one this API handed out.")
    return int(cursor)


async def list_audit(
    *,
    uow: UnitOfWork,
    actor: UUID | None = None,
    entity: str | None = None,
    entity_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = PAGE,
) -> dict[str, Any]:
    """A page of the log, newest first; `next_cursor` continues it."""
    rows = await repository.list_entries(
        await uow.connection(),
        actor=actor,
        entity=entity,
        entity_id=entity_id,
        since=since,
        until=until,
        before=_cursor(cursor),
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [audit_json(r) for r in rows],
        "next_cursor": str(rows[-1]["id"]) if more else None,
    }


async def trail(*, uow: UnitOfWork, entity: str, entity_id: UUID) -> list[dict[str, Any]]:
    """One entity's entries, oldest first (empty for callers who may not read the log)."""
    rows = await repository.entries_for(
        await uow.connection(), entity=entity, entity_id=entity_id, limit=500
    )
    return [audit_json(r) for r in rows]


CSV_COLUMNS = ("id", "at", "actor_id", "actor_role", "ip", "action", "entity", "entity_id")


def as_csv(entries: list[dict[str, Any]]) -> str:
    """Entries as CSV (changes as JSON in the last column)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow((*CSV_COLUMNS, "changes"))
    for entry in entries:
        writer.writerow(
            (
                *("" if entry[c] is None else entry[c] for c in CSV_COLUMNS),
                "" if entry["changes"] is None else json.dumps(entry["changes"]),
            )
        )
    return out.getvalue()
