"""Chatbot test fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from dentalcare.chatbot.when import warm_up
from tests.chatbot.support import ChatClinic, seed_clinic
from tests.conftest import RunningServer


@pytest.fixture(scope="session", autouse=True)
def _dateparser_loaded() -> None:
    """Load dateparser's data once, as the service does at session start."""
    warm_up()


@pytest.fixture(scope="session")
def chat_server(live_server: RunningServer) -> RunningServer:
    """The live test server (it serves the chat API)."""
    return live_server


@pytest.fixture
async def chat_http(
    chat_server: RunningServer, owner_conn: asyncpg.Connection
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a server with the chat API, with a clean database."""
    async with httpx.AsyncClient(base_url=chat_server.base_url, timeout=30) as http:
        yield http


@pytest.fixture
async def chat_clinic(chat_server: RunningServer, owner_conn: asyncpg.Connection) -> ChatClinic:
    """The demo dentists and a patient, in the clean database."""
    return await seed_clinic(owner_conn, chat_server.app.state.settings)
