"""Hostile chat messages over real HTTP, shared by their test (what is answered) and their
benchmark (how fast, `bench/hostile_input.py`).

Issue 11's measurement: one 2,000-character message (`"mon " * 500`) cost about a second
of CPU on the event loop, and every other request and the realtime hub stalled meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import httpx

HOSTILE = "mon " * 500  # 2,000 characters, the API's maximum
IN_FLIGHT = 4
MESSAGES_PER_SESSION = 10


async def new_session(http: httpx.AsyncClient) -> str:
    """A new guest conversation; its id."""
    response = await http.post("/api/chat/sessions")
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


async def timed_say(http: httpx.AsyncClient, session: str, text: str) -> tuple[float, Any]:
    """Send one message; the seconds until the answer, and the answer."""
    began = time.perf_counter()
    response = await http.post(f"/api/chat/sessions/{session}/messages", json={"text": text})
    took = time.perf_counter() - began
    assert response.status_code == 200, response.text
    return took, response.json()


async def conversations(
    http: httpx.AsyncClient, text: str, *, in_flight: int = IN_FLIGHT
) -> list[list[tuple[float, Any]]]:
    """`in_flight` conversations at once, each saying `text` MESSAGES_PER_SESSION times."""
    sessions = [await new_session(http) for _ in range(in_flight)]

    async def conversation(session: str) -> list[tuple[float, Any]]:
        return [await timed_say(http, session, text) for _ in range(MESSAGES_PER_SESSION)]

    return list(await asyncio.gather(*(conversation(s) for s in sessions)))


async def health_during(work: Awaitable[Any], base_url: str) -> tuple[Any, list[float]]:
    """Run `work` while one client asks /api/health back to back (every answer a 200);
    the latencies in seconds."""
    latencies: list[float] = []
    done = asyncio.Event()

    async def poll(http: httpx.AsyncClient) -> None:
        while not done.is_set():
            began = time.perf_counter()
            response = await http.get("/api/health")
            latencies.append(time.perf_counter() - began)
            assert response.status_code == 200, response.text

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as health_http:
        await health_http.get("/api/health")  # the connection is open before the window
        poller = asyncio.create_task(poll(health_http))
        try:
            result = await work
        finally:
            done.set()
            await poller
    return result, latencies
