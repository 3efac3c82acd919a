"""Test fixtures: one real PostgreSQL per run, migrated with Alembic; a real HTTP server.

The database is the embedded server (a throw-away data directory) unless
TEST_DATABASE_URL names one; each run creates a fresh database in it. Tests that touch
the database get a clean one: every table is truncated before the test.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from dentalcare.app import create_app
from dentalcare.auth import passwords
from dentalcare.config import Settings
from dentalcare.db import migrate
from dentalcare.db.embedded import start_embedded
from dentalcare.db.pool import connect

TEST_DB_NAME = f"dentalcare_test_{os.getpid()}"
TABLES = (
    "appointments, availability_exceptions, dentist_availability, dentists, users, realtime_events"
)

# Hashing at production cost would make every login in the suite take ~50 ms.
passwords.configure(time_cost=1, memory_kib=1024)


def with_database(url: str, name: str) -> str:
    """`url` with its database name replaced by `name`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A freshly migrated database; the URL connects as its owner."""
    embedded = None
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        tmp = Path(tempfile.mkdtemp(prefix="dentalcare-test-"))
        embedded = start_embedded(tmp / "pgdata", delete_on_stop=True)
        server_url = embedded.url

    async def recreate() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB_NAME}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{TEST_DB_NAME}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    url = with_database(server_url, TEST_DB_NAME)
    migrate.upgrade(url)
    try:
        yield url
    finally:

        async def drop() -> None:
            conn = await asyncpg.connect(server_url)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DB_NAME}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(drop())
        if embedded is not None:
            embedded.stop()


@pytest.fixture
async def owner_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the database owner (bypasses RLS): for set-up and for checking."""
    conn = await connect(database_url, app_role=None)
    await conn.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    try:
        yield conn
    finally:
        await conn.close()


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test server."""
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "min_notice_minutes": 0,
        "rate_limits_enabled": False,
        # Tests write straight into the database too (factories): the safety poll is what
        # wakes the listener for writes that do not come through the service.
        "realtime_poll_seconds": 0.05,
        "data_dir": Path(tempfile.gettempdir()) / "dentalcare-test-data",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class RunningServer:
    """A uvicorn server in a background thread, serving a real port."""

    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_server(app: FastAPI) -> RunningServer:
    """Serve `app` on a free loopback port from a background thread."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server failed to start")
        threading.Event().wait(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(app=app, server=server, thread=thread, port=port)


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[RunningServer]:
    """The application served over real HTTP for the whole run."""
    running = start_server(create_app(make_settings(database_url), database_url=database_url))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(
    live_server: RunningServer, owner_conn: asyncpg.Connection
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the live server, with a clean database."""
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        yield http
