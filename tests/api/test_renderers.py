"""Every renderer's output is exactly its `XRead` schema: the same keys, values that
validate — for rows from asyncpg and for rows from the event log's JSON alike.

Production never validates a response (it builds dicts and encodes them); this is where a
renderer and its schema are held together. The appointment, dentist, window, exception
and outside-hours renderers are generated from their schemas, so a field added to one is
in the other; `user_json` is written by hand, and this test is what ties it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from pydantic import BaseModel, ConfigDict

from dentalcare.appointments.repository import SELECT_APPOINTMENT
from dentalcare.appointments.schemas import AppointmentRead, appointment_json
from dentalcare.auth.schemas import UserRead
from dentalcare.auth.service import user_json
from dentalcare.auth.tokens import Principal
from dentalcare.availability import repository as availability_repository
from dentalcare.availability.schemas import (
    ExceptionRead,
    OutsideHours,
    WeeklyWindowRead,
    exception_json,
    outside_hours_json,
    window_json,
)
from dentalcare.dentists import repository as dentists_repository
from dentalcare.dentists.schemas import DentistRead, dentist_json
from dentalcare.jsonshape import TextId, renderer
from dentalcare.realtime.events import render_record
from tests.fixtures.rows import make_appointment, make_dentist, make_user, make_window

DAY = date(2031, 3, 10)


def assert_is(
    model: type[BaseModel], out: Mapping[str, Any], *, omit: frozenset[str] = frozenset()
) -> None:
    """`out` has exactly the model's keys (but `omit`) and validates against it."""
    assert set(out) == set(model.model_fields) - omit
    strict = type(f"Strict{model.__name__}", (model,), {"model_config": ConfigDict(extra="forbid")})
    strict.model_validate(out)


def assert_selects(model: type[BaseModel], row: Mapping[str, Any]) -> None:
    """The row has a column for every field (a renderer would write a missing one as null)."""
    assert set(model.model_fields) <= set(row.keys())


async def _logged(conn: asyncpg.Connection, table: str) -> list[dict[str, Any]]:
    """The JSON records the event log holds for `table`, oldest first."""
    rows = await conn.fetch(
        "SELECT record FROM realtime_events WHERE table_name = $1 ORDER BY seq", table
    )
    return [r["record"] for r in rows]


async def test_appointment_json_is_appointment_read(owner_conn: asyncpg.Connection) -> None:
    dentist = await make_dentist(owner_conn)
    patient = await make_user(owner_conn)
    full = await make_appointment(
        owner_conn,
        dentist_id=dentist["id"],
        patient_id=patient["id"],
        on=DAY,
        at=time(9),
        status="confirmed",
        urgency="urgent",
        payment_method="card",
        payment_amount=Decimal("45.50"),
        patient_age=41,
        notes="Bring X-rays",
    )
    await owner_conn.execute(
        "UPDATE appointments SET status = 'completed' WHERE id = $1", full["id"]
    )
    await make_appointment(owner_conn, dentist_id=dentist["id"], on=DAY, at=time(10))
    rows = await owner_conn.fetch(f"{SELECT_APPOINTMENT} ORDER BY a.starts_at")
    assert len(rows) == 2
    assert_selects(AppointmentRead, rows[0])
    for row in rows:
        assert_is(AppointmentRead, appointment_json(row))
    logged = await _logged(owner_conn, "appointments")
    for record in logged:
        assert_is(AppointmentRead, appointment_json(record))
        assert_is(AppointmentRead, render_record("appointments", record) or {})
    # Both kinds of row render the same.
    last_logged = [r for r in logged if r["id"] == str(full["id"])][-1]
    assert appointment_json(last_logged) == appointment_json(
        next(r for r in rows if r["id"] == full["id"])
    )


