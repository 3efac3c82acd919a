"""Chatbot test fixtures: dateparser warmed up once, the chat server, its clinic."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from dentalcare.chatbot.when import warm_up
from tests.fixtures.clinic import ChatClinic, seed_chat_clinic
from tests.fixtures.servers import RunningServer


@pytest.fixture(scope="session", autouse=True)
def _dateparser_loaded() -> None:
    """Load dateparser's data once, as the service does at session start."""
    warm_up()


@pytest.fixture(scope="session")
def chat_server(live_server: RunningServer) -> RunningServer:
    """The live test server (it serves the chat API)."""
    return live_server


@pytest.fixture
def chat_http(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """An HTTP client on the chat server (the live server's `client`), with a clean database."""
    return client


@pytest.fixture
async def chat_clinic(chat_server: RunningServer, owner_conn: asyncpg.Connection) -> ChatClinic:
    """The demo dentists and a patient, in the clean database."""
    return await seed_chat_clinic(owner_conn, chat_server.app.state.settings)
