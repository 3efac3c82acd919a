"""`dentalcare backup FILE` / `dentalcare restore FILE`: a backup restored into a fresh,
empty database holds every row of every table (count and checksum per table), and the
same constraints, policies and migration head."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import time, timedelta
from pathlib import Path

import asyncpg

from tests.fixtures.clinic import next_weekday
from tests.fixtures.database import create_database, drop_database, with_database
from tests.fixtures.rows import make_appointment, make_dentist, make_user

SOURCE, TARGET = "dentalcare_backup_src", "dentalcare_backup_dst"

_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
_CONSTRAINTS = """
SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def
FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2
"""
_POLICIES = "SELECT tablename, policyname, qual, with_check FROM pg_policies ORDER BY 1, 2"


async def _seed(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        day = next_weekday()
        patient = await make_user(conn, full_name="Backup Patient")
        dentist = await make_dentist(conn, name="Dr Backup")
        for i in range(5):
            await make_appointment(
                conn,
                dentist_id=dentist["id"],
                patient_id=patient["id"] if i % 2 else None,
                on=day + timedelta(days=i),
                at=time(9 + i),
                allergies="Latex" if i == 1 else None,
            )
        await conn.execute(
            "INSERT INTO chat_sessions (id, user_id, state, messages) VALUES ($1, $2, '{}', $3)",
            uuid.uuid4(),
            patient["id"],
            json.dumps([{"role": "user", "text": "hello"}]),
        )
    finally:
        await conn.close()


async def _snapshot(url: str) -> dict[str, object]:
    conn = await asyncpg.connect(url)
    try:
        tables = [r["tablename"] for r in await conn.fetch(_TABLES)]
        rows = {}
        for table in tables:
            rows[table] = tuple(
                await conn.fetchrow(
                    f"SELECT count(*) AS n, md5(coalesce(string_agg(t::text, E'\\n' "
                    f"ORDER BY t::text), '')) AS sum FROM \"{table}\" t"
                )
            )
        return {
            "rows": rows,
            # pg_get_constraintdef() parenthesises a restored CHECK differently (a
            # BETWEEN re-read as two comparisons): the definitions are compared without
            # their brackets, every name, operator and value still in place.
            "constraints": [
                (r["tbl"], r["conname"], r["def"].replace("(", "").replace(")", ""))
                for r in await conn.fetch(_CONSTRAINTS)
            ],
            "policies": [tuple(r) for r in await conn.fetch(_POLICIES)],
        }
    finally:
        await conn.close()


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DENTALCARE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "dentalcare.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_backup_restores_every_row_and_constraint(database_url: str, tmp_path: Path) -> None:
    server = with_database(database_url, "postgres")
    source = create_database(server, SOURCE)
    asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{TARGET}" WITH (FORCE)'))
    asyncio.run(_admin(server, f'CREATE DATABASE "{TARGET}"'))
    target = with_database(server, TARGET)
    try:
        asyncio.run(_seed(source))
        before = asyncio.run(_snapshot(source))
        rows = before["rows"]
        assert isinstance(rows, dict)
        assert rows["appointments"][0] == 5 and rows["chat_sessions"][0] == 1
        assert len(before["constraints"]) > 20  # type: ignore[arg-type]

        file = tmp_path / "clinic.dump"
        made = _cli(source, "backup", str(file))
        assert made.returncode == 0, made.stderr
        assert file.stat().st_size > 0

        restored = _cli(target, "restore", str(file))
        assert restored.returncode == 0, restored.stderr
        after = asyncio.run(_snapshot(target))
        lost = set(before["constraints"]) - set(after["constraints"])  # type: ignore[arg-type]
        gained = set(after["constraints"]) - set(before["constraints"])  # type: ignore[arg-type]
        assert (lost, gained) == (set(), set())
        assert after == before

        # a missing file is a clear error and changes nothing
        missing = _cli(target, "restore", str(tmp_path / "nope.dump"))
        assert missing.returncode == 1 and "no backup file" in missing.stderr
        assert asyncio.run(_snapshot(target)) == before
    finally:
        drop_database(server, SOURCE)
        drop_database(server, TARGET)