def test_appointment_json_writes_the_contracts_formats() -> None:
    ident = uuid4()
    row = dict.fromkeys(AppointmentRead.model_fields) | {
        "id": ident,
        "appointment_date": date(2026, 11, 23),
        "appointment_time": time(10, 0),
        "starts_at": datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        "payment_amount": Decimal("12.50"),
        "status": "pending",
    }
    out = appointment_json(row)
    assert out["id"] == str(ident)
    assert out["patient_id"] is None
    assert (out["appointment_date"], out["appointment_time"]) == ("2026-11-23", "10:00")
    assert out["starts_at"] == "2026-11-23T09:00:00+00:00"
    assert out["payment_amount"] == 12.5
    assert out["status"] == "pending"
    # The event log's JSON form of the same values.
    logged = row | {
        "id": str(ident),
        "appointment_date": "2026-11-23",
        "appointment_time": "10:00:00",
        "starts_at": "2026-11-23T10:00:00+01:00",
        "payment_amount": 12.5,
    }
    assert appointment_json(logged) == out
    assert list(out) == list(AppointmentRead.model_fields)


async def test_dentist_window_and_exception_renderers_are_their_schemas(
    owner_conn: asyncpg.Connection,
) -> None:
    dentist = await make_dentist(owner_conn)
    await make_window(
        owner_conn, dentist_id=dentist["id"], day_of_week=0, start=time(9), end=time(12)
    )
    await owner_conn.execute(
        """INSERT INTO availability_exceptions (dentist_id, date, start_time, end_time,
                                                 is_available, reason)
           VALUES ($1, $2, '13:00', '15:00', true, 'Extra hours'),
                  ($1, $3, NULL, NULL, false, NULL)""",
        dentist["id"],
        DAY,
        DAY.replace(day=11),
    )
    # The rows as the repositories select them (so their column lists are checked too),
    # and as the event log holds them.
    listed = await dentists_repository.list_active(owner_conn)
    assert_selects(DentistRead, listed[0])
    for row in [*listed, *await _logged(owner_conn, "dentists")]:
        assert_is(DentistRead, dentist_json(row, include_email=True))
        assert_is(DentistRead, dentist_json(row, include_email=False), omit=frozenset({"email"}))
    windows = await availability_repository.weekly_windows(owner_conn, dentist["id"])
    assert_selects(WeeklyWindowRead, windows[0])
    for row in [*windows, *await _logged(owner_conn, "dentist_availability")]:
        assert_is(WeeklyWindowRead, window_json(row))
    exceptions = await availability_repository.exceptions_from(owner_conn, dentist["id"], DAY)
    assert len(exceptions) == 2
    assert_selects(ExceptionRead, exceptions[0])
    for row in [*exceptions, *await _logged(owner_conn, "availability_exceptions")]:
        assert_is(ExceptionRead, exception_json(row))
        assert_is(ExceptionRead, render_record("availability_exceptions", row) or {})
    await make_appointment(owner_conn, dentist_id=dentist["id"], on=DAY, at=time(16))
    upcoming = await availability_repository.upcoming_bookings(
        owner_conn, dentist_id=dentist["id"], after=datetime(2031, 1, 1, tzinfo=UTC)
    )
    assert_selects(OutsideHours, upcoming[0])
    assert_is(OutsideHours, outside_hours_json(upcoming[0]))


async def test_user_json_is_user_read(owner_conn: asyncpg.Connection) -> None:
    patient = await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    dentist_user = await owner_conn.fetchrow(
        "SELECT * FROM users WHERE id = $1", dentist["user_id"]
    )
    assert_is(UserRead, user_json(patient))
    out = user_json(dentist_user, dentist_id=dentist["id"])
    assert_is(UserRead, out)
    assert out["dentist_id"] == str(dentist["id"])
    principal = Principal(
        user_id=dentist_user["id"],
        role="dentist",
        email=dentist_user["email"],
        full_name=dentist_user["full_name"],
        phone=None,
        dentist_id=dentist["id"],
        token_expires_at=0,
    )
    assert user_json(principal) == out | {"phone": None}


def test_a_field_added_to_a_schema_is_rendered_and_one_without_a_format_is_refused() -> None:
    class Wider(AppointmentRead):
        chair_id: TextId | None

    chair = UUID(int=7)
    assert renderer(Wider)({"chair_id": chair})["chair_id"] == str(chair)

    class Unsaid(AppointmentRead):
        arrived_at: datetime | None

    with pytest.raises(TypeError, match="arrived_at"):
        renderer(Unsaid)
