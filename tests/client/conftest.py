"""SDK test helpers: connected clients, a server that restarts on its own port, bookings
on fresh days, and waiting until clients have everything the server published."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date, timedelta
from datetime import time as clock
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from tests.fixtures.rows import make_appointment
from tests.fixtures.servers import RestartableServer, RunningServer, caught_up, serve
from tests.fixtures.waiting import TIMEOUT

from dentalcare.client import Backoff, RealtimeSyncClient
from dentalcare.clock import ManualClock
from dentalcare.config import Settings

FAST = Backoff(initial=0.05, maximum=0.4)
_days = itertools.count(1)


def next_day() -> date:
    """A fresh far-future day, so bookings never collide."""
    return date(2033, 1, 1) + timedelta(days=next(_days))


async def book(
    conn: asyncpg.Connection, dentist: asyncpg.Record, patient: asyncpg.Record | None = None
) -> asyncpg.Record:
    """An appointment on a fresh day, committed (as the owner, like the booking service)."""
    return await make_appointment(
        conn,
        dentist_id=dentist["id"],
        patient_id=patient["id"] if patient is not None else None,
        on=next_day(),
        at=clock(9),
    )


@pytest.fixture
def settings(live_server: RunningServer) -> Settings:
    """The settings of the live server (its secret signs our tokens)."""
    value: Settings = live_server.app.state.settings
    return value


ClientFactory = Callable[..., Awaitable[RealtimeSyncClient]]


@pytest.fixture
async def open_client() -> AsyncIterator[ClientFactory]:
    """`await open_client(base_url, token, **options)`: a connected client, closed after."""
    opened: list[RealtimeSyncClient] = []

    async def make(
        base_url: str, access_token: str | None = None, *, connect: bool = True, **options: Any
    ) -> RealtimeSyncClient:
        options.setdefault("backoff", FAST)
        options.setdefault("request_timeout", TIMEOUT)
        client = RealtimeSyncClient(base_url, access_token, **options)
        opened.append(client)
        if connect:
            await client.connect()
        return client

    yield make
    for client in opened:
        await client.close()


async def flush(
    server: RunningServer, conn: asyncpg.Connection, *clients: RealtimeSyncClient
) -> None:
    """Wait until the server has published every committed event and each client has
    received what it was sent: a ping's pong comes after every event written before it."""
    await caught_up(server, conn)
    for client in clients:
        await client.ping()


@pytest.fixture
def restartable_server(database_url: str) -> Iterator[RestartableServer]:
    """A dedicated server for tests that stop and restart it."""
    server = RestartableServer(database_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clocked_server(
    database_url: str, owner_conn: asyncpg.Connection, clock: ManualClock
) -> Iterator[RunningServer]:
    """A server of the test's own on its manual clock (started on the emptied database)."""
    with serve(database_url, clock=clock) as running:
        yield running


def ids(records: list[dict[str, Any]]) -> list[UUID]:
    """The ids of rendered records."""
    return [UUID(record["id"]) for record in records]
