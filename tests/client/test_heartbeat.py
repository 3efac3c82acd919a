"""The heartbeat keeps a quiet socket alive past the server's idle timeout.

The server measures silence on a manual clock: the test moves it past the idle timeout
(after each heartbeat has been answered) instead of waiting for the timeout to pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import asyncpg
import pytest
from tests.client.conftest import ClientFactory
from tests.fixtures.rows import make_user
from tests.fixtures.servers import RestartableServer
from tests.fixtures.tokens import user_token
from tests.fixtures.waiting import wait_for

from dentalcare.client import RealtimeSyncClient
from dentalcare.clock import ManualClock

IDLE_TIMEOUT = 0.75
STEP = 0.5  # moves of the server's clock: two make a silence longer than the idle timeout
MAX_STEPS = 40


@pytest.fixture
def impatient_server(database_url: str, clock: ManualClock) -> Iterator[RestartableServer]:
    """A server that closes sockets silent for 0.75 s of its clock and never pings them."""
    server = RestartableServer(
        database_url, clock=clock, ws_idle_timeout_seconds=IDLE_TIMEOUT, ws_ping_seconds=3600
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def two_more_pongs(client: RealtimeSyncClient) -> None:
    """Until two more pongs arrived (the heartbeat waits for each pong before its next
    ping, so the second one's ping reached the server after this call began)."""
    wanted = client.pongs_received + 2
    await wait_for(lambda: client.pongs_received >= wanted)


async def step_until(
    done: Callable[[], bool], clock: ManualClock, beating: RealtimeSyncClient | None = None
) -> int:
    """Move the clock by STEP until `done()`, each step after two more pongs for `beating`
    (if given): its last ping reached the server after the previous step. The steps taken."""
    steps = 0
    while not done():
        assert steps < MAX_STEPS, "not done after the clock moved far past the idle timeout"
        if beating is not None:
            await two_more_pongs(beating)
        clock.advance(STEP)
        steps += 1
        # The keepalive visits every socket within half an idle timeout of real time.
        await asyncio.sleep(0.05)
    return steps


async def test_heartbeat_keeps_the_socket_open_and_silence_gets_it_closed(
    impatient_server: RestartableServer,
    owner_conn: asyncpg.Connection,
    open_client: ClientFactory,
    clock: ManualClock,
) -> None:
    assert impatient_server.running is not None
    settings = impatient_server.running.app.state.settings
    patient = await make_user(owner_conn)
    token = user_token(settings, patient, now=clock.now())
    beating = await open_client(impatient_server.base_url, token)
    silent_closes: list[int | None] = []
    silent = await open_client(impatient_server.base_url, on_disconnect=silent_closes.append)
    await beating.subscribe_to_appointments(patient["id"], "patient")
    await silent.subscribe_to_dentists()
    beating.start_heartbeat(0.1)

    # Long enough for the silent one to be dropped twice by the idle timeout.
    steps = await step_until(lambda: len(silent_closes) >= 2, clock, beating)
    assert silent_closes[:2] == [1000, 1000]  # "idle timeout"; it reconnected in between
    assert steps * STEP >= 2 * IDLE_TIMEOUT
    assert beating.pongs_received >= 2 * steps  # answered through every step
    assert beating.connection_count == 1 and beating.connected

    beating.stop_heartbeat()
    await step_until(lambda: beating.connection_count == 2, clock)
    await wait_for(lambda: beating.connected)
    assert beating.get_active_subscriptions_count() == 1
    await asyncio.wait_for(beating.ping(), 5)
