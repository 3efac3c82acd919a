"""Fixtures every suite shares: one real PostgreSQL per run, migrated with Alembic; a real
HTTP server; the API suites' clinic. What they are built from is in `tests.fixtures`.

The database is the embedded server (a throw-away data directory) unless
TEST_DATABASE_URL names one; each run creates a fresh database in it. Tests that touch
the database get a clean one: every table is truncated before the test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from dentalcare.auth import passwords
from dentalcare.clock import ManualClock
from dentalcare.db.embedded import start_embedded
from dentalcare.db.pool import connect
from tests.fixtures.clinic import Clinic, build_clinic
from tests.fixtures.database import create_database, drop_database, empty_tables
from tests.fixtures.servers import RunningServer, make_app, start_server

TEST_DB_NAME = f"dentalcare_test_{os.getpid()}"

# Hashing at production cost would make every login in the suite take ~50 ms.
passwords.configure(time_cost=1, memory_kib=1024)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A freshly migrated database; the URL connects as its owner."""
    embedded = None
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        tmp = Path(tempfile.mkdtemp(prefix="dentalcare-test-"))
        embedded = start_embedded(tmp / "pgdata", delete_on_stop=True)
        server_url = embedded.url
    url = create_database(server_url, TEST_DB_NAME)
    try:
        yield url
    finally:
        drop_database(server_url, TEST_DB_NAME)
        if embedded is not None:
            embedded.stop()


@pytest.fixture
async def owner_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the database owner (bypasses RLS): for set-up and for checking."""
    conn = await connect(database_url, app_role=None)
    try:
        await empty_tables(conn)
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[RunningServer]:
    """The application served over real HTTP for the whole run. It sends no mail: the
    delivery tests start servers of their own with an SMTP server, and a worker here
    would take their messages first."""
    running = start_server(make_app(database_url, outbox_workers=0))
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


@pytest.fixture
def clock() -> ManualClock:
    """A clock for a server of the test's own (`serve(..., clock=clock)`), standing still at
    the test's start (a whole second, as tokens carry) until the test moves it. Tokens for
    that server are issued on it: `user_token(settings, user, now=clock.now())`."""
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def clinic(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, live_server: RunningServer
) -> Clinic:
    """The API suites' clinic (api, security, fuzz): patients A and B, dentists X and Y, an
    admin, and one booking each (plus a guest's), with the rate limits' counts forgotten."""
    live_server.app.state.login_limiter.reset()
    live_server.app.state.booking_limiter.reset()
    live_server.app.state.hold_limiter.reset()
    return await build_clinic(client, owner_conn, live_server.app.state.settings)
