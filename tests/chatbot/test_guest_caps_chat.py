"""The chatbot books guests through the same service as the web form: its guest bookings
count against the same caps, and a guest at the cap is told so in the conversation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.clinic import ChatClinic
from tests.fixtures.servers import RunningServer, serve

DETAILS = "Jane Doe, jane@example.com, 07700 900123"


@pytest.fixture
def capped_chat(database_url: str) -> Iterator[RunningServer]:
    """A server with the abuse limits on and one upcoming booking per guest e-mail."""
    with serve(
        database_url,
        rate_limits_enabled=True,
        bookings_per_minute=1000,
        guest_active_bookings_per_email=1,
    ) as running:
        yield running


async def _book_by_chat(http: httpx.AsyncClient) -> dict[str, Any]:
    """A guest conversation to its last turn: complaint, no red flags, first offer,
    details, yes."""
    session = (await http.post("/api/chat/sessions")).json()["session_id"]

    async def say(text: str) -> dict[str, Any]:
        response = await http.post(f"/api/chat/sessions/{session}/messages", json={"text": text})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    screened = await say("I broke my front tooth and it hurts when I bite")
    assert screened["state"]["stage"] == "screen"  # the red-flag questions come first
    offer = await say("no")
    values = [q["value"] for m in offer["messages"] for q in m["quick_replies"]]
    await say([v for v in values if v != "other times"][0])
    await say(DETAILS)
    return await say("yes")


async def test_a_chat_booking_is_a_guest_booking_and_the_cap_is_explained(
    chat_clinic: ChatClinic, capped_chat: RunningServer
) -> None:
    async with httpx.AsyncClient(base_url=capped_chat.base_url, timeout=30) as http:
        first = await _book_by_chat(http)
        assert first["appointment"] is not None and first["state"]["stage"] == "booked"
        address = await chat_clinic.conn.fetchval(
            "SELECT address FROM guest_bookings WHERE appointment_id = $1",
            uuid.UUID(first["appointment"]["id"]),
        )
        assert address == "127.0.0.1"

        before = await chat_clinic.conn.fetchval("SELECT count(*) FROM appointments")
        second = await _book_by_chat(http)
        assert second["appointment"] is None and second["state"]["stage"] == "done"
        said = second["messages"][-1]["text"]
        assert "This e-mail address already has 1 upcoming bookings" in said
        assert await chat_clinic.conn.fetchval("SELECT count(*) FROM appointments") == before
