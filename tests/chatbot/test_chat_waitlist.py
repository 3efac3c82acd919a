"""The chat puts a patient on the waitlist (issue 14) through the real waitlist service
(HTTP, the live server, PostgreSQL): offered when nothing free fits, joined on yes with
the treatment, dentist and dates the conversation settled on, never for an emergency."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.fixtures.clinic import CHAT_PATIENT_EMAIL, ChatClinic
from tests.fixtures.rows import make_appointment

DETAILS = "Jane Doe, jane@example.com, 07700 900123"


class Chat:
    """One conversation over the chat HTTP API (a guest's, or with a patient's headers)."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> None:
        self.http = http
        self.headers = headers or {}
        self.session = ""

    async def start(self) -> None:
        response = await self.http.post("/api/chat/sessions", headers=self.headers)
        assert response.status_code == 201, response.text
        self.session = response.json()["session_id"]

    async def say(self, text: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/api/chat/sessions/{self.session}/messages",
            json={"text": text},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def _said(body: dict[str, Any]) -> str:
    return " ".join(m["text"] for m in body["messages"])


def _day_words(day: date) -> str:
    return f"{day.day} {day:%B}"


async def _types(clinic: ChatClinic) -> dict[str, uuid.UUID]:
    """The clinic's own names for a check-up and a cleaning (everyone performs them)."""
    ids = {}
    for name, minutes in (("Routine exam", 30), ("Hygienist clean", 30)):
        ids[name] = await clinic.conn.fetchval(
            """INSERT INTO treatment_types (name, duration_minutes, bookable_online)
               VALUES ($1, $2, true) RETURNING id""",
            name,
            minutes,
        )
    return ids


def _smith(clinic: ChatClinic) -> asyncpg.Record:
    return next(d for d in clinic.dentists if d["name"] == "Dr Sarah Smith")


async def _fully_booked(clinic: ChatClinic, day: date) -> None:
    """Dr Smith's whole day (09:00-17:00) is booked by others."""
    for half_hour in range(16):
        at = time(9 + half_hour // 2, 30 * (half_hour % 2))
        await make_appointment(clinic.conn, dentist_id=_smith(clinic)["id"], on=day, at=at)


async def _entries(clinic: ChatClinic) -> list[asyncpg.Record]:
    return await clinic.conn.fetch("SELECT * FROM waitlist_entries ORDER BY created_at")


def _a_day_ahead() -> date:
    return datetime.now(UTC).date() + timedelta(days=10)


async def _nothing_free_on(chat: Chat, day: date) -> dict[str, Any]:
    await chat.start()
    await chat.say("Hi, I'd like a check-up please")
    offer = await chat.say(f"with Dr Smith on {_day_words(day)} if possible")
    said = _said(offer)
    assert "nothing free" in said, said
    assert "waitlist" in said and "shall I?" in said, said
    return offer


async def test_nothing_free_on_the_day_and_yes_puts_a_guest_on_the_waitlist_for_it(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    types = await _types(chat_clinic)
    day = _a_day_ahead()
    await _fully_booked(chat_clinic, day)
    chat = Chat(chat_http)
    await _nothing_free_on(chat, day)

    asked = await chat.say("yes please")
    assert asked["state"]["stage"] == "details"
    assert "name" in _said(asked) and "e-mail" in _said(asked)
    assert await _entries(chat_clinic) == []  # nothing registered before the details

    done = await chat.say(DETAILS)
    assert done["state"]["stage"] == "waitlisted", done["messages"]
    assert done["appointment"] is None
    said = _said(done)
    assert "waitlist" in said and "Dr Sarah Smith" in said and "check-up" in said
    assert f"{day:%A} {day.day} {day:%B}" in said
    assert "e-mail you at jane@example.com with a link to accept" in said

    (entry,) = await _entries(chat_clinic)
    assert entry["treatment_type_id"] == types["Routine exam"]
    assert entry["dentist_id"] == _smith(chat_clinic)["id"]
    assert (entry["earliest_date"], entry["latest_date"]) == (day, day)
    assert list(entry["times"]) == ["morning", "afternoon", "evening"]
    assert entry["status"] == "waiting" and entry["patient_id"] is None
    assert (entry["patient_name"], entry["patient_email"], entry["patient_phone"]) == (
        "Jane Doe",
        "jane@example.com",
        "07700 900123",
    )
    collected = done["state"]["collected"]["waitlist"]
    assert collected["earliest_date"] == day.isoformat() == collected["latest_date"]


async def test_a_logged_in_patient_is_waitlisted_with_the_details_of_their_account(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    await _types(chat_clinic)
    day = _a_day_ahead()
    await _fully_booked(chat_clinic, day)
    chat = Chat(chat_http, chat_clinic.patient_headers)
    await _nothing_free_on(chat, day)

    done = await chat.say("yeah go ahead")
    assert done["state"]["stage"] == "waitlisted", done["messages"]
    assert f"e-mail you at {CHAT_PATIENT_EMAIL}" in _said(done)
    (entry,) = await _entries(chat_clinic)
    assert entry["patient_id"] == chat_clinic.patient["id"]
    assert entry["patient_email"] == CHAT_PATIENT_EMAIL
    assert entry["patient_name"] == "Alice Patient"


@pytest.mark.parametrize("no", ["nah I'm fine", "no thanks", "No"])
async def test_saying_no_registers_nothing_and_the_offered_times_stay(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic, no: str
) -> None:
    await _types(chat_clinic)
    day = _a_day_ahead()
    await _fully_booked(chat_clinic, day)
    chat = Chat(chat_http)
    offer = await _nothing_free_on(chat, day)

    declined = await chat.say(no)
    assert declined["state"]["stage"] == "slot"
    assert "No problem" in _said(declined)
    assert declined["state"]["collected"]["offered"] == offer["state"]["collected"]["offered"]
    assert await _entries(chat_clinic) == []

    picked = await chat.say("the first one")  # and the booking carries on as ever
    assert picked["state"]["stage"] == "details"
    assert await _entries(chat_clinic) == []


async def test_turning_the_times_down_offers_the_waitlist_for_the_next_four_weeks(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    await _types(chat_clinic)
    chat = Chat(chat_http)
    await chat.start()
    await chat.say("I need a check up")
    await chat.say("anyone, mornings")
    others = await chat.say("none of those work for me")
    assert "shall I?" in _said(others), others["messages"]

    asked = await chat.say("sure, do that")
    assert asked["state"]["stage"] == "details"
    done = await chat.say(DETAILS)
    assert done["state"]["stage"] == "waitlisted", done["messages"]
    assert "any dentist" in _said(done) and "mornings only" in _said(done)

    (entry,) = await _entries(chat_clinic)
    today = datetime.now(UTC).date()
    assert entry["dentist_id"] is None
    assert (entry["earliest_date"], entry["latest_date"]) == (today, today + timedelta(days=28))
    assert list(entry["times"]) == ["morning"]


async def test_a_direct_ask_for_the_cancellation_list_with_a_dentist_and_a_week(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    types = await _types(chat_clinic)
    chat = Chat(chat_http)
    await chat.start()
    asked = await chat.say("put me on the cancellation list for a cleaning with Dr Smith next week")
    assert asked["state"]["stage"] == "details", asked["messages"]
    assert asked["state"]["collected"]["mode"] == "book"  # not a cancellation
    done = await chat.say(DETAILS)
    assert done["state"]["stage"] == "waitlisted", done["messages"]

    (entry,) = await _entries(chat_clinic)
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    assert entry["treatment_type_id"] == types["Hygienist clean"]
    assert entry["dentist_id"] == _smith(chat_clinic)["id"]
    assert (entry["earliest_date"], entry["latest_date"]) == (monday, monday + timedelta(days=6))
    said = _said(done)
    assert "Dr Sarah Smith" in said and "scale & polish" in said


async def test_an_emergency_gets_emergency_advice_and_is_never_waitlisted(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    chat = Chat(chat_http)
    await chat.start()
    first = await chat.say(
        "my face is swelling up and I'm finding it hard to breathe, can you put me on the "
        "waiting list?"
    )
    assert first["state"]["stage"] == "emergency"
    assert "emergency" in _said(first) and "999" in _said(first)
    again = await chat.say("yes please just add me to the waitlist")
    assert again["state"]["stage"] == "emergency"
    assert "emergency" in _said(again)
    assert await _entries(chat_clinic) == []
