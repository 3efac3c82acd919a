"""A small clinic for API tests: patients A and B, dentists X and Y, an admin, bookings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from dentalcare.auth.tokens import issue_token
from tests.conftest import RunningServer
from tests.factories import make_appointment, make_dentist, make_user, make_window

WORK_START, WORK_END = time(8), time(18)


def next_weekday(days_ahead: int = 7) -> date:
    """A date a week or so ahead (always inside the test dentists' hours)."""
    return datetime.now(UTC).date() + timedelta(days=days_ahead)


@dataclass
class Clinic:
    """Everything a test needs, with ready-made auth headers."""

    http: httpx.AsyncClient
    conn: asyncpg.Connection
    users: dict[str, asyncpg.Record] = field(default_factory=dict)
    dentists: dict[str, asyncpg.Record] = field(default_factory=dict)
    appointments: dict[str, asyncpg.Record] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    day: date = field(default_factory=next_weekday)

    def auth(self, who: str) -> dict[str, str]:
        """Headers for `who` (anon, patient_a, patient_b, dentist_x, dentist_y, admin)."""
        return self.headers.get(who, {})

    def booking(self, dentist: str = "x", at: str = "11:00", **extra: Any) -> dict[str, Any]:
        """A valid booking body."""
        body = {
            "dentist_id": str(self.dentists[dentist]["id"]),
            "appointment_date": self.day.isoformat(),
            "appointment_time": at,
            "patient_name": "Jane Guest",
            "patient_email": "jane.guest@example.com",
            "patient_phone": "+1 555 0199",
        }
        body.update(extra)
        return body

    async def count(self, table: str = "appointments") -> int:
        """Rows in a table (as the owner: every row)."""
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {table}"))


def token_for(settings: Any, user: asyncpg.Record) -> dict[str, str]:
    """A bearer header for a user row."""
    token = issue_token(
        settings, user_id=user["id"], role=user["role"], token_version=user["token_version"]
    )
    return {"Authorization": f"Bearer {token}"}


async def add_dentist(clinic: Clinic, key: str, settings: Any, **kwargs: Any) -> asyncpg.Record:
    """A dentist working every day 08:00-18:00, with a login and headers."""
    dentist = await make_dentist(clinic.conn, **kwargs)
    for day in range(7):
        await make_window(
            clinic.conn,
            dentist_id=dentist["id"],
            day_of_week=day,
            start=WORK_START,
            end=WORK_END,
        )
    user = await clinic.conn.fetchrow("SELECT * FROM users WHERE id = $1", dentist["user_id"])
    clinic.dentists[key] = dentist
    clinic.users[f"dentist_{key}"] = user
    clinic.headers[f"dentist_{key}"] = token_for(settings, user)
    return dentist


@pytest.fixture
async def clinic(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, live_server: RunningServer
) -> Clinic:
    """Patients A and B, dentists X and Y, an admin, and one booking each (plus a guest's)."""
    settings = live_server.app.state.settings
    live_server.app.state.login_limiter.reset()
    live_server.app.state.booking_limiter.reset()
    c = Clinic(http=client, conn=owner_conn)
    for key, role in (("patient_a", "patient"), ("patient_b", "patient"), ("admin", "admin")):
        user = await make_user(owner_conn, role=role)
        c.users[key] = user
        c.headers[key] = token_for(settings, user)
    await add_dentist(c, "x", settings, name="Dr Xavier Test")
    await add_dentist(c, "y", settings, name="Dr Yvonne Test")
    c.appointments["a"] = await make_appointment(
        owner_conn,
        dentist_id=c.dentists["x"]["id"],
        patient_id=c.users["patient_a"]["id"],
        on=c.day,
        at=time(9),
        patient_email=c.users["patient_a"]["email"],
    )
    c.appointments["b"] = await make_appointment(
        owner_conn,
        dentist_id=c.dentists["y"]["id"],
        patient_id=c.users["patient_b"]["id"],
        on=c.day,
        at=time(9),
        patient_email=c.users["patient_b"]["email"],
    )
    c.appointments["guest"] = await make_appointment(
        owner_conn,
        dentist_id=c.dentists["x"]["id"],
        on=c.day,
        at=time(10),
        patient_email="guest@example.com",
    )
    return c
