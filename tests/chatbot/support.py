"""The demo clinic in the test database, and a conversation driver over the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx

from dentalcare.auth.tokens import issue_token
from dentalcare.config import Settings
from tests.factories import make_appointment, make_dentist, make_user, make_window

DENTISTS = (
    ("Dr Sarah Smith", "General Dentistry"),
    ("Dr Raj Patel", "Orthodontics"),
    ("Dr Li Chen", "Pediatric Dentistry"),
    ("Dr Mark Johnson", "Oral Surgery"),
    ("Dr Ana Garcia", "Endodontics"),
)
PATIENT_EMAIL = "alice@example.com"


@dataclass
class ChatClinic:
    """The five demo dentists (09:00–17:00 every day) and a patient with a token."""

    conn: asyncpg.Connection
    dentists: list[asyncpg.Record]
    patient: asyncpg.Record
    patient_headers: dict[str, str]


async def seed_clinic(conn: asyncpg.Connection, settings: Settings) -> ChatClinic:
    """Write the demo clinic into the (clean) database."""
    dentists = []
    for name, specialization in DENTISTS:
        dentist = await make_dentist(conn, name=name, specialization=specialization)
        for day in range(7):
            await make_window(
                conn, dentist_id=dentist["id"], day_of_week=day, start=time(9), end=time(17)
            )
        dentists.append(dentist)
    patient = await make_user(
        conn, email=PATIENT_EMAIL, full_name="Alice Patient", phone="+1 555 0101"
    )
    return ChatClinic(conn, dentists, patient, headers_for(settings, patient))


def headers_for(settings: Settings, user: asyncpg.Record) -> dict[str, str]:
    """A bearer header for a user row."""
    token = issue_token(
        settings, user_id=user["id"], role=user["role"], token_version=user["token_version"]
    )
    return {"Authorization": f"Bearer {token}"}


@dataclass
class HttpDriver:
    """Holds one conversation through the real endpoints of the live server."""

    http: httpx.AsyncClient
    clinic: ChatClinic
    session_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    async def existing_booking(self, *, logged_in: bool) -> dict[str, Any]:
        """An appointment with Dr Smith three days ahead at 10:00 (made on the web)."""
        row = await make_appointment(
            self.clinic.conn,
            dentist_id=self.clinic.dentists[0]["id"],
            on=datetime.now(UTC).date() + timedelta(days=3),
            at=time(10),
            patient_id=self.clinic.patient["id"] if logged_in else None,
            patient_email=PATIENT_EMAIL if logged_in else "guest.booker@example.com",
        )
        return {
            "booking_reference": row["booking_reference"],
            "patient_email": row["patient_email"],
        }

    async def start(self, *, logged_in: bool) -> dict[str, Any]:
        """POST /api/chat/sessions."""
        self.headers = self.clinic.patient_headers if logged_in else {}
        response = await self.http.post("/api/chat/sessions", headers=self.headers)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        self.session_id = body["session_id"]
        return body

    async def send(self, text: str) -> dict[str, Any]:
        """POST /api/chat/sessions/{id}/messages."""
        response = await self.http.post(
            f"/api/chat/sessions/{self.session_id}/messages",
            json={"text": text},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def take(self, slot: dict[str, Any]) -> None:
        """Someone else books the slot through the web form's endpoint."""
        response = await self.http.post(
            "/api/appointments",
            json={
                "dentist_id": slot["dentist_id"],
                "appointment_date": slot["date"],
                "appointment_time": slot["time"],
                "patient_name": "Someone Else",
                "patient_email": "someone.else@example.com",
                "patient_phone": "+1 555 0100",
            },
        )
        assert response.status_code == 201, response.text

    def clock(self) -> datetime:
        """The server's clock is the real one."""
        return datetime.now(UTC)
