"""A `since` replay reads its own channel's rows through an index (migration 0005), in seq
order, and stops at its LIMIT — it does not walk the whole retained log.

On a database of its own (the session's live listeners must not read 60,000 made-up
events), as the service's role with the `system` claims, so row-level security is in the
plan as in production.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from dentalcare.db import migrate
from dentalcare.db.pool import connect
from dentalcare.realtime import repository
from dentalcare.realtime.events import APPOINTMENT_TABLES, AVAILABILITY_TABLES, DENTIST_TABLES
from tests.fixtures.database import with_database

EVENTS = 60_000
DENTISTS = 47  # prime to 10 and 50, so that every dentist has rows of every kind
PATIENTS = 2999

# Per 10 positions: 4 appointment changes (dentist and patient), 4 `slots` rows (dentist),
# 1 schedule change (dentist), and every 50th row a dentist's own change.
FILL = f"""
INSERT INTO realtime_events (seq, table_name, op, record, dentist_id, patient_id)
SELECT nextval('realtime_events_seq'), kind, op, '{{}}'::jsonb, dentist,
       CASE WHEN kind = 'appointments' THEN md5('patient' || (g % {PATIENTS}))::uuid END
FROM (
    SELECT g, md5('dentist' || (g % {DENTISTS}))::uuid AS dentist,
           CASE WHEN g % 50 = 0 THEN 'dentists'
                WHEN g % 10 < 4 THEN 'appointments'
                WHEN g % 10 < 8 THEN 'slots'
                ELSE 'dentist_availability' END AS kind,
           CASE WHEN g % 10 BETWEEN 4 AND 7 AND g % 50 <> 0 THEN 'TAKEN' ELSE 'INSERT' END AS op
    FROM generate_series(1, {EVENTS}) AS g
) AS rows
"""


@pytest.fixture(scope="module")
def replay_db(database_url: str) -> Iterator[str]:
    """A migrated database of its own, its log filled and analysed."""
    name = f"{database_url.rsplit('/', 1)[1]}_replay_plans"
    url = with_database(database_url, name)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def fill() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(FILL)
            await conn.execute("ANALYZE realtime_events")
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        migrate.upgrade(url)
        asyncio.run(fill())
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def uuid_of(text: str) -> UUID:
    """The uuid the fill gave `text` (`md5(text)::uuid`)."""
    return UUID(hashlib.md5(text.encode()).hexdigest())


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a plan tree."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


CASES = [
    # (what, statement, tables, narrowed to, the index it must use)
    (
        "a patient's appointments",
        repository.VISIBLE_TO_PATIENT,
        APPOINTMENT_TABLES,
        "patient7",
        "realtime_events_patient",
    ),
    (
        "a dentist's appointments",
        repository.VISIBLE_TO_DENTIST,
        APPOINTMENT_TABLES,
        "dentist7",
        "realtime_events_dentist",
    ),
    (
        "one dentist's availability",
        repository.VISIBLE_TO_DENTIST,
        AVAILABILITY_TABLES,
        "dentist7",
        "realtime_events_dentist",
    ),
    ("the dentists", repository.VISIBLE_OF_TABLES, DENTIST_TABLES, None, "realtime_events_table"),
]


@pytest.mark.parametrize(("what", "statement", "tables", "narrow", "index"), CASES)
async def test_a_replay_reads_its_channel_through_an_index(
    replay_db: str,
    what: str,
    statement: str,
    tables: tuple[str, ...],
    narrow: str | None,
    index: str,
) -> None:
    conn = await connect(replay_db, app_role="dentalcare_app")
    try:
        await repository.act_as_system(conn)
        # As visible_events plans it: for the values at hand (see its docstring).
        await conn.execute("SET plan_cache_mode = force_custom_plan")
        types = "bigint, bigint, text[], integer" + (", uuid" if narrow else "")
        await conn.execute(f"PREPARE replay({types}) AS {statement}")
        args = [0, EVENTS, "{" + ",".join(tables) + "}", 500]
        if narrow:
            args.append(str(uuid_of(narrow)))
        literals = ", ".join(f"'{a}'" if isinstance(a, str) else str(a) for a in args)
        explain = f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE replay({literals})"
        [explained] = await conn.fetchval(explain)  # the pool's codec decodes json
        plan = explained["Plan"]
        scans = [n for n in nodes(plan) if "Index Name" in n]
        assert [n["Index Name"] for n in scans] == [index], (what, json.dumps(plan, indent=1))
        # Only the channel's own rows were read (at most a dentist's share of the log),
        # not the 60,000 of the retained log.
        [scan] = scans
        read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)
        assert read <= 2 * EVENTS // DENTISTS, (what, read)
        # And it returns what a plain filter over the whole log does.
        patient_id = uuid_of(narrow) if narrow and index.endswith("patient") else None
        dentist_id = uuid_of(narrow) if narrow and index.endswith("dentist") else None
        expected = await conn.fetch(
            """SELECT seq FROM realtime_events WHERE table_name = ANY($1::text[])
                 AND ($2::uuid IS NULL OR patient_id = $2)
                 AND ($3::uuid IS NULL OR dentist_id = $3)
               ORDER BY seq LIMIT 500""",
            list(tables),
            patient_id,
            dentist_id,
        )
        rows = await repository.visible_events(
            conn,
            after=0,
            through=EVENTS,
            tables=tables,
            dentist_id=dentist_id,
            patient_id=patient_id,
            limit=500,
        )
        assert [r["seq"] for r in rows] == [r["seq"] for r in expected]
        assert rows
    finally:
        await conn.close()
