"""The database and the Python vocabulary agree: the status machine, the allowed values of
every vocabulary column, which statuses are active, and the appointment's columns.

Migration 0001 spells these out in SQL (CHECK constraints, the transition trigger raising
SQLSTATE DCT01, `status IN ('pending', 'confirmed')` predicates); the Python side has them
once, in dentalcare.vocabulary. Change one without the other and a test here
fails.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from itertools import product

import asyncpg
import pytest

from dentalcare.appointments.repository import INSERTABLE, UPDATABLE
from dentalcare.appointments.schemas import JOINED_FIELDS, AppointmentRead
from dentalcare.auth.schemas import ROLES
from dentalcare.vocabulary import (
    ACTIVE,
    BOOKING_SOURCES,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    STATUSES,
    TRANSITIONS,
    URGENCIES,
)
from tests.fixtures.rows import make_appointment, make_dentist

DAY = date(2031, 3, 10)  # far from "now": no clock rule interferes


def _at(index: int) -> time:
    """Distinct, non-overlapping half hours from 06:00 (one per appointment of a test)."""
    minutes = 6 * 60 + 30 * index
    return time(minutes // 60, minutes % 60)


async def test_the_trigger_allows_exactly_the_python_transitions(
    owner_conn: asyncpg.Connection,
) -> None:
    dentist = await make_dentist(owner_conn)
    pairs = [(a, b) for a, b in product(STATUSES, repeat=2) if a != b]
    allowed: set[tuple[str, str]] = set()
    for index, (start, target) in enumerate(pairs):
        appointment = await make_appointment(
            owner_conn, dentist_id=dentist["id"], on=DAY, at=_at(index), status=start
        )
        try:
            await owner_conn.execute(
                "UPDATE appointments SET status = $2 WHERE id = $1", appointment["id"], target
            )
        except asyncpg.PostgresError as exc:
            assert exc.sqlstate == "DCT01", f"{start} -> {target}: {exc}"
        else:
            allowed.add((start, target))
    assert allowed == TRANSITIONS


async def test_the_transition_function_agrees_too(owner_conn: asyncpg.Connection) -> None:
    rows = await owner_conn.fetch(
        """SELECT a, b FROM unnest($1::text[]) a, unnest($1::text[]) b
           WHERE appointment_transition_allowed(a, b)""",
        list(STATUSES),
    )
    assert {(r["a"], r["b"]) for r in rows} == TRANSITIONS


async def _check_values(conn: asyncpg.Connection, table: str, column: str) -> set[str]:
    """The values the CHECK constraint on `table.column` allows, read from the catalog."""
    definitions = await conn.fetch(
        """SELECT pg_get_constraintdef(c.oid) AS def
           FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
           WHERE c.conrelid = $1::regclass AND c.contype = 'c' AND a.attname = $2
             AND cardinality(c.conkey) = 1""",
        table,
        column,
    )
    lists = [
        set(re.findall(r"'([^']*)'::text", d["def"]))
        for d in definitions
        if re.search(rf"\b{column} = ANY \(ARRAY\[", d["def"])
    ]
    assert len(lists) == 1, f"one list of values expected on {table}.{column}: {definitions}"
    return lists[0]


@pytest.mark.parametrize(
    ("column", "vocabulary"),
    [
        ("status", STATUSES),
        ("booking_source", BOOKING_SOURCES),
        ("urgency", URGENCIES),
        ("payment_method", PAYMENT_METHODS),
        ("payment_status", PAYMENT_STATUSES),
    ],
)
async def test_check_constraints_allow_exactly_the_vocabulary(
    owner_conn: asyncpg.Connection, column: str, vocabulary: tuple[str, ...]
) -> None:
    assert await _check_values(owner_conn, "appointments", column) == set(vocabulary)
    # And the catalog was read right: every value inserts, a near miss does not.
    dentist = await make_dentist(owner_conn)
    for index, value in enumerate(vocabulary):
        row = await make_appointment(
            owner_conn,
            dentist_id=dentist["id"],
            on=DAY,
            at=_at(index),
            # An inactive status, so that appointments never collide.
            **({column: value} if column == "status" else {column: value, "status": "cancelled"}),
        )
        assert row[column] == value
    with pytest.raises(asyncpg.CheckViolationError):
        await make_appointment(
            owner_conn, dentist_id=dentist["id"], on=DAY, at=_at(20), **{column: "Pending"}
        )


async def test_user_roles_are_the_python_ones(owner_conn: asyncpg.Connection) -> None:
    assert await _check_values(owner_conn, "users", "role") == set(ROLES)


async def test_active_statuses_are_the_ones_the_database_treats_as_active(
    owner_conn: asyncpg.Connection,
) -> None:
    """Busy times, the no-double-booking constraint and the slot events all use ACTIVE."""
    dentist = await make_dentist(owner_conn)
    head = int(await owner_conn.fetchval("SELECT coalesce(max(seq), 0) FROM realtime_events"))
    ids = {}
    for index, status in enumerate(STATUSES):
        row = await make_appointment(
            owner_conn, dentist_id=dentist["id"], on=DAY, at=_at(2 * index), status=status
        )
        ids[row["id"]] = status
    busy = await owner_conn.fetch(
        "SELECT id FROM appointment_busy WHERE dentist_id = $1", dentist["id"]
    )
    assert {ids[r["id"]] for r in busy} == ACTIVE
    taken = await owner_conn.fetch(
        """SELECT record ->> 'time' AS at FROM realtime_events
           WHERE seq > $1 AND table_name = 'slots' AND op = 'TAKEN'""",
        head,
    )
    assert {r["at"] for r in taken} == {
        f"{_at(2 * i):%H:%M}" for i, s in enumerate(STATUSES) if s in ACTIVE
    }

    # A second booking over each of them conflicts exactly when both are active.
    conflicts = set()
    for index, (status, other) in enumerate(product(STATUSES, repeat=2)):
        on = DAY + timedelta(days=1 + index)
        await make_appointment(
            owner_conn, dentist_id=dentist["id"], on=on, at=time(9), status=status
        )
        try:
            await make_appointment(
                owner_conn, dentist_id=dentist["id"], on=on, at=time(9, 15), status=other
            )
        except asyncpg.ExclusionViolationError:
            conflicts.add((status, other))
    assert conflicts == set(product(ACTIVE, repeat=2))


async def test_appointment_columns_are_the_read_schema(owner_conn: asyncpg.Connection) -> None:
    """`AppointmentRead` is every column (plus what is joined in), and what the repository
    writes are columns."""
    columns = {
        r["column_name"]
        for r in await owner_conn.fetch(
            """SELECT column_name FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name = 'appointments'"""
        )
    }
    assert columns == set(AppointmentRead.model_fields) - JOINED_FIELDS
    assert columns >= set(INSERTABLE)
    assert len(set(INSERTABLE)) == len(INSERTABLE)
    assert columns >= UPDATABLE
