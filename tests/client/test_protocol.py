"""The client's side of the protocol against a scripted server: duplicates and stale
events are dropped, `reset` moves the position back to the head, server pings are
answered, and a resubscription carries `since`. Plus the pure parts (backoff, URLs)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from tests.client.conftest import FAST, ClientFactory
from tests.fixtures.waiting import wait_for
from websockets.asyncio.server import ServerConnection, serve

from dentalcare.client import Backoff, RealtimeEvent
from dentalcare.client.callbacks import fitted
from dentalcare.client.link import realtime_url

CHANNEL = "availability"
Script = Callable[[ServerConnection, int], Awaitable[None]]


def event(seq: int) -> dict[str, Any]:
    """A `slots` event at `seq`."""
    return {
        "type": "event",
        "channel": CHANNEL,
        "seq": seq,
        "table": "slots",
        "op": "TAKEN",
        "record": {"dentist_id": "d", "date": "2033-01-01", "time": "09:00"},
        "old_record": None,
        "committed_at": "2033-01-01T09:00:00+00:00",
    }


class ScriptedServer:
    """Runs `script(ws, n)` for the n-th connection (0-based); records what clients sent."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[list[dict[str, Any]]] = []

    async def handler(self, ws: ServerConnection) -> None:
        self.received.append([])
        await self.script(ws, len(self.received) - 1)
        await ws.wait_closed()

    async def next_message(self, ws: ServerConnection, connection: int) -> dict[str, Any]:
        """The next client message on this connection (pongs included)."""
        async with asyncio.timeout(10):
            message: dict[str, Any] = orjson.loads(await ws.recv())
        self.received[connection].append(message)
        return message


