"""SQL for treatment types and who performs them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

COLUMNS = (
    "name",
    "description",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "recall_months",
    "bookable_online",
    "active",
    "price",
)
_SELECT = """
SELECT t.id, t.name, t.description, t.duration_minutes, t.buffer_before_minutes,
       t.buffer_after_minutes, t.recall_months, t.bookable_online, t.active, t.price,
       ARRAY(SELECT td.dentist_id FROM treatment_dentists td
             WHERE td.treatment_type_id = t.id ORDER BY td.dentist_id) AS dentist_ids
FROM treatment_types t
"""


# What `booking_treatment` returns, for a statement that reads it beside other things
# (availability's booking snapshot): the column names, and the query on a parameter.
BOOKING_TREATMENT_COLUMNS = ("id", *COLUMNS, "dentist_ids")


def booking_treatment_sql(param: str) -> str:
    """`booking_treatment`'s query, the treatment's id (or NULL) in `param` ("$9")."""
    return (
        f"{_SELECT} WHERE t.id = "
        f"coalesce({param}::uuid, (SELECT default_treatment_type_id FROM clinic_settings))"
    )


async def list_treatments(
    conn: asyncpg.Connection, *, include_hidden: bool
) -> list[asyncpg.Record]:
    """Treatment types by name: active and bookable online ones unless `include_hidden`."""
    where = "" if include_hidden else " WHERE t.active AND t.bookable_online"
    return await conn.fetch(f"{_SELECT}{where} ORDER BY t.active DESC, lower(t.name), t.id")


async def treatment_by_id(conn: asyncpg.Connection, treatment_id: UUID) -> asyncpg.Record | None:
    """One treatment type with its dentists."""
    return await conn.fetchrow(f"{_SELECT} WHERE t.id = $1", treatment_id)


async def insert_treatment(
    conn: asyncpg.Connection, values: dict[str, Any]
) -> asyncpg.Record | None:
    """Insert a treatment type; None when an active one has that name."""
    columns = [c for c in COLUMNS if c in values]
    row = await conn.fetchrow(
        f"INSERT INTO treatment_types ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))}) "
        "ON CONFLICT (lower(name)) WHERE active DO NOTHING RETURNING id",
        *(values[c] for c in columns),
    )
    return None if row is None else row


async def update_treatment(
    conn: asyncpg.Connection, treatment_id: UUID, changes: dict[str, Any]
) -> bool:
    """Apply `changes` (columns from COLUMNS); whether the treatment exists."""
    columns = [c for c in changes if c in COLUMNS]
    assignments = "".join(f"{c} = ${i}, " for i, c in enumerate(columns, start=2))
    result = await conn.execute(
        f"UPDATE treatment_types SET {assignments}updated_at = now() WHERE id = $1",
        treatment_id,
        *(changes[c] for c in columns),
    )
    return result != "UPDATE 0"


async def set_dentists(
    conn: asyncpg.Connection, treatment_id: UUID, dentist_ids: list[UUID]
) -> None:
    """Replace who performs a treatment (none = every dentist)."""
    await conn.execute("DELETE FROM treatment_dentists WHERE treatment_type_id = $1", treatment_id)
    await conn.execute(
        """INSERT INTO treatment_dentists (treatment_type_id, dentist_id)
           SELECT $1, d FROM unnest($2::uuid[]) AS d ON CONFLICT DO NOTHING""",
        treatment_id,
        dentist_ids,
    )


async def unknown_dentists(conn: asyncpg.Connection, dentist_ids: list[UUID]) -> list[UUID]:
    """The ids among `dentist_ids` that are no active dentist."""
    rows = await conn.fetch(
        """SELECT d FROM unnest($1::uuid[]) AS d
           WHERE NOT EXISTS (SELECT FROM dentists x WHERE x.id = d AND x.active)""",
        dentist_ids,
    )
    return [r["d"] for r in rows]


async def booking_treatment(
    conn: asyncpg.Connection, *, treatment_id: UUID | None
) -> asyncpg.Record | None:
    """The treatment a booking would have (the clinic's default when `treatment_id` is
    None), with the dentists who perform it (`dentist_ids`; empty: everyone)."""
    return await conn.fetchrow(booking_treatment_sql("$1"), treatment_id)


async def is_clinic_default(conn: asyncpg.Connection, treatment_id: UUID) -> bool:
    """Whether this is the clinic's default treatment type."""
    return bool(
        await conn.fetchval(
            "SELECT default_treatment_type_id = $1 FROM clinic_settings", treatment_id
        )
    )
