"""A replay flood from one anonymous client, one socket at a time, leaves everyone else's
commit→client latency within twice what it is without the flood.

`dentalcare serve` runs as a process of its own (as in production; the test's own clients
do not share its interpreter). Twenty anonymous booking-page sockets follow the global
availability while bookings commit every 20 ms; the log holds 10,000 older events. A client
process floods the server from one socket: `subscribe` to `availability` with `since`
(0, or the longest replay an anonymous socket may ask for), again and again, as fast as
the server answers, and a new socket at once whenever the server closes one (with 4029,
for sending on while refused). The rounds alternate: without the flood, then with it (measured only
once the flooder has had its first answer), and so on; every event's latency is its arrival
at a client minus its `committed_at`, and each sample counts for the window its commit
falls in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any

import asyncpg
import orjson
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect

from dentalcare.db.pool import connect as connect_db
from tests.faults.support import ClientProcess, percentile, running_services
from tests.fixtures.rows import make_appointment, make_dentist
from tests.fixtures.waiting import wait_until

WATCHERS = 20
HISTORY_BOOKINGS = 5000  # 10,000 events in the log before the test begins
BOOK_EVERY_S = 0.02
ROUNDS = 5
WINDOW_S = 2.0


class Watchers:
    """Sockets on `availability`, and the latency of every event they receive."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (committed_at, latency in ms)
        self.sockets: list[ClientConnection] = []

    async def watch(self, ws: ClientConnection) -> None:
        async for raw in ws:
            arrived = time.time()
            message = orjson.loads(raw)
            if message["type"] == "event":
                committed = datetime.fromisoformat(message["committed_at"]).timestamp()
                self.samples.append((committed, (arrived - committed) * 1000.0))
            elif message["type"] == "ping":
                await ws.send('{"type":"pong"}')

    def between(self, start: float, end: float) -> list[float]:
        """Latencies of the events committed in [start, end)."""
        return [latency for committed, latency in self.samples if start <= committed < end]


@contextlib.asynccontextmanager
async def watching(url: str) -> AsyncIterator[Watchers]:
    watchers = Watchers()
    tasks = []
    try:
        for _ in range(WATCHERS):
            ws = await connect(url, open_timeout=10, close_timeout=1, compression=None)
            watchers.sockets.append(ws)
            await ws.send('{"type":"subscribe","ref":"1","channel":"availability"}')
            assert orjson.loads(await ws.recv())["type"] == "subscribed"
            tasks.append(asyncio.create_task(watchers.watch(ws)))
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


async def keep_booking(conn: asyncpg.Connection, dentist_id: Any, stop: asyncio.Event) -> int:
    """A booking every BOOK_EVERY_S until `stop`, each followed by the NOTIFY that writers
    outside the service send (README); how many."""
    count = 0
    day = date(2036, 1, 1)
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while not stop.is_set():
        on = day + timedelta(days=count // 20)
        await make_appointment(
            conn, dentist_id=dentist_id, on=on, at=clock(8 + count % 20 // 2, 30 * (count % 2))
        )
        await conn.execute("NOTIFY realtime_events")
        count += 1
        next_at += BOOK_EVERY_S
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, next_at - loop.time())):
                await stop.wait()
    return count


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "n": len(latencies),
        "p50": round(percentile(latencies, 0.50), 2),
        "p95": round(percentile(latencies, 0.95), 2),
        "p99": round(percentile(latencies, 0.99), 2),
        "max": round(max(latencies), 2),
    }


# since=0: the whole log, which an anonymous socket is answered with `reset` for; and the
# longest replay it may still ask for (990 positions behind the head, under the 1,000 of
# ws_anonymous_replay_max_events), until its address has replayed its share.
FLOODS = {"since=0": {"since": 0}, "longest": {"since": "longest", "behind": 990}}


