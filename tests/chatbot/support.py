"""A conversation driver over the HTTP API of the live server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx

from dentalcare.chatbot.clinic import facts_from_settings
from dentalcare.chatbot.ports import ClinicFacts
from dentalcare.config import Settings
from tests.fixtures.clinic import CHAT_PATIENT_EMAIL, ChatClinic
from tests.fixtures.rows import make_appointment


@dataclass
class HttpDriver:
    """Holds one conversation through the real endpoints of the live server."""

    http: httpx.AsyncClient
    clinic: ChatClinic
    settings: Settings
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
            patient_email=CHAT_PATIENT_EMAIL if logged_in else "guest.booker@example.com",
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

    async def lapse_holds(self) -> None:
        """Every live hold lapses (its expiry moves to a second ago; the service treats a
        lapsed hold as busy to nobody, swept or not)."""
        await self.clinic.conn.execute(
            "UPDATE holds SET expires_at = least(expires_at, clock_timestamp() - interval '1 s')"
        )

    def clock(self) -> datetime:
        """The server's clock is the real one."""
        return datetime.now(UTC)

    def facts(self) -> ClinicFacts:
        """What the server's settings publish about the clinic."""
        return facts_from_settings(self.settings)
