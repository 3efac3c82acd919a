"""The listener survives the database going away; processes restart and multiply safely."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import time
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from websockets.exceptions import ConnectionClosed

from dentalcare.config import Settings
from tests.fixtures.database import with_database
from tests.fixtures.rows import make_dentist, make_window
from tests.fixtures.servers import RunningServer, serve
from tests.fixtures.waiting import wait_for
from tests.realtime.conftest import open_feed

_windows = itertools.count()


async def add_window(conn: asyncpg.Connection, dentist: asyncpg.Record) -> asyncpg.Record:
    """A schedule change: one new short window (an event on the availability channels)."""
    n = next(_windows)
    start = time(n // 60 % 24, n % 60)
    return await make_window(
        conn,
        dentist_id=dentist["id"],
        day_of_week=n // 1440 % 7,
        start=start,
        end=time(start.hour, start.minute, 30),
    )


async def health_is(base_url: str, expected: int) -> bool:
    """Whether GET /api/sync/health answers `expected`."""
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
            return (await http.get("/api/sync/health")).status_code == expected
    except httpx.TransportError:
        return False


@asynccontextmanager
async def database_refusing_connections(database_url: str) -> AsyncIterator[None]:
    """New connections to the test database fail until the block ends."""
    name = urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        try:
            yield
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    finally:
        await admin.close()


async def test_listener_reconnects_and_delivers_what_was_committed_meanwhile(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    with serve(database_url) as server:
        listener = server.app.state.realtime.listener
        assert await health_is(server.base_url, 200)
        async with open_feed(server) as feed:
            await feed.subscribe(f"availability:{dentist['id']}")
            before = await add_window(owner_conn, dentist)
            [event] = await feed.events(1)
            assert event["record"]["id"] == str(before["id"])

            async with database_refusing_connections(database_url):
                killed = await owner_conn.fetchval(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'dentalcare-listener' AND pid = $1",
                    listener.backend_pid,
                )
                assert killed
                await wait_for(lambda: health_is(server.base_url, 503))
                during = [await add_window(owner_conn, dentist) for _ in range(3)]
            await wait_for(lambda: health_is(server.base_url, 200))
            arrived = await feed.events(3)
            assert [e["record"]["id"] for e in arrived] == [str(w["id"]) for w in during]
            after = await add_window(owner_conn, dentist)
            [live] = await feed.events(1)
            assert live["record"]["id"] == str(after["id"])


async def test_restarting_the_service_mid_stream_loses_nothing(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    stop = asyncio.Event()

    async def keep_changing() -> None:
        while not stop.is_set():
            await add_window(owner_conn, dentist)
            await asyncio.sleep(0.005)

    received: list[dict[str, Any]] = []
    writer = asyncio.create_task(keep_changing())
    try:
        with serve(database_url) as first:
            async with open_feed(first) as feed:
                start = (await feed.subscribe("availability"))["head"]
                received += await feed.events(10)
                stopping = asyncio.create_task(asyncio.to_thread(first.stop))
                try:  # whatever was already on its way, then 1001
                    while True:
                        received.append(await feed.recv())
                except ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 1001
                await stopping
        # Changes go on being committed while no server runs.
        with serve(database_url) as second:
            async with open_feed(second) as feed:
                await feed.subscribe("availability", since=received[-1]["seq"])
                stop.set()
                await writer
                final = await add_window(owner_conn, dentist)
                received += await feed.events_until(lambda e: e["record"]["id"] == str(final["id"]))
    finally:
        stop.set()
        await writer
    logged = await owner_conn.fetch(
        "SELECT seq FROM realtime_events WHERE table_name = 'dentist_availability' AND seq > $1"
        " ORDER BY seq",
        start,
    )
    assert [e["seq"] for e in received] == [r["seq"] for r in logged]


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serve_process(
    database_url: str, settings: Settings, extra_env: Mapping[str, str] | None = None
) -> AsyncIterator[str]:
    """`dentalcare serve` as a separate OS process on the same database; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DENTALCARE_DATABASE_URL": database_url,
        "DENTALCARE_ENV": "test",
        "DENTALCARE_SECRET_KEY": settings.jwt_secret,
        "DENTALCARE_DATA_DIR": tempfile.mkdtemp(prefix="dentalcare-serve-"),
        "DENTALCARE_RATE_LIMITS_ENABLED": "false",
        "DENTALCARE_MIN_NOTICE_MINUTES": "0",
        **(extra_env or {}),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dentalcare.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_for(lambda: health_is(base_url, 200), within=60)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(15):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_a_change_through_either_process_reaches_subscribers_of_both(
    database_url: str,
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    dentist = await make_dentist(owner_conn)
    login = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", dentist["user_id"])
    headers = {"Authorization": f"Bearer {token_for(login)}"}
    channel = f"availability:{dentist['id']}"
    async with (
        serve_process(database_url, settings) as other_url,
        open_feed(live_server) as here,
        open_feed(other_url) as there,
    ):
        await here.subscribe(channel)
        await there.subscribe(channel)
        created = []
        for base_url, day in ((live_server.base_url, 1), (other_url, 2)):
            async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
                response = await http.post(
                    f"/api/availability/{dentist['id']}/exceptions",
                    json={"date": f"2031-07-0{day}", "is_available": False},
                    headers=headers,
                )
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])
        for feed in (here, there):
            events = await feed.events(2)
            assert [e["record"]["id"] for e in events] == created
            assert {e["table"] for e in events} == {"availability_exceptions"}
