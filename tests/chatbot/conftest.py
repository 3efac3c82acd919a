"""Chatbot test fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from dentalcare.app import create_app
from dentalcare.chatbot.endpoints import router as chat_router
from dentalcare.chatbot.when import warm_up
from tests.chatbot.support import ChatClinic, seed_clinic
from tests.conftest import RunningServer, make_settings, start_server


@pytest.fixture(scope="session", autouse=True)
def _dateparser_loaded() -> None:
    """Load dateparser's data once, as the service does at session start."""
    warm_up()


@pytest.fixture(scope="session")
def chat_server(live_server: RunningServer, database_url: str) -> Iterator[RunningServer]:
    """The live server, or — until app.py includes the chat router — one that does."""
    paths = {getattr(route, "path", "") for route in live_server.app.routes}
    if "/api/chat/sessions" in paths:
        yield live_server
        return
    app = create_app(make_settings(database_url), database_url=database_url)
    app.include_router(chat_router)
    running = start_server(app)
    try:
        yield running
    finally:
        running.stop()


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
