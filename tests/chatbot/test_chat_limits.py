"""The booking assistant's rate limits, over real HTTP, with the production defaults: a
flood of messages on one conversation, a flood across conversations from one address and
a flood of new conversations get 429 with Retry-After; other addresses and other
conversations go on; a patient's whole conversation at full speed is never limited.

Connections leave from different loopback addresses (127.0.0.x) so the per-address
limits can be told apart; the server runs on a manual clock, so no window runs out while
a test floods and the test steps past one without sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from dentalcare.clock import ManualClock
from dentalcare.config import Settings
from tests.fixtures.clinic import seed_chat_clinic
from tests.fixtures.servers import RunningServer, serve


def _default(name: str) -> int:
    value = Settings.model_fields[name].default  # not the environment's
    assert isinstance(value, int)
    return value


PER_SESSION = _default("chat_messages_per_minute")
PER_ADDRESS = _default("chat_address_messages_per_minute")
SESSIONS_PER_HOUR = _default("chat_sessions_per_hour")
DETAILS = "Jane Doe, jane@example.com, 07700 900123"


@pytest.fixture
def limited_server(
    database_url: str, clock: ManualClock, owner_conn: asyncpg.Connection
) -> Iterator[RunningServer]:
    """A server of its own with the rate limits on, at their defaults."""
    with serve(database_url, clock=clock, rate_limits_enabled=True) as running:
        yield running


@pytest.fixture
async def clinic(limited_server: RunningServer, owner_conn: asyncpg.Connection) -> None:
    """The chat clinic's dentists in the clean database."""
    await seed_chat_clinic(owner_conn, limited_server.app.state.settings)


@asynccontextmanager
async def client_from(server: RunningServer, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections leave from `address` (any of 127.0.0.0/8)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=30) as http:
        yield http


async def _start(http: httpx.AsyncClient) -> httpx.Response:
    return await http.post("/api/chat/sessions")


async def _session(http: httpx.AsyncClient) -> str:
    response = await _start(http)
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


async def _send(http: httpx.AsyncClient, session: str, text: str = "hello") -> httpx.Response:
    return await http.post(f"/api/chat/sessions/{session}/messages", json={"text": text})


async def _say(http: httpx.AsyncClient, session: str, text: str) -> dict[str, Any]:
    response = await _send(http, session, text)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _assert_limited(response: httpx.Response, *, window: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "RateLimited"
    assert 1 <= int(response.headers["Retry-After"]) <= window


async def _transcript_length(http: httpx.AsyncClient, session: str) -> int:
    response = await http.get(f"/api/chat/sessions/{session}")
    assert response.status_code == 200, response.text
    return len(response.json()["messages"])


async def test_a_patients_conversation_at_full_speed_is_never_limited(
    limited_server: RunningServer, clinic: None
) -> None:
    """A booking from greeting to confirmation, then more questions, 25 messages sent as
    fast as the client can; and the rest of the household chatting from the same address."""
    async with client_from(limited_server, "127.0.0.61") as http:
        session = await _session(http)
        await _say(http, session, "I need a check-up")
        offered = await _say(http, session, "tomorrow morning please")
        slot = next(
            q["value"]
            for m in offered["messages"]
            for q in m["quick_replies"]
            if q["value"] != "other times"
        )
        await _say(http, session, slot)
        await _say(http, session, DETAILS)
        booked = await _say(http, session, "yes")
        assert booked["appointment"] is not None
        for text in ("thanks", "what are your opening hours?", "who are your dentists?"):
            await _say(http, session, text)
        sent = 8
        while sent < 25:
            await _say(http, session, "help")
            sent += 1
        for _ in range(4):
            other = await _session(http)
            for text in ("hello", "I'd like a cleaning", "next week", "help", "thanks"):
                await _say(http, other, text)


async def test_a_flood_on_one_conversation_gets_429_and_everyone_else_goes_on(
    limited_server: RunningServer, clinic: None, clock: ManualClock
) -> None:
    async with client_from(limited_server, "127.0.0.62") as http:
        flooded = await _session(http)
        codes = [(await _send(http, flooded)).status_code for _ in range(PER_SESSION)]
        assert codes == [200] * PER_SESSION
        before = await _transcript_length(http, flooded)
        refused = await _send(http, flooded)
        _assert_limited(refused, window=60)
        assert await _transcript_length(http, flooded) == before, "refused before any work"
        other_conversation = await _session(http)
        assert (await _send(http, other_conversation)).status_code == 200
    async with client_from(limited_server, "127.0.0.63") as elsewhere:
        assert (await _send(elsewhere, await _session(elsewhere))).status_code == 200
    clock.advance(61)
    async with client_from(limited_server, "127.0.0.62") as http:
        assert (await _send(http, flooded)).status_code == 200, "the window has passed"


async def test_a_flood_across_conversations_from_one_address_gets_429(
    limited_server: RunningServer, clinic: None
) -> None:
    sessions = 5
    per_session = PER_ADDRESS // sessions
    assert per_session < PER_SESSION, "each conversation stays under its own limit"
    async with client_from(limited_server, "127.0.0.64") as http:
        opened = [await _session(http) for _ in range(sessions)]
        for session in opened:
            for _ in range(per_session):
                assert (await _send(http, session)).status_code == 200
        _assert_limited(await _send(http, opened[0]), window=60)
        _assert_limited(await _send(http, await _session(http)), window=60)
    async with client_from(limited_server, "127.0.0.65") as elsewhere:
        assert (await _send(elsewhere, await _session(elsewhere))).status_code == 200


async def test_a_flood_of_new_conversations_gets_429(
    limited_server: RunningServer, clinic: None
) -> None:
    async with client_from(limited_server, "127.0.0.66") as http:
        codes = [(await _start(http)).status_code for _ in range(SESSIONS_PER_HOUR)]
        assert codes == [201] * SESSIONS_PER_HOUR
        _assert_limited(await _start(http), window=3600)
    async with client_from(limited_server, "127.0.0.67") as elsewhere:
        assert (await _start(elsewhere)).status_code == 201


async def test_no_chat_limits_when_rate_limits_are_off(
    chat_http: httpx.AsyncClient, chat_server: RunningServer
) -> None:
    """The shared test server runs with RATE_LIMITS_ENABLED=false, as benchmarks do."""
    assert chat_server.app.state.settings.rate_limits_enabled is False
    session = await _session(chat_http)
    codes = [(await _send(chat_http, session)).status_code for _ in range(PER_SESSION + 5)]
    assert codes == [200] * (PER_SESSION + 5)
