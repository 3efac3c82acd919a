"""What one anonymous client may send is bounded, over real sockets: a socket's message and
replay budgets (RateLimited errors, then 4029), `reset` for long anonymous replays, the
sockets of one address (4029 at once), and frames larger than the protocol allows (1009).

The default settings are the ones under test wherever a test can afford them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
import time as clock
from collections.abc import Callable
from datetime import date, time
from typing import Any

import asyncpg
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from dentalcare.config import Settings
from dentalcare.realtime.protocol import MAX_MESSAGE_BYTES
from tests.fixtures.rows import make_appointment, make_dentist, make_user
from tests.fixtures.servers import RunningServer, caught_up, serve
from tests.fixtures.waiting import TIMEOUT, wait_for
from tests.realtime.conftest import Feed, open_feed

_days = itertools.count(1)


async def book(conn: asyncpg.Connection, dentist: asyncpg.Record) -> asyncpg.Record:
    """A booking on a fresh day (two events: the appointment and its `slots` TAKEN)."""
    day = date.fromordinal(date(2034, 1, 1).toordinal() + next(_days))
    return await make_appointment(conn, dentist_id=dentist["id"], on=day, at=time(9))


async def replies(feed: Feed, count: int) -> list[dict[str, Any]]:
    """The next `count` messages."""
    return [await feed.recv() for _ in range(count)]


# ---------------------------------------------------------------------------- budgets


async def test_pipelined_messages_past_the_burst_are_refused_then_the_socket_closes(
    live_server: RunningServer, settings: Settings
) -> None:
    burst = settings.ws_message_burst
    received: list[dict[str, Any]] = []
    began = clock.monotonic()
    async with open_feed(live_server) as feed:
        for _ in range(burst + 100):  # the whole budget and well past it, in one go
            await feed.ws.send('{"type":"ping"}')
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(TIMEOUT):
                while True:
                    received.append(orjson.loads(await feed.ws.recv()))
        assert feed.ws.close_code == 4029
    refilled = settings.ws_messages_per_second * (clock.monotonic() - began)
    pongs = [m for m in received if m["type"] == "pong"]
    refused = [m for m in received if m["type"] == "error"]
    assert burst <= len(pongs) <= burst + refilled + 1
    assert len(refused) >= settings.ws_refusals_before_close - 1
    assert {m["error"] for m in refused} == {"RateLimited"}
    assert all(m["retry_after"] >= 1 for m in refused)
    assert len(pongs) + len(refused) + 1 <= burst + 100  # none answered after the close


async def test_replays_are_budgeted_far_tighter_than_other_messages(
    live_server: RunningServer, owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    dentist = await make_dentist(owner_conn)
    channel = f"availability:{dentist['id']}"
    await caught_up(live_server, owner_conn)
    async with open_feed(live_server) as feed:
        head = (await feed.subscribe(channel))["head"]
        for _ in range(settings.ws_replay_burst):
            await feed.subscribe(channel, since=head)
        one_more = {"type": "subscribe", "ref": "one-too-many", "channel": channel, "since": head}
        await feed.send(one_more)
        refused = await feed.recv()
        assert refused["type"] == "error" and refused["error"] == "RateLimited", refused
        assert refused["ref"] == "one-too-many" and refused["retry_after"] == 1
        # Only replays are refused: the socket, its other messages and its live feed go on.
        await feed.subscribe("dentists")
        await feed.send({"type": "ping"})
        assert (await feed.recv())["type"] == "pong"
        await book(owner_conn, dentist)
        [taken] = await feed.events(1)
        assert taken["channel"] == channel and taken["op"] == "TAKEN"
        # One replay a second from then on: a client that waits as told gets through.
        await asyncio.sleep(refused["retry_after"])
        await feed.subscribe(channel, since=head)
        [replayed] = await feed.events(1)
        assert replayed["seq"] == taken["seq"]
    stats = live_server.app.state.realtime.stats()["limits"]
    assert stats["messages_refused"] >= 1


async def test_a_replay_flood_is_reset_then_refused_then_closed(
    database_url: str, owner_conn: asyncpg.Connection, settings: Settings
) -> None:
    dentist = await make_dentist(owner_conn)
    for _ in range(3):
        await book(owner_conn, dentist)
    # The default budgets; a log of a few events stands for one longer than the bound.
    with serve(database_url, ws_anonymous_replay_max_events=2) as server:
        await caught_up(server, owner_conn)
        flood = orjson.dumps({"type": "subscribe", "channel": "availability", "since": 0})
        counts: dict[str, int] = {}
        sent = 0
        began = clock.monotonic()
        async with open_feed(server) as feed:
            with contextlib.suppress(ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    while True:  # one at a time, as fast as the server answers
                        await feed.ws.send(flood.decode())
                        sent += 1
                        kind = ""
                        while kind not in ("reset", "error"):  # after `subscribed`
                            kind = orjson.loads(await feed.ws.recv())["type"]
                            if kind != "ping":  # the server's keepalive
                                counts[kind] = counts.get(kind, 0) + 1
            assert feed.ws.close_code == 4029
        elapsed = clock.monotonic() - began
        limits = server.app.state.realtime.stats()["limits"]
    # Each admitted replay was one `reset` (since=0 is far too long for an anonymous
    # socket), never the log's events; the rest were refused until the socket closed.
    assert set(counts) == {"subscribed", "reset", "error"}
    assert counts["reset"] == counts["subscribed"] == settings.ws_replay_burst
    assert limits["replays_reset"] == settings.ws_replay_burst
    assert counts["error"] == limits["messages_refused"] == sent - settings.ws_replay_burst - 1
    # Refused replays spend the message budget, so the flood ends with it. A token that
    # refills while the socket is being refused admits one message, and an admitted
    # message starts the count of refusals in a row again (limits.MessageBudget): each
    # refill can buy one more run of refusals before the close.
    refilled = settings.ws_messages_per_second * elapsed
    runs = refilled + 1
    bound = settings.ws_message_burst + refilled + settings.ws_refusals_before_close * runs + 1
    assert sent <= bound
    assert limits["sockets_closed"] == 1


# ---------------------------------------------------------------------------- replays


async def test_a_long_anonymous_replay_gets_reset_from_memory_and_from_the_log(
    database_url: str,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    channel = f"availability:{dentist['id']}"
    start = await owner_conn.fetchval("SELECT coalesce(max(seq), 0) FROM realtime_events")
    for _ in range(6):  # 12 log positions
        await book(owner_conn, dentist)
    # Started now, the server's memory begins after these: a replay from `start` reads the log.
    with serve(database_url, ws_anonymous_replay_max_events=10) as server:
        await caught_up(server, owner_conn)
        assert server.app.state.realtime.hub.recent_floor > start
        for since in (start, start + 2):  # the log; then 10 positions: short enough
            async with open_feed(server) as feed:
                await feed.subscribe(channel, since=since)
                if since == start:
                    assert await feed.recv() == {
                        "type": "reset",
                        "channel": channel,
                        "reason": "replay_too_long",
                    }
                else:
                    assert len(await feed.events(5)) == 5
        # Someone logged in gets the whole replay.
        async with open_feed(server, token_for(admin)) as feed:
            await feed.subscribe(channel, since=start)
            assert len(await feed.events(6)) == 6
        # From memory: 12 more positions after the server started.
        middle = await caught_up(server, owner_conn)
        for _ in range(6):
            await book(owner_conn, dentist)
        await caught_up(server, owner_conn)
        async with open_feed(server) as feed:
            await feed.subscribe(channel, since=middle)
            assert (await feed.recv())["reason"] == "replay_too_long"
        assert server.app.state.realtime.stats()["limits"]["replays_reset"] == 2


async def test_an_anonymous_replay_reaching_back_too_far_in_time_gets_reset(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    channel = f"availability:{dentist['id']}"
    old = await owner_conn.fetchval("SELECT coalesce(max(seq), 0) FROM realtime_events")
    await book(owner_conn, dentist)
    # Every event is older than 0 seconds by the time it is replayed.
    with serve(database_url, ws_anonymous_replay_max_seconds=0) as server:
        recent = await caught_up(server, owner_conn)
        await book(owner_conn, dentist)
        await caught_up(server, owner_conn)
        for since in (old, recent):  # from the log, then from memory
            async with open_feed(server) as feed:
                await feed.subscribe(channel, since=since)
                assert (await feed.recv())["reason"] == "replay_too_long"
    # With the default (10 minutes) the same replays are sent.
    with serve(database_url) as server:
        await caught_up(server, owner_conn)
        async with open_feed(server) as feed:
            await feed.subscribe(channel, since=old)
            assert [e["op"] for e in await feed.events(2)] == ["TAKEN", "TAKEN"]


# ---------------------------------------------------------------------------- sockets


async def test_one_address_may_open_200_sockets_and_no_more(
    live_server: RunningServer, settings: Settings
) -> None:
    assert settings.ws_max_sockets_per_address == 200
    url = live_server.ws_url + "/api/realtime"

    def from_address(host: str) -> Any:
        return connect(url, open_timeout=TIMEOUT, close_timeout=2, local_addr=(host, 0))

    refused_before = live_server.app.state.realtime.hub.limits.sockets_refused
    # An address no other test uses, so that the count is this test's own.
    sockets = [await from_address("127.0.0.9").__aenter__() for _ in range(200)]
    try:
        async with from_address("127.0.0.9") as one_more:
            assert await Feed(one_more).close_code() == 4029
            assert one_more.close_reason == "too many sockets from this address"
        # Another address is not affected, and the 200 still work.
        async with from_address("127.0.0.10") as other:
            assert (await Feed(other).subscribe("dentists"))["type"] == "subscribed"
        assert (await Feed(sockets[-1]).subscribe("dentists"))["type"] == "subscribed"
        # A socket that closes makes room for one more.
        await sockets.pop().close()
        service = live_server.app.state.realtime
        await wait_for(lambda: service.addresses.sockets.open_from("127.0.0.9") < 200)
        async with from_address("127.0.0.9") as again:
            assert (await Feed(again).subscribe("dentists"))["type"] == "subscribed"
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    assert service.hub.limits.sockets_refused == refused_before + 1


async def test_an_address_past_its_message_rate_is_slowed_not_refused(
    database_url: str,
) -> None:
    with serve(database_url, ws_address_messages_per_second=100, ws_address_message_burst=50) as (
        server
    ):
        url = server.ws_url + "/api/realtime"

        def from_address(host: str) -> Any:
            return connect(url, open_timeout=TIMEOUT, close_timeout=2, local_addr=(host, 0))

        async def pings(ws: Any, count: int) -> list[str]:
            for _ in range(count):
                await ws.send('{"type":"ping"}')
            kinds = []
            async with asyncio.timeout(TIMEOUT):
                while len(kinds) < count:
                    kind = orjson.loads(await ws.recv())["type"]
                    if kind != "ping":
                        kinds.append(kind)
            return kinds

        async with from_address("127.0.0.11") as one, from_address("127.0.0.11") as two:
            began = clock.monotonic()
            flooding = asyncio.gather(pings(one, 150), pings(two, 150))
            # Meanwhile another address is answered at once.
            async with from_address("127.0.0.12") as other:
                await other.send('{"type":"ping"}')
                asked = clock.monotonic()
                assert orjson.loads(await other.recv())["type"] == "pong"
                assert clock.monotonic() - asked < 1.0
            answers = await flooding
            elapsed = clock.monotonic() - began
        # Every ping answered, none refused: 250 past the burst of 50, at 100 a second.
        assert [set(kinds) for kinds in answers] == [{"pong"}, {"pong"}]
        assert elapsed >= 2.4, elapsed
        limits = server.app.state.realtime.stats()["limits"]
        assert limits["messages_delayed"] >= 240 and limits["messages_refused"] == 0


# ---------------------------------------------------------------------------- frames


async def test_a_frame_over_the_protocol_limit_is_refused_with_1009(
    live_server: RunningServer,
) -> None:
    padding = MAX_MESSAGE_BYTES - len(b'{"type":"ping","pad":""}')
    async with open_feed(live_server) as feed:
        await feed.ws.send('{"type":"ping","pad":"' + "x" * padding + '"}')  # exactly the limit
        assert (await feed.recv())["type"] == "pong"
        await feed.ws.send('{"type":"ping","pad":"' + "x" * (padding + 1) + '"}')
        assert await feed.close_code() == 1009


async def test_a_huge_frame_is_refused_from_its_header(live_server: RunningServer) -> None:
    """A client announcing a 1 GiB frame is closed with 1009 before it sends a byte of it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.port)
    try:
        writer.write(
            b"GET /api/realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101")
        # FIN + text, masked, 64-bit length of 1 GiB, the mask; no payload.
        writer.write(bytes((0x81, 0x80 | 127)) + struct.pack("!Q", 1 << 30) + b"\0\0\0\0")
        await writer.drain()
        frame = await asyncio.wait_for(reader.read(64), TIMEOUT)
        assert frame[0] == 0x88  # a close frame
        assert struct.unpack("!H", frame[2:4])[0] == 1009
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()
