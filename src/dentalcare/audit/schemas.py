"""The `audit_entry` of API.md and the list page."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class AuditEntry(BaseModel):
    """One audit entry; `changes` maps a field to `[old, new]` (null for reads)."""

    id: int
    at: datetime
    actor_id: UUID | None
    actor_role: str
    ip: str | None
    action: str
    entity: str
    entity_id: UUID | None
    changes: dict[str, list[Any]] | None


class AuditPage(BaseModel):
    """A page of the log, newest first."""

    items: list[AuditEntry]
    next_cursor: str | None


def audit_json(row: Any) -> dict[str, Any]:
    """An audit_log row as the contract's `audit_entry`."""
    return {
        "id": row["id"],
        "at": row["at"].isoformat(),
        "actor_id": str(row["actor_id"]) if row["actor_id"] else None,
        "actor_role": row["actor_role"],
        "ip": row["ip"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": str(row["entity_id"]) if row["entity_id"] else None,
        "changes": row["changes"],
    }
