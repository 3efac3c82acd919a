"""SDK test helpers: tokens, connected clients, a server that restarts on its own port,
bookings, and waits that poll a condition with a timeout instead of sleeping."""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date, timedelta
from datetime import time as clock
from typing import Any
from uuid import UUID

import asyncpg
import jwt
import pytest
import uvicorn
from tests.conftest import RunningServer, make_settings
from tests.factories import make_appointment

from dentalcare.app import create_app
from dentalcare.auth.tokens import ALGORITHM, issue_token
from dentalcare.client import Backoff, RealtimeSyncClient
from dentalcare.config import Settings

TIMEOUT = 10.0
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


async def wait_for(condition: Callable[[], Any], within: float = TIMEOUT) -> Any:
    """Poll `condition` (sync or async) until it is truthy; TimeoutError after `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


def token(settings: Settings, user: asyncpg.Record) -> str:
    """An access token for `user`."""
    return issue_token(settings, user_id=user["id"], role=user["role"], token_version=0)


def short_token(settings: Settings, user: asyncpg.Record, *, seconds: float) -> tuple[str, int]:
    """A token for `user` that expires in at least `seconds` (and at most one more), and
    its expiry (whole seconds, as in the token)."""
    now = time.time()
    expires = math.ceil(now + seconds)
    claims = {
        "sub": str(user["id"]),
        "role": user["role"],
        "ver": 0,
        "iat": int(now),
        "exp": expires,
        "typ": "access",
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM), expires


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
    latest: int = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM realtime_events")
    listener = server.app.state.realtime.listener
    await wait_for(lambda: (listener.last_seq or 0) >= latest)
    for client in clients:
        await client.ping()


class RestartableServer:
    """A real server that can be stopped and started again on the same port."""

    def __init__(self, database_url: str, **overrides: Any) -> None:
        self.database_url = database_url
        self.overrides = overrides
        self.port = 0
        self.running: RunningServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RunningServer:
        """Serve a fresh application (a new process-level hub and listener)."""
        settings = make_settings(self.database_url, **self.overrides)
        app = create_app(settings, database_url=self.database_url)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws_ping_interval=None,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="uvicorn-sdk", daemon=True)
        thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server failed to start")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self.running = RunningServer(app=app, server=server, thread=thread, port=self.port)
        return self.running

    def stop(self) -> None:
        """Shut down gracefully (sockets are closed with 1001)."""
        if self.running is not None:
            self.running.stop()
            self.running = None


@pytest.fixture
def restartable_server(database_url: str) -> Iterator[RestartableServer]:
    """A dedicated server for tests that stop and restart it."""
    server = RestartableServer(database_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ids(records: list[dict[str, Any]]) -> list[UUID]:
    """The ids of rendered records."""
    return [UUID(record["id"]) for record in records]
