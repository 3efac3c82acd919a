"""Hostile chat messages over real HTTP: understood (not given up on) with the rest of the
service answering meanwhile; a turn over its thinking budget answers politely;
transcripts are bounded in bytes.

Issue 11's measurement: one 2,000-character message (`"mon " * 500`) cost about a second
of CPU on the event loop, and every other request and the realtime hub stalled meanwhile.
The first test runs the service as its own process (`dentalcare serve`, as in
production). How fast the messages are answered and `/api/health` p99 meanwhile are
timing targets: `bench/hostile_input.py` measures them (helpers in tests/chatbot/hostile.py).
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
import pytest

from dentalcare.chatbot import service
from dentalcare.chatbot.bounded import BoundedUnderstanding
from dentalcare.chatbot.replies import SAY_IT_SIMPLER
from dentalcare.chatbot.understanding import Context, Parse
from tests.chatbot.hostile import (
    HOSTILE,
    IN_FLIGHT,
    MESSAGES_PER_SESSION,
    conversations,
    health_during,
    new_session,
    timed_say,
)
from tests.faults.support import running_services
from tests.fixtures.clinic import ChatClinic
from tests.fixtures.servers import RunningServer


def _replies(turns: list[tuple[float, Any]]) -> list[list[str]]:
    return [[m["text"] for m in body["messages"]] for _, body in turns]


async def test_long_messages_are_understood_while_health_is_answered(
    database_url: str, chat_clinic: ChatClinic
) -> None:
    """Four 2,000-character messages in flight at every moment: each understood (not given
    up on), answered as the same conversation is answered alone, and /api/health answered
    (200) throughout."""
    async with (
        running_services(database_url, 1) as [service],
        httpx.AsyncClient(base_url=service.base_url, timeout=30) as http,
    ):
        [alone] = await conversations(http, HOSTILE, in_flight=1)
        turns, health = await health_during(conversations(http, HOSTILE), service.base_url)
    expected = _replies(alone)
    assert len(expected) == MESSAGES_PER_SESSION
    assert all(SAY_IT_SIMPLER not in reply for reply in expected), "understood, not given up on"
    assert len(turns) == IN_FLIGHT
    for conversation in turns:
        assert _replies(conversation) == expected, "the same answers as without the others"
        assert all(body["appointment"] is None for _, body in conversation)
    assert health, "health requests were answered (each a 200) while the turns ran"


class _Stuck:
    """An understanding that thinks until the test lets it go (in the server's worker
    thread, holding no lock and not the GIL)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.thinking = threading.Event()  # set while inside parse_now
        self.finished = threading.Event()

    def parse_now(self, text: str, context: Context) -> Parse:
        self.thinking.set()
        self.release.wait(30)
        self.finished.set()
        return Parse(text=text)


async def test_a_turn_over_its_thinking_budget_asks_to_say_it_more_simply(
    chat_http: httpx.AsyncClient,
    chat_clinic: ChatClinic,
    chat_server: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever makes the understanding slow, the turn gives up on it once its budget is
    spent and answers (the server is in-process: its understanding is swapped for one
    that does not finish until the test lets it go)."""
    budget = chat_server.app.state.settings.chat_understanding_seconds
    stuck, budgets = _Stuck(), []

    def bounded(budget_seconds: float) -> BoundedUnderstanding:
        budgets.append(budget_seconds)
        return BoundedUnderstanding(stuck, budget_seconds=budget_seconds)

    monkeypatch.setattr(service, "_understanding", bounded)
    session = await new_session(chat_http)
    try:
        # No upper bound on the time is needed to catch a hang: the stuck understanding
        # lets go by itself after 30 s, and a turn that waited for it would answer with
        # its parse, not SAY_IT_SIMPLER (nor with `finished` still unset).
        took, body = await timed_say(chat_http, session, HOSTILE)
        assert stuck.thinking.is_set() and not stuck.finished.is_set(), (
            "the turn answered while the understanding was still thinking"
        )
    finally:
        stuck.release.set()
    assert set(budgets) == {budget}, "the configured budget"
    # A lower bound cannot fail on a slow machine: the budget was waited out, not cut short.
    assert took >= budget
    assert [m["text"] for m in body["messages"]] == [SAY_IT_SIMPLER]
    assert body["state"]["stage"] == "complaint", "nothing was taken from the message"
    assert body["appointment"] is None
    stored = await chat_clinic.conn.fetchval(
        "SELECT messages FROM chat_sessions WHERE id = $1", uuid.UUID(session)
    )
    assert [(m["role"], m["text"]) for m in stored][-2:] == [
        ("user", HOSTILE.strip()),
        ("assistant", SAY_IT_SIMPLER),
    ]


async def test_the_transcript_is_capped_in_bytes_oldest_first(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_TRANSCRIPT_BYTES", 8 * 1024)  # the server is in-process
    session = await new_session(chat_http)
    sent = [f"message {i}: " + "lorem ipsum " * 149 + "end" for i in range(12)]  # ~1.8 KB
    for text in sent:
        await timed_say(chat_http, session, text)
    stored = await chat_clinic.conn.fetchval(
        "SELECT messages FROM chat_sessions WHERE id = $1", uuid.UUID(session)
    )
    assert len(json.dumps(stored, ensure_ascii=False).encode()) <= 8 * 1024
    said = [m["text"] for m in stored if m["role"] == "user"]
    assert said == sent[-len(said) :], "the newest messages are kept, the oldest dropped"
    assert 2 <= len(said) < len(sent)
    assert stored[-1]["role"] == "assistant"
