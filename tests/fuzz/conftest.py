"""The fuzzed clinic: the API tests' clinic plus an exception and a chat session, and the
headers of every kind of caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

import pytest

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer

CALLERS = ("anonymous", "patient", "dentist", "admin")


@dataclass
class FuzzClinic:
    """Known values to aim generated requests at, and the headers of each kind of caller."""

    base_url: str
    headers: dict[str, dict[str, str]]
    known: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture
async def fuzz_clinic(clinic: Clinic, live_server: RunningServer) -> FuzzClinic:
    """A fresh clinic for each fuzzed operation and caller, so no run depends on another."""
    exception = await clinic.conn.fetchrow(
        """INSERT INTO availability_exceptions (dentist_id, date, start_time, end_time,
                                                is_available, reason)
           VALUES ($1, $2, $3, $4, false, 'Training') RETURNING id""",
        clinic.dentists["x"]["id"],
        clinic.day,
        time(16),
        time(17),
    )
    started = await clinic.http.post("/api/chat/sessions", headers=clinic.auth("patient_a"))
    assert started.status_code == 201, started.text
    return FuzzClinic(
        base_url=live_server.base_url,
        headers={
            "anonymous": {},
            "patient": clinic.auth("patient_a"),
            "dentist": clinic.auth("dentist_x"),
            "admin": clinic.auth("admin"),
        },
        known={
            "dentist_id": [str(clinic.dentists[k]["id"]) for k in ("x", "y")],
            "appointment_id": [str(clinic.appointments[k]["id"]) for k in ("a", "b", "guest")],
            "exception_id": [str(exception["id"])],
            "session_id": [started.json()["session_id"]],
            # The clinic's day: 09:00 is taken (409 with alternatives), 11:00 is free.
            "appointment_date": [clinic.day.isoformat()],
            "appointment_time": ["09:00", "11:00"],
        },
    )