@pytest.mark.parametrize("flood", list(FLOODS.values()), ids=list(FLOODS))
async def test_a_replay_flood_from_one_socket_leaves_other_sockets_latency_within_2x(
    database_url: str, owner_conn: asyncpg.Connection, flood: dict[str, Any]
) -> None:
    dentist = await make_dentist(owner_conn)
    await fill_history(owner_conn, dentist["id"])
    writer = await connect_db(database_url, app_role=None)
    async with running_services(database_url, 1) as (service,):
        flood_config = {"url": service.ws_url, "channel": "availability", **flood}
        flooder = await ClientProcess.start("tests.realtime.flood_client", flood_config)
        try:
            async with watching(service.ws_url) as watchers:
                stop = asyncio.Event()
                booking = asyncio.create_task(keep_booking(writer, dentist["id"], stop))
                windows: dict[str, list[tuple[float, float]]] = {"normal": [], "flood": []}
                server = psutil.Process(service.process.pid)

                def server_cpu() -> float:
                    return float(sum(server.cpu_times()[:2]))

                cpu = {"normal": 0.0, "flood": 0.0}
                reports = []
                try:
                    for _ in range(ROUNDS):
                        began, cpu_at = time.time(), server_cpu()
                        await asyncio.sleep(WINDOW_S)  # a window of normal traffic
                        windows["normal"].append((began, time.time()))
                        cpu["normal"] += server_cpu() - cpu_at
                        started = await flooder.ask({"type": "start"}, within=30)
                        assert started["type"] == "flooding", started
                        began, cpu_at = time.time(), server_cpu()
                        await asyncio.sleep(WINDOW_S)  # the same length under the flood
                        windows["flood"].append((began, time.time()))
                        cpu["flood"] += server_cpu() - cpu_at
                        reports.append(await flooder.ask({"type": "pause"}, within=30))
                finally:
                    stop.set()
                    booked = await booking
                # Every booking reaches every socket: wait for the last ones.
                await wait_until(
                    lambda: len(watchers.samples) >= booked * WATCHERS,
                    within=30,
                    what="every booking delivered",
                )
                latencies = {
                    phase: [x for start, end in spans for x in watchers.between(start, end)]
                    for phase, spans in windows.items()
                }
        finally:
            await flooder.stop()
    await writer.close()

    normal, flooding = summary(latencies["normal"]), summary(latencies["flood"])
    flooded = reports[-1]  # the flooder's counts are cumulative
    by_window = {
        phase: [summary(watchers.between(start, end)) for start, end in spans]
        for phase, spans in windows.items()
    }
    # Each statistic as the median of its windows': a stall of the shared machine in one
    # window (another job's burst, a collector pass) does not decide the comparison alone.
    typical = {
        phase: {q: statistics.median(w[q] for w in found) for q in ("p50", "p95", "p99")}
        for phase, found in by_window.items()
    }
    figures = {
        "normal_ms": normal,
        "flood_ms": flooding,
        "median_of_windows_ms": typical,
        "windows_ms": {
            phase: [[w["p50"], w["p95"], w["max"]] for w in found]
            for phase, found in by_window.items()
        },
        "bookings": booked,
        "flood_rounds": flooded["rounds"],
        "flood_sockets": flooded["connections"],
        "flood_replies": flooded["replies"],
        "flood_closes": flooded["closes"],
        # The server's CPU, in share of one core, over the windows of each phase.
        "server_cpu": {phase: round(cpu[phase] / (ROUNDS * WINDOW_S), 2) for phase in cpu},
    }
    print(f"replay flood ({flood}):", json.dumps(figures))
    # Every booking of every window reached every socket (2 windows x ROUNDS x ~125).
    expected = WATCHERS * ROUNDS * WINDOW_S / BOOK_EVERY_S
    assert normal["n"] > 0.8 * expected and flooding["n"] > 0.8 * expected, figures
    # The flood was real: hundreds of rounds per window, sockets closed and reopened.
    assert flooded["rounds"] > ROUNDS * 100, figures
    # Within twice the normal latency, typically and for the slowest twentieth; p99 and
    # max are printed, not held to it: single pauses of a shared machine decide them.
    assert typical["flood"]["p50"] <= 2 * typical["normal"]["p50"], figures
    assert typical["flood"]["p95"] <= 2 * typical["normal"]["p95"], figures