@asynccontextmanager
async def scripted(
    script: Callable[[ScriptedServer], Script],
) -> AsyncIterator[tuple[str, ScriptedServer]]:
    """A scripted WebSocket server on a free loopback port; its base URL."""
    server = ScriptedServer(lambda ws, n: asyncio.sleep(0))
    server.script = script(server)
    async with serve(server.handler, "127.0.0.1", 0) as running:
        port = next(iter(running.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}", server


async def test_duplicates_and_stale_events_are_dropped_and_since_is_resent(
    open_client: ClientFactory,
) -> None:
    first_subscribe: list[dict[str, Any]] = []
    resubscribe: list[dict[str, Any]] = []

    def script(server: ScriptedServer) -> Script:
        async def run(ws: ServerConnection, n: int) -> None:
            request = await server.next_message(ws, n)
            (first_subscribe if n == 0 else resubscribe).append(request)
            reply = {"type": "subscribed", "ref": request["ref"], "channel": CHANNEL}
            if n == 0:
                await ws.send(orjson.dumps({**reply, "head": 5}).decode())
                for seq in (6, 6, 5, 7, 4, 9):
                    await ws.send(orjson.dumps(event(seq)).decode())
                await ws.send(orjson.dumps({"type": "ping"}).decode())
                assert (await server.next_message(ws, n)) == {"type": "pong"}
                await ws.close(1001, "restarting")
            else:
                await ws.send(orjson.dumps({**reply, "head": 12}).decode())
                for seq in (9, 10, 12, 13):  # 9 again: the server repeats itself
                    await ws.send(orjson.dumps(event(seq)).decode())

        return run

    seen: list[RealtimeEvent] = []
    async with scripted(script) as (base_url, _server):
        client = await open_client(base_url)
        await client.subscribe_to_global_availability(on_changed=seen.append)
        await wait_for(lambda: len(seen) == 6)

    assert [e.seq for e in seen] == [6, 7, 9, 10, 12, 13]
    assert "since" not in first_subscribe[0]
    assert resubscribe[0]["since"] == 9
    assert client.positions() == {CHANNEL: 13}


async def test_reset_calls_on_reset_and_restarts_from_the_head(
    open_client: ClientFactory,
) -> None:
    def script(server: ScriptedServer) -> Script:
        async def run(ws: ServerConnection, n: int) -> None:
            request = await server.next_message(ws, n)
            head = 40 if n == 0 else 3  # a database restored from an older backup
            reply = {"type": "subscribed", "ref": request["ref"], "channel": CHANNEL, "head": head}
            await ws.send(orjson.dumps(reply).decode())
            if n == 0:
                await ws.send(orjson.dumps(event(41)).decode())
                await ws.close(1001)
            else:
                await ws.send(orjson.dumps({"type": "reset", "channel": CHANNEL}).decode())
                await ws.send(orjson.dumps(event(4)).decode())

        return run

    resets: list[str] = []
    seen: list[int] = []

    async def on_reset(channel: str) -> None:
        resets.append(channel)

    async with scripted(script) as (base_url, server):
        client = await open_client(base_url, on_reset=on_reset)
        await client.subscribe_to_global_availability(on_changed=lambda e: seen.append(e.seq))
        await wait_for(lambda: len(seen) == 2)
        assert server.received[1][0]["since"] == 41

    assert resets == [CHANNEL]
    assert seen == [41, 4]


async def test_a_callback_may_unsubscribe_and_subscribe_without_deadlock(
    open_client: ClientFactory,
) -> None:
    def script(server: ScriptedServer) -> Script:
        async def run(ws: ServerConnection, n: int) -> None:
            while True:
                request = await server.next_message(ws, n)
                channel = request.get("channel")
                if request["type"] == "subscribe":
                    reply = {"type": "subscribed", "ref": request["ref"], "channel": channel}
                    await ws.send(orjson.dumps({**reply, "head": 1}).decode())
                elif request["type"] == "ping":
                    if len(server.received[n]) == 2:  # the first ping: send the event first
                        await ws.send(orjson.dumps(event(2)).decode())
                    await ws.send(orjson.dumps({"type": "pong"}).decode())
                elif request["type"] == "unsubscribe":
                    reply = {"type": "unsubscribed", "ref": request["ref"], "channel": channel}
                    await ws.send(orjson.dumps(reply).decode())

        return run

    async with scripted(script) as (base_url, server):
        client = await open_client(base_url)

        async def once(event: RealtimeEvent) -> None:
            await client.unsubscribe(subscription)
            await client.subscribe_to_dentists()

        subscription = await client.subscribe_to_global_availability(on_changed=once)
        await client.ping()  # the event comes first, then the pong
        await wait_for(lambda: [s.name for s in client.get_active_subscriptions()] == ["dentists"])
        await client.ping()  # the socket is still served
        kinds = [(m["type"], m.get("channel")) for m in server.received[0]]
        assert kinds == [
            ("subscribe", CHANNEL),
            ("ping", None),
            ("unsubscribe", CHANNEL),
            ("subscribe", "dentists"),
            ("ping", None),
        ]


async def test_callback_errors_go_to_on_error_and_delivery_goes_on(
    open_client: ClientFactory,
) -> None:
    def script(server: ScriptedServer) -> Script:
        async def run(ws: ServerConnection, n: int) -> None:
            request = await server.next_message(ws, n)
            reply = {"type": "subscribed", "ref": request["ref"], "channel": CHANNEL, "head": 0}
            await ws.send(orjson.dumps(reply).decode())
            for seq in (1, 2):
                await ws.send(orjson.dumps(event(seq)).decode())

        return run

    errors: list[Exception] = []
    seen: list[int] = []

    def fragile(e: RealtimeEvent) -> None:
        seen.append(e.seq)
        if e.seq == 1:
            raise ValueError("boom")

    async with scripted(script) as (base_url, _server):
        client = await open_client(base_url)
        await client.subscribe_to_global_availability(on_changed=fragile, on_error=errors.append)
        await wait_for(lambda: len(seen) == 2)
    assert [str(e) for e in errors] == ["boom"]


async def test_an_unreachable_server_fails_connect_cleanly(open_client: ClientFactory) -> None:
    async with scripted(lambda server: lambda ws, n: asyncio.sleep(0)) as (base_url, _server):
        pass  # closed again: nothing listens on that port now
    client = await open_client(base_url, connect=False, open_timeout=2)
    with pytest.raises(OSError):
        await client.connect()
    assert not client.connected


def test_backoff_grows_with_jitter_up_to_its_maximum() -> None:
    backoff = Backoff(initial=0.5, maximum=8.0)
    rng = random.Random(7)
    assert [backoff.ceiling(n) for n in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]
    for attempt in range(10):
        ceiling = backoff.ceiling(attempt)
        delays = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # really jittered
    assert backoff.ceiling(10_000) == 8.0
    assert FAST.maximum < 1
    with pytest.raises(ValueError):
        Backoff(initial=0)
    with pytest.raises(ValueError):
        Backoff(initial=2, maximum=1)


def test_realtime_url_follows_the_base_url() -> None:
    assert realtime_url("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/api/realtime"
    assert realtime_url("https://clinic.test/app/") == "wss://clinic.test/app/api/realtime"
    assert realtime_url("ws://127.0.0.1:1") == "ws://127.0.0.1:1/api/realtime"
    with pytest.raises(ValueError):
        realtime_url("ftp://127.0.0.1")


async def test_callbacks_get_as_many_arguments_as_they_take() -> None:
    got: list[tuple[Any, ...]] = []

    async def two(record: Any, old: Any) -> None:
        got.append((record, old))

    await fitted(lambda record: got.append((record,)), 2)("new", "old")
    await fitted(two, 2)("new", "old")
    await fitted(lambda *args: got.append(args), 2)("new", "old")
    assert got == [("new",), ("new", "old"), ("new", "old")]


async def test_a_callback_may_close_the_client(open_client: ClientFactory) -> None:
    def script(server: ScriptedServer) -> Script:
        async def run(ws: ServerConnection, n: int) -> None:
            request = await server.next_message(ws, n)
            reply = {"type": "subscribed", "ref": request["ref"], "channel": CHANNEL, "head": 0}
            await ws.send(orjson.dumps(reply).decode())
            await ws.send(orjson.dumps(event(1)).decode())

        return run

    closed: list[int] = []
    async with scripted(script) as (base_url, server):
        client = await open_client(base_url)

        async def stop(e: RealtimeEvent) -> None:
            with pytest.raises(RuntimeError):
                await client.ping()  # its pong could only be read after this callback
            await client.close()
            closed.append(e.seq)

        await client.subscribe_to_global_availability(on_changed=stop)
        await wait_for(lambda: closed and not client.connected)
        assert len(server.received) == 1  # and it did not reconnect


OPS = [(2, "HELD"), (3, "RELEASED"), (4, "HELD"), (5, "TAKEN")]


async def test_slot_events_with_an_op_it_does_not_know_are_delivered_as_they_are(
    open_client: ClientFactory,
) -> None:
    """`slots` events grow new ops (HELD, beside TAKEN and RELEASED): the SDK passes any op
    through to `on_changed`, in order, and keeps its position."""

    def script(server: ScriptedServer) -> Script:
        async def run(ws: ServerConnection, n: int) -> None:
            request = await server.next_message(ws, n)
            reply = {"type": "subscribed", "ref": request["ref"], "channel": CHANNEL, "head": 1}
            await ws.send(orjson.dumps(reply).decode())
            for seq, op in OPS:
                await ws.send(orjson.dumps({**event(seq), "op": op}).decode())

        return run

    seen: list[RealtimeEvent] = []
    async with scripted(script) as (base_url, _server):
        client = await open_client(base_url)
        await client.subscribe_to_global_availability(on_changed=seen.append)
        await wait_for(lambda: len(seen) == 4)

    assert [(e.seq, e.op) for e in seen] == OPS
    assert client.positions() == {CHANNEL: 5}
