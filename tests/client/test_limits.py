"""The SDK and the server's limits: a resubscription refused for now (RateLimited) is sent
again after `retry_after`, one channel at a time, and resumes with nothing missed; a socket
refused for its address (4029) fails `connect()` with RateLimited; after a 4029 the client
waits longer before reconnecting."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest
from tests.client.conftest import ClientFactory, book, flush
from tests.fixtures.rows import make_dentist
from tests.fixtures.servers import RestartableServer
from tests.fixtures.waiting import wait_for

from dentalcare.client import Backoff, RealtimeError, RealtimeEvent


async def test_resubscriptions_past_the_replay_budget_are_retried_and_miss_nothing(
    database_url: str, owner_conn: asyncpg.Connection, open_client: ClientFactory
) -> None:
    # One replay at once, then one every half second: a client following three channels
    # has two of its three resubscriptions refused at first.
    server = RestartableServer(database_url, ws_replay_burst=1, ws_replays_per_second=2)
    server.start()
    try:
        dentists = [await make_dentist(owner_conn) for _ in range(3)]
        seen: dict[str, list[RealtimeEvent]] = {str(d["id"]): [] for d in dentists}
        resets: list[str] = []
        client = await open_client(server.base_url, on_reset=resets.append)
        for dentist in dentists:
            await client.subscribe_to_availability(
                dentist["id"], on_changed=seen[str(dentist["id"])].append
            )
        for dentist in dentists:
            await book(owner_conn, dentist)
        await wait_for(lambda: all(len(events) == 1 for events in seen.values()))

        await asyncio.to_thread(server.stop)
        missed = [await book(owner_conn, dentist) for dentist in dentists]
        assert len(missed) == 3
        running = await asyncio.to_thread(server.start)
        await wait_for(lambda: all(len(events) == 2 for events in seen.values()), within=15)
        after = [await book(owner_conn, dentist) for dentist in dentists]
        assert len(after) == 3
        await flush(running, owner_conn, client)

        assert all([e.op for e in events] == ["TAKEN"] * 3 for events in seen.values())
        for events in seen.values():
            seqs = [e.seq for e in events]
            assert seqs == sorted(set(seqs))
        assert resets == []
        assert client.get_active_subscriptions_count() == 3
        limits = running.app.state.realtime.stats()["limits"]
        assert limits["messages_refused"] >= 2  # the refusals did happen
    finally:
        server.stop()


async def test_a_socket_refused_for_its_address_fails_connect_with_rate_limited(
    database_url: str, open_client: ClientFactory
) -> None:
    server = RestartableServer(database_url, ws_max_sockets_per_address=1)
    server.start()
    try:
        first = await open_client(server.base_url)
        await first.subscribe_to_dentists()
        second = await open_client(server.base_url, connect=False)
        await second.subscribe_to_dentists()  # subscribed on connecting
        with pytest.raises(RealtimeError) as refused:
            await second.connect()
        assert refused.value.error == "RateLimited"
        assert refused.value.code == 4029
        assert first.connected
    finally:
        server.stop()


async def test_after_a_4029_the_client_waits_longer_before_reconnecting(
    database_url: str, open_client: ClientFactory
) -> None:
    server = RestartableServer(database_url)
    running = server.start()
    try:
        backoff = Backoff(initial=0.2, maximum=10)
        closed_at: list[float] = []
        client = await open_client(
            server.base_url,
            backoff=backoff,
            on_disconnect=lambda code: closed_at.append(time.monotonic()),
        )
        await client.subscribe_to_dentists()
        hub = running.app.state.realtime.hub

        async def gap_after(code: int) -> float:
            count = client.connection_count
            for connection in list(hub.connections):
                connection.close(code, "closed by the test")
            await wait_for(lambda: client.connection_count > count and client.connected)
            return time.monotonic() - closed_at[-1]

        after_4008 = await gap_after(4008)  # attempt 0: 0.1-0.2 s
        after_4029 = await gap_after(4029)  # attempt 3 at least: 0.8-1.6 s
        assert after_4008 < 0.8 <= after_4029, (after_4008, after_4029)
        assert client.last_close_code == 4029
    finally:
        server.stop()
