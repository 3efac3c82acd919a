"""Migration 0021's audit trigger writes exactly what 0013's wrote, on every kind of change.

Both bodies run side by side on a scratch table shaped like the audited ones (redacted
and plain columns, nulls, jsonb with nested nulls, the skipped timestamps): each change
leaves two audit entries, one from each body, and their `changes` must be equal."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "src/dentalcare/db/migrations/versions/0021_cheaper_audit_trigger.py"
)


def _migration() -> Any:
    spec = importlib.util.spec_from_file_location("migration_0021", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _entries(conn: asyncpg.Connection, entity: str, row_id: object) -> list[Any]:
    rows = await conn.fetch(
        "SELECT action, changes FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY id",
        entity,
        row_id,
    )
    return [(r["action"], json.loads(c) if isinstance(c := r["changes"], str) else c) for r in rows]


async def test_the_new_audit_body_records_the_same_changes_as_the_old(
    owner_conn: asyncpg.Connection,
) -> None:
    old_body = _migration().DOWNGRADE.replace(
        "FUNCTION audit_row_change()", "FUNCTION pg_temp.audit_row_change_0013()"
    )
    conn = owner_conn
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.role', 'system', true)")
        await conn.execute(old_body)
        await conn.execute(
            """CREATE TEMP TABLE audit_probe (
                   id uuid PRIMARY KEY, role text, patient_name text, notes text,
                   allergies text, status text, n int, extra jsonb,
                   updated_at timestamptz, created_at timestamptz, token_version int)"""
        )
        await conn.execute(
            "CREATE TRIGGER probe_new AFTER INSERT OR UPDATE OR DELETE ON audit_probe "
            "FOR EACH ROW EXECUTE FUNCTION audit_row_change('probe_new')"
        )
        await conn.execute(
            "CREATE TRIGGER probe_old AFTER INSERT OR UPDATE OR DELETE ON audit_probe "
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.audit_row_change_0013('probe_old')"
        )
        row_id = uuid4()
        await conn.execute(
            "INSERT INTO audit_probe VALUES ($1, 'patient', 'Ann Lee', NULL, 'penicillin', "
            "'pending', 3, '{\"a\": null, \"b\": [1, null]}', now(), now(), 1)",
            row_id,
        )
        for change in (
            "UPDATE audit_probe SET status = 'confirmed', notes = 'late' WHERE id = $1",
            "UPDATE audit_probe SET patient_name = NULL, allergies = 'latex' WHERE id = $1",
            "UPDATE audit_probe SET updated_at = now() + interval '1 s', token_version = 2 "
            "WHERE id = $1",  # nothing but skipped columns: no entry from either
            "UPDATE audit_probe SET extra = NULL, n = NULL WHERE id = $1",
            "UPDATE audit_probe SET role = 'admin', extra = '{\"c\": {\"d\": null}}' WHERE id = $1",
            "DELETE FROM audit_probe WHERE id = $1",
        ):
            await conn.execute(change, row_id)
        new = await _entries(conn, "probe_new", row_id)
        old = await _entries(conn, "probe_old", row_id)
        await conn.execute("DROP TABLE audit_probe")
    assert [action for action, _ in new] == [
        "create",
        "update",
        "update",
        "update",
        "update",
        "delete",
    ]
    assert new == old
    created = new[0][1]
    assert created["patient_name"] == [None, "[redacted]"]
    assert created["allergies"] == [None, "[redacted]"]
    assert "notes" not in created and "updated_at" not in created
    assert created["extra"] == [None, {"a": None, "b": [1, None]}]
