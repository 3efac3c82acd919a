"""A reconnect storm: 5,000 clients come back at once and resubscribe with `since` within
10 s, missing nothing.

Two `dentalcare serve` processes on one database; 5,000 picows sockets in four client
processes (from four loopback addresses) follow channels on the first — nine in ten are
booking pages on availability channels, the rest patients, dentists and admins on
`appointments`, as in the realtime benchmark's profile. Patients book through REST on the
second, so every socket has a position. Then the first is killed with SIGKILL; while the
sockets are away more bookings commit (so every socket needs a `since` replay), and then
all 5,000 reconnect to the second in the same instant. Timed from that instant to the
last `subscribed` reply; afterwards bookings go on and every socket is checked against
the event log.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import psutil
import pytest

from tests.faults.support import (
    CROWD_ENV,
    Bookings,
    client_mix,
    client_processes,
    missing_bookings,
    percentile,
    running_services,
    seed_clinic,
    total,
    visible_by_topic,
)
from tests.fixtures.waiting import wait_until

CLIENTS = 5000
CLIENT_PROCESSES = 4
SOURCES = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")  # loopback only
LIMIT_S = 10.0


async def book(bookings: Bookings, url: str, count: int) -> None:
    """`count` more bookings answered 201 through `url`."""
    stop = asyncio.Event()
    flow = asyncio.create_task(bookings.run(lambda: [url], stop, workers=2, pause=0.01))
    try:
        target = len(bookings.created) + count
        await wait_until(lambda: len(bookings.created) >= target, within=30, what="bookings")
    finally:
        stop.set()
        await flow


@pytest.mark.storm
async def test_a_storm_of_5000_reconnecting_clients_is_resubscribed_within_10_s(
    fault_db: str,
) -> None:
    clinic = await seed_clinic(fault_db, dentists=50, patients=1000, admins=10)
    specs = [s.as_dict() for s in client_mix(clinic, CLIENTS, booking_pages=90)]
    async with running_services(fault_db, 2, extra_env=CROWD_ENV) as (doomed, survivor):
        configs = [
            {
                "urls": [doomed.ws_url, survivor.ws_url],
                "source": SOURCES[p % len(SOURCES)],
                "clients": specs[p::CLIENT_PROCESSES],
            }
            for p in range(CLIENT_PROCESSES)
        ]
        connect_began = time.monotonic()
        async with client_processes("tests.faults.storm_clients", configs) as children:
            ready = await asyncio.gather(*(child.receive(within=90) for child in children))
            connect_s = time.monotonic() - connect_began
            assert [r["failed"] for r in ready] == [0] * CLIENT_PROCESSES, ready
            starts = [start for r in ready for start in r["starts"]]

            async def statuses() -> list[dict[str, Any]]:
                replies = await asyncio.gather(
                    *(c.ask({"type": "status"}, within=30) for c in children)
                )
                if any(r["reconnect_failures"] for r in replies):
                    raise AssertionError([r["failures"] for r in replies])
                return list(replies)

            bookings = Bookings(clinic)
            await book(bookings, survivor.base_url, 20)  # delivered live
            doomed.kill()
            await wait_until(
                lambda: _count(statuses(), "dropped"), within=30, what="every socket dropped"
            )
            await book(bookings, survivor.base_url, 10)  # committed while they are away
            server = psutil.Process(survivor.process.pid)
            cpu_before = sum(server.cpu_times()[:2])
            load_before = os.getloadavg()[0]
            storm_began = time.monotonic()
            await asyncio.gather(*(c.ask({"type": "go"}, within=30) for c in children))
            await wait_until(
                lambda: _count(statuses(), "resubscribed"),
                within=60,
                what="every socket resubscribed",
                every=0.1,
            )
            # The server's own CPU for the storm: what it costs, however busy the machine.
            server_cpu_s = sum(server.cpu_times()[:2]) - cpu_before
            await book(bookings, survivor.base_url, 20)  # delivered live again
            topics = await visible_by_topic(fault_db, min(starts))
            results = await asyncio.gather(
                *(c.ask({"type": "expect", "topics": topics, "within": 30}, 90) for c in children)
            )

    back_s = [back - storm_began for r in results for _, back in r["times"]]
    storm_s = max(back_s)
    figures = total(results)
    summary = {
        "clients": CLIENTS,
        "first_connect_s": round(connect_s, 2),
        "storm_s": round(storm_s, 3),
        "resubscribed_s": {
            "p50": round(percentile(back_s, 0.5), 3),
            "p99": round(percentile(back_s, 0.99), 3),
            "max": round(storm_s, 3),
        },
        "server_cpu_s": round(server_cpu_s, 2),
        "loadavg_1m_before": round(load_before, 2),
        "connect_attempts_in_storm": sum(r["attempts"] for r in results) - CLIENTS,
        "bookings_201": len(bookings.created),
        "events_logged": len({seq for seqs in topics.values() for seq in seqs}),
        **figures,
        "server_duplicates": sum(r["server_duplicates"] for r in results),
    }
    print("reconnect storm:", json.dumps(summary))

    assert storm_s <= LIMIT_S, summary
    assert [e for r in results for e in r["errors"]] == []
    assert [p for r in results for p in r["problems"]] == []
    assert figures["lost"] == figures["unexpected"] == 0
    assert figures["applied_twice"] == figures["out_of_order"] == 0
    assert summary["server_duplicates"] == 0
    assert figures["expected"] == figures["applied"] > 0
    assert await missing_bookings(fault_db, bookings) == []
    assert bookings.unexpected == []


async def _count(replies: Any, key: str) -> bool:
    """Whether every socket of every client process is counted under `key`."""
    return sum(r[key] for r in await replies) == CLIENTS
