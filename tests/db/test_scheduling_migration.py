"""Migration 0009 keeps every appointment: each gets the standard treatment (the dentist's
own slot length) and no chair, and the active ones hold their intervals from then on."""

from __future__ import annotations

import asyncio
from datetime import date, time

import asyncpg

from dentalcare.db import migrate
from tests.fixtures.database import with_database

STANDARD = "00000000-0000-4000-8000-000000000001"
DAY = date(2026, 12, 14)


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed(url: str) -> None:
    """A dentist with a 45-minute slot, two active visits and a cancelled one, as 0008 had."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT set_config('app.role', 'system', false)")
        dentist = await conn.fetchval(
            """INSERT INTO dentists (name, email, timezone, slot_minutes)
               VALUES ('Dr Before', 'before@example.com', 'Europe/London', 45) RETURNING id"""
        )
        for n, (at, status) in enumerate(
            [(time(9), "pending"), (time(10), "confirmed"), (time(9), "cancelled")]
        ):
            await conn.execute(
                """INSERT INTO appointments (booking_reference, dentist_id, patient_name,
                       patient_email, patient_phone, appointment_date, appointment_time,
                       duration_minutes, status, booking_source)
                   VALUES ($1, $2, 'Pat', 'pat@example.com', '+44 20 7946 0000', $3, $4, 45,
                           $5, 'manual')""",
                f"DC-MIGRAT{n}",
                dentist,
                DAY,
                at,
                status,
            )
    finally:
        await conn.close()


async def _after(url: str) -> tuple[list[asyncpg.Record], int, asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT set_config('app.role', 'system', false)")
        rows = await conn.fetch(
            """SELECT booking_reference, status, treatment_type_id::text AS treatment,
                      chair_id, duration_minutes FROM appointments ORDER BY booking_reference"""
        )
        occupied = await conn.fetchval("SELECT count(*) FROM occupancy")
        clinic = await conn.fetchrow("SELECT * FROM clinic_settings")
        return rows, occupied, clinic
    finally:
        await conn.close()


def test_existing_appointments_survive_the_scheduling_migration(database_url: str) -> None:
    name = f"{database_url.rsplit('/', 1)[1]}_scheduling_migration"
    url = with_database(database_url, name)
    asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    try:
        migrate.upgrade(url, revision="0008")
        asyncio.run(_seed(url))
        migrate.upgrade(url)
        rows, occupied, clinic = asyncio.run(_after(url))
        assert [r["booking_reference"] for r in rows] == ["DC-MIGRAT0", "DC-MIGRAT1", "DC-MIGRAT2"]
        assert {r["treatment"] for r in rows} == {STANDARD}
        assert all(r["chair_id"] is None and r["duration_minutes"] == 45 for r in rows)
        assert occupied == 2  # the two active ones; the cancelled one frees its time
        assert str(clinic["default_treatment_type_id"]) == STANDARD
        migrate.downgrade(url, "0008")
        migrate.upgrade(url)
        assert len(asyncio.run(_after(url))[0]) == 3
    finally:
        asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
