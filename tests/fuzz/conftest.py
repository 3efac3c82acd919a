"""The fuzzed clinic: the API tests' clinic plus an exception and a chat session, and the
headers of every kind of caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from uuid import uuid4

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
    chair = await clinic.conn.fetchrow("INSERT INTO chairs (name) VALUES ('Chair 1') RETURNING id")
    closure = await clinic.conn.fetchrow(
        "INSERT INTO clinic_closures (date, reason) VALUES ($1, 'Holiday') RETURNING id",
        clinic.day + timedelta(days=30),
    )
    treatment = await clinic.conn.fetchrow(
        """INSERT INTO treatment_types (name, duration_minutes) VALUES ('Filling', 60)
           RETURNING id"""
    )
    entry = await clinic.conn.fetchrow(
        """INSERT INTO waitlist_entries (patient_name, patient_email, patient_phone,
               treatment_type_id, earliest_date, latest_date, times)
           VALUES ('Wait Listed', 'wait@example.com', '+1 555 0100', $1, $2, $2,
                   ARRAY['morning']) RETURNING id""",
        treatment["id"],
        clinic.day,
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
            "chair_id": [str(chair["id"])],
            "closure_id": [str(closure["id"])],
            "treatment_id": [str(treatment["id"])],
            "treatment_type_id": [str(treatment["id"])],
            "entry_id": [str(entry["id"])],
            "token": ["no-such-link.secret"],
            "message_id": [str(uuid4())],
            "user_id": [str(clinic.users["patient_b"]["id"])],
            "patient_id": [str(clinic.users["patient_a"]["id"])],
            # The clinic's day: 09:00 is taken (409 with alternatives), 11:00 is free.
            "appointment_date": [clinic.day.isoformat()],
            "appointment_time": ["09:00", "11:00"],
        },
    )
