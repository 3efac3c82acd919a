"""The replay-flood scene, shared by its test (what happens) and its benchmark (how fast).

Twenty anonymous booking-page sockets follow the global availability while bookings commit
every 20 ms; the log holds 10,000 older events. A client process (`flood_client`) floods
the server from one socket: `subscribe` to `availability` with `since` (0, or the longest
replay an anonymous socket may ask for), again and again, as fast as the server answers,
and a new socket at once whenever the server closes one.

`tests/realtime/test_replay_flood.py` checks what everyone receives and that the limits
kick in; `bench/replay_flood.py` measures the others' commit→client latency with and
without the flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

import asyncpg
import orjson
from websockets.asyncio.client import ClientConnection, connect

from dentalcare.realtime.events import AVAILABILITY_TABLES
from tests.fixtures.rows import make_appointment

WATCHERS = 20
HISTORY_BOOKINGS = 5000  # 10,000 events in the log before the flood begins
BOOK_EVERY_S = 0.02
FLOOD_MODULE = "tests.realtime.flood_client"

# since=0: the whole log, which an anonymous socket is answered with `reset` for; and the
# longest replay it may still ask for (990 positions behind the head, under the 1,000 of
# ws_anonymous_replay_max_events), until its address has replayed its share.
FLOODS: dict[str, dict[str, Any]] = {
    "since=0": {"since": 0},
    "longest": {"since": "longest", "behind": 990},
}


class Watchers:
    """Sockets on `availability`: what each receives, and the latency of every event."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (committed_at, latency in ms)
        self.sockets: list[ClientConnection] = []
        self.seqs: list[list[int]] = []  # per socket, the events' `seq` as they arrived

    async def watch(self, ws: ClientConnection, seqs: list[int]) -> None:
        async for raw in ws:
            arrived = time.time()
            message = orjson.loads(raw)
            if message["type"] == "event":
                committed = datetime.fromisoformat(message["committed_at"]).timestamp()
                self.samples.append((committed, (arrived - committed) * 1000.0))
                seqs.append(int(message["seq"]))
            elif message["type"] == "ping":
                await ws.send('{"type":"pong"}')

    def between(self, start: float, end: float) -> list[float]:
        """Latencies of the events committed in [start, end)."""
        return [latency for committed, latency in self.samples if start <= committed < end]


@contextlib.asynccontextmanager
async def watching(url: str) -> AsyncIterator[Watchers]:
    """WATCHERS sockets subscribed to `availability` (at the head: no replay)."""
    watchers = Watchers()
    tasks = []
    try:
        for _ in range(WATCHERS):
            ws = await connect(url, open_timeout=10, close_timeout=1, compression=None)
            watchers.sockets.append(ws)
            await ws.send('{"type":"subscribe","ref":"1","channel":"availability"}')
            assert orjson.loads(await ws.recv())["type"] == "subscribed"
            seqs: list[int] = []
            watchers.seqs.append(seqs)
            tasks.append(asyncio.create_task(watchers.watch(ws, seqs)))
        yield watchers
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in watchers.sockets), return_exceptions=True)


async def fill_history(conn: asyncpg.Connection, dentist_id: Any) -> None:
    """HISTORY_BOOKINGS bookings in one transaction: 2 events each."""
    await conn.execute(
        """INSERT INTO appointments (booking_reference, dentist_id, patient_name,
               patient_email, patient_phone, appointment_date, appointment_time,
               duration_minutes, status, booking_source)
           SELECT 'DC-H' || lpad(g::text, 6, '0'), $1, 'Pat Test',
                  'history' || g || '@example.com', '+1 555 0102',
                  date '2035-01-01' + g / 20, time '08:00' + (g % 20) * interval '30 min',
                  30, 'pending', 'manual'
           FROM generate_series(1, $2) AS g""",
        dentist_id,
        HISTORY_BOOKINGS,
    )


@dataclass
class Booker:
    """Bookings every BOOK_EVERY_S until `stop`, each followed by the NOTIFY that writers
    outside the service send (README)."""

    conn: asyncpg.Connection
    dentist_id: Any
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    count: int = 0

    async def book(self) -> None:
        """One booking (its `slots` and `appointments` events), then the NOTIFY."""
        n = self.count
        await make_appointment(
            self.conn,
            dentist_id=self.dentist_id,
            on=date(2036, 1, 1) + timedelta(days=n // 20),
            at=clock(8 + n % 20 // 2, 30 * (n % 2)),
        )
        await self.conn.execute("NOTIFY realtime_events")
        self.count += 1

    async def run(self) -> int:
        """Book until `stop`; how many in all."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self.stop.is_set():
            await self.book()
            next_at += BOOK_EVERY_S
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_at - loop.time())):
                    await self.stop.wait()
        return self.count


async def availability_seqs(conn: asyncpg.Connection, *, after: int, through: int) -> list[int]:
    """The log's positions in (after, through] that the `availability` channel carries."""
    rows = await conn.fetch(
        """SELECT seq FROM realtime_events
           WHERE seq > $1 AND seq <= $2 AND table_name = ANY($3::text[]) ORDER BY seq""",
        after,
        through,
        list(AVAILABILITY_TABLES),
    )
    return [int(row["seq"]) for row in rows]


async def log_head(conn: asyncpg.Connection) -> int:
    """The newest position in the log (0 if empty)."""
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM realtime_events"))


@dataclass
class Replay:
    """What one socket got for the flood's `subscribe` with `since`, up to its `pong`."""

    since: int
    head: int
    seqs: list[int]
    resets: list[str]
    errors: list[dict[str, Any]]


async def replay_once(url: str, flood: dict[str, Any]) -> Replay:
    """One round of the flood from a socket of our own: `subscribe` with the flood's
    `since` (for "longest", `behind` positions before the head the first `subscribe`
    tells), then a `ping`; everything the server sent until the `pong`."""
    async with connect(url, open_timeout=10, close_timeout=1, compression=None) as ws:
        await ws.send('{"type":"subscribe","ref":"1","channel":"availability"}')
        subscribed = orjson.loads(await ws.recv())
        assert subscribed["type"] == "subscribed", subscribed
        head = int(subscribed["head"])
        since = 0 if flood["since"] == 0 else max(0, head - int(flood["behind"]))
        request = {"type": "subscribe", "ref": "2", "channel": "availability", "since": since}
        await ws.send(orjson.dumps(request).decode())
        await ws.send('{"type":"ping"}')
        replay = Replay(since=since, head=head, seqs=[], resets=[], errors=[])
        async with asyncio.timeout(30):
            async for raw in ws:
                message = orjson.loads(raw)
                if message["type"] == "pong":
                    break
                if message["type"] == "event":
                    replay.seqs.append(int(message["seq"]))
                elif message["type"] == "reset":
                    replay.resets.append(str(message.get("reason")))
                elif message["type"] == "error":
                    replay.errors.append(message)
        return replay
