"""The heartbeat keeps a quiet socket alive past the server's idle timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from tests.client.conftest import ClientFactory
from tests.fixtures.rows import make_user
from tests.fixtures.servers import RestartableServer
from tests.fixtures.tokens import user_token
from tests.fixtures.waiting import wait_for

IDLE_TIMEOUT = 0.75


@pytest.fixture
def impatient_server(database_url: str) -> Iterator[RestartableServer]:
    """A server that closes sockets silent for 0.75 s and never pings them itself."""
    server = RestartableServer(
        database_url, ws_idle_timeout_seconds=IDLE_TIMEOUT, ws_ping_seconds=3600
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_heartbeat_keeps_the_socket_open_and_silence_gets_it_closed(
    impatient_server: RestartableServer,
    owner_conn: asyncpg.Connection,
    open_client: ClientFactory,
) -> None:
    assert impatient_server.running is not None
    settings = impatient_server.running.app.state.settings
    patient = await make_user(owner_conn)
    beating = await open_client(impatient_server.base_url, user_token(settings, patient))
    silent_closes: list[int | None] = []
    silent = await open_client(impatient_server.base_url, on_disconnect=silent_closes.append)
    await beating.subscribe_to_appointments(patient["id"], "patient")
    await silent.subscribe_to_dentists()
    beating.start_heartbeat(0.1)

    # Long enough for the silent one to be dropped twice by the idle timeout.
    await wait_for(lambda: len(silent_closes) >= 2)
    assert silent_closes[:2] == [1000, 1000]  # "idle timeout"; it reconnected in between
    assert beating.pongs_received >= 10  # ≈ 2 × 0.75 s of heartbeats
    assert beating.connection_count == 1 and beating.connected

    beating.stop_heartbeat()
    await wait_for(lambda: beating.connection_count == 2, within=5)
    await wait_for(lambda: beating.connected)
    assert beating.get_active_subscriptions_count() == 1
    await asyncio.wait_for(beating.ping(), 5)
