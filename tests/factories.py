"""Small factories for test data, written straight into the database as its owner."""

from __future__ import annotations

import itertools
import secrets
from datetime import date, time
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.auth.passwords import hash_password

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct-horse-battery"
_REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def unique(prefix: str) -> str:
    """A value no other call in this run returns."""
    return f"{prefix}{next(_counter)}"


def reference() -> str:
    """A random booking reference."""
    return "DC-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(7))


async def make_user(
    conn: asyncpg.Connection,
    *,
    role: str = "patient",
    email: str | None = None,
    full_name: str | None = None,
    password: str = DEFAULT_PASSWORD,
    phone: str | None = "+1 555 0101",
) -> asyncpg.Record:
    """A user row."""
    return await conn.fetchrow(
        """INSERT INTO users (email, password_hash, role, full_name, phone)
           VALUES ($1, $2, $3, $4, $5) RETURNING *""",
        email or unique(f"{role}-") + "@example.com",
        hash_password(password),
        role,
        full_name or unique(f"Test {role.title()} "),
        phone,
    )


async def make_dentist(
    conn: asyncpg.Connection,
    *,
    name: str | None = None,
    timezone: str = "UTC",
    slot_minutes: int = 30,
    specialization: str = "General Dentistry",
    with_login: bool = True,
    password: str = DEFAULT_PASSWORD,
) -> asyncpg.Record:
    """A dentist (with a login unless `with_login` is false)."""
    name = name or unique("Dr Test ")
    email = unique("dentist-") + "@example.com"
    user_id = None
    if with_login:
        user = await make_user(conn, role="dentist", email=email, full_name=name, password=password)
        user_id = user["id"]
    return await conn.fetchrow(
        """INSERT INTO dentists (user_id, name, email, specialization, timezone, slot_minutes)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        user_id,
        name,
        email,
        specialization,
        timezone,
        slot_minutes,
    )


async def make_window(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    day_of_week: int,
    start: time,
    end: time,
) -> asyncpg.Record:
    """A weekly availability window."""
    return await conn.fetchrow(
        """INSERT INTO dentist_availability (dentist_id, day_of_week, start_time, end_time)
           VALUES ($1, $2, $3, $4) RETURNING *""",
        dentist_id,
        day_of_week,
        start,
        end,
    )


async def make_appointment(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    on: date,
    at: time,
    patient_id: UUID | None = None,
    duration_minutes: int = 30,
    status: str = "pending",
    booking_source: str = "manual",
    patient_email: str | None = None,
    **fields: Any,
) -> asyncpg.Record:
    """An appointment row (no slot rules: the schema's constraints still apply)."""
    columns = {
        "booking_reference": reference(),
        "dentist_id": dentist_id,
        "patient_id": patient_id,
        "patient_name": fields.pop("patient_name", "Pat Test"),
        "patient_email": patient_email or unique("patient-") + "@example.com",
        "patient_phone": fields.pop("patient_phone", "+1 555 0102"),
        "appointment_date": on,
        "appointment_time": at,
        "duration_minutes": duration_minutes,
        "status": status,
        "booking_source": booking_source,
        **fields,
    }
    names = ", ".join(columns)
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return await conn.fetchrow(
        f"INSERT INTO appointments ({names}) VALUES ({params}) RETURNING *",
        *columns.values(),
    )
