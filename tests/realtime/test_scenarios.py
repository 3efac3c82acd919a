"""The original system's five sync scenarios, end to end over HTTP and real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.fixtures.rows import make_dentist, make_user, make_window
from tests.fixtures.servers import RunningServer, caught_up
from tests.realtime.conftest import open_feed

DAY = datetime.now(UTC).date() + timedelta(days=7)


@dataclass
class Clinic:
    """A dentist working every day 08:00-18:00, a patient and an admin, with tokens."""

    http: httpx.AsyncClient
    dentist: asyncpg.Record
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def booking(self, at: str, **extra: object) -> dict[str, object]:
        return {
            "dentist_id": str(self.dentist["id"]),
            "appointment_date": DAY.isoformat(),
            "appointment_time": at,
            "patient_name": "Jane Patient",
            "patient_email": "jane.patient@example.com",
            "patient_phone": "+1 555 0199",
            **extra,
        }


@pytest.fixture
async def clinic(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> AsyncIterator[Clinic]:
    dentist = await make_dentist(owner_conn, name="Dr Sync")
    for day in range(7):
        await make_window(
            owner_conn, dentist_id=dentist["id"], day_of_week=day, start=time(8), end=time(18)
        )
    login = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", dentist["user_id"])
    patient = await make_user(owner_conn, email="jane.patient@example.com")
    admin = await make_user(owner_conn, role="admin")
    await caught_up(live_server, owner_conn)  # set-up events are not what the tests wait for
    tokens = {
        "dentist": token_for(login),
        "patient": token_for(patient),
        "admin": token_for(admin),
        "patient_id": str(patient["id"]),
    }
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as http:
        yield Clinic(http=http, dentist=dentist, tokens=tokens)


async def test_a_web_form_booking_reaches_the_dentist_and_the_admin_marked_manual(
    live_server: RunningServer, clinic: Clinic
) -> None:
    async with (
        open_feed(live_server, clinic.tokens["dentist"]) as dentist,
        open_feed(live_server, clinic.tokens["admin"]) as admin,
        open_feed(live_server, clinic.tokens["patient"]) as patient,
    ):
        for feed in (dentist, admin, patient):
            await feed.subscribe("appointments")
        response = await clinic.http.post(
            "/api/appointments", json=clinic.booking("10:00"), headers=clinic.headers("patient")
        )
        assert response.status_code == 201, response.text
        booked = response.json()
        for feed in (dentist, admin, patient):
            [event] = await feed.events(1)
            assert (event["table"], event["op"]) == ("appointments", "INSERT")
            assert event["record"] == booked
            assert event["record"]["booking_source"] == "manual"


async def test_a_chatbot_booking_reaches_the_dentist_marked_chatbot(
    live_server: RunningServer, clinic: Clinic
) -> None:
    async def say(session: str, text: str) -> dict[str, Any]:
        response = await clinic.http.post(
            f"/api/chat/sessions/{session}/messages", json={"text": text}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async with open_feed(live_server, clinic.tokens["dentist"]) as dentist:
        await dentist.subscribe("appointments")
        created = await clinic.http.post("/api/chat/sessions")
        assert created.status_code == 201, created.text
        session = created.json()["session_id"]
        await say(session, "I broke my front tooth and it hurts when I bite")
        # The red-flag screen asks first (swelling to the eye or neck, fever, ...): none.
        offer = await say(session, "no")
        choices = [q["value"] for m in offer["messages"] for q in m["quick_replies"]]
        await say(session, next(v for v in choices if v != "other times"))
        await say(session, "Jane Doe, jane@example.com, 07700 900123")
        done = await say(session, "yes")
        booked = done["appointment"]
        assert booked is not None, done
        [event] = await dentist.events(1)
        assert event["record"]["id"] == booked["id"]
        assert event["record"]["booking_source"] == "chatbot"
        assert event["record"]["urgency"] == "urgent"


async def test_a_schedule_change_reaches_availability_subscribers(
    live_server: RunningServer, clinic: Clinic
) -> None:
    dentist_id = str(clinic.dentist["id"])
    async with open_feed(live_server) as page, open_feed(live_server) as directory:
        await page.subscribe(f"availability:{dentist_id}")
        await directory.subscribe("availability")
        weekly = [{"day_of_week": 0, "start_time": "09:00", "end_time": "12:00"}]
        response = await clinic.http.put(
            f"/api/availability/{dentist_id}",
            json={"weekly": weekly},
            headers=clinic.headers("dentist"),
        )
        assert response.status_code == 200, response.text
        for feed in (page, directory):
            events = await feed.events_until(
                lambda e: e["op"] == "INSERT" and e["record"]["start_time"] == "09:00"
            )
            assert {e["table"] for e in events} == {"dentist_availability"}
            assert all(
                e["record"] is None or e["record"]["dentist_id"] == dentist_id for e in events
            )
            assert events[-1]["record"]["end_time"] == "12:00"


async def test_an_admin_created_dentist_appears_on_dentists_and_can_log_in_at_once(
    live_server: RunningServer, clinic: Clinic
) -> None:
    async with open_feed(live_server) as directory:
        await directory.subscribe("dentists")
        response = await clinic.http.post(
            "/api/dentists",
            json={"name": "Dr New", "email": "dr.new@example.com", "password": "brand-new-pass"},
            headers=clinic.headers("admin"),
        )
        assert response.status_code == 201, response.text
        created = response.json()["dentist"]
        [event] = await directory.events(1)
        assert (event["table"], event["op"]) == ("dentists", "INSERT")
        assert event["record"]["id"] == created["id"]
        assert event["record"]["name"] == "Dr New" and event["record"]["active"] is True
        assert "email" not in event["record"]
        login = await clinic.http.post(
            "/api/auth/login", json={"email": "dr.new@example.com", "password": "brand-new-pass"}
        )
        assert login.status_code == 200, login.text


async def test_an_admin_removed_dentist_disappears_and_their_patients_get_cancellations(
    live_server: RunningServer, clinic: Clinic
) -> None:
    booked = await clinic.http.post(
        "/api/appointments", json=clinic.booking("15:00"), headers=clinic.headers("patient")
    )
    assert booked.status_code == 201, booked.text
    dentist_id = str(clinic.dentist["id"])
    async with (
        open_feed(live_server, clinic.tokens["dentist"]) as dentist,
        open_feed(live_server, clinic.tokens["patient"]) as patient,
        open_feed(live_server) as directory,
        open_feed(live_server) as page,
    ):
        await dentist.subscribe("appointments")
        await patient.subscribe("appointments")
        await directory.subscribe("dentists")
        await page.subscribe(f"availability:{dentist_id}")
        removed = await clinic.http.delete(
            f"/api/dentists/{dentist_id}", headers=clinic.headers("admin")
        )
        assert removed.status_code == 204, removed.text

        [gone] = await directory.events(1)
        assert gone["record"]["id"] == dentist_id and gone["record"]["active"] is False
        assert await dentist.close_code() == 4001
        [cancelled] = await patient.events(1)
        assert cancelled["record"]["id"] == booked.json()["id"]
        assert cancelled["record"]["status"] == "cancelled"
        assert cancelled["record"]["cancellation_reason"] == "dentist removed"
        [freed] = await page.events(1)
        assert (freed["table"], freed["op"]) == ("slots", "RELEASED")
        assert freed["record"]["time"] == "15:00"

    listed = await clinic.http.get("/api/dentists")
    assert dentist_id not in {d["id"] for d in listed.json()}
    login = await clinic.http.post(
        "/api/auth/login",
        json={"email": clinic.dentist["email"], "password": "correct-horse-battery"},
    )
    assert login.status_code == 401
