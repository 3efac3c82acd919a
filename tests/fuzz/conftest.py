"""The fuzzed clinic: the API tests' clinic plus an exception and a chat session, and the
headers of every kind of caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from uuid import UUID

import pytest

from tests.api.conftest import Clinic, clinic  # noqa: F401  (the fixture, re-exported here)
from tests.conftest import RunningServer

CALLERS = ("anonymous", "patient", "dentist", "admin")


@dataclass
class FuzzClinic:
    """Known ids to aim generated requests at, and the headers of each kind of caller."""

    base_url: str
    headers: dict[str, dict[str, str]]
    ids: dict[str, list[UUID]] = field(default_factory=dict)


@pytest.fixture
async def fuzz_clinic(clinic: Clinic, live_server: RunningServer) -> FuzzClinic:  # noqa: F811
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
        ids={
            "dentist_id": [clinic.dentists["x"]["id"], clinic.dentists["y"]["id"]],
            "appointment_id": [clinic.appointments[k]["id"] for k in ("a", "b", "guest")],
            "exception_id": [exception["id"]],
            "session_id": [UUID(started.json()["session_id"])],
        },
    )
