"""Overload is graceful: at twice its capacity for 10 s the service keeps every socket,
loses nothing, and recovers by itself once the load falls back.

One `dentalcare serve`; 2,400 picows sockets in two client processes, nine in ten on the
availability channels of only four dentists, so that one booking is ~780 messages and a
few dozen bookings a second fill a core. Bookings are committed straight through SQL at
a fixed rate (open loop, as another process would commit them): first a calm rate, which
also says what one booking costs the delivery (the server and its clients, which share
the cores) in CPU and so how many a second the machine carries (its capacity); then twice
that for 10 s; then the calm rate again for 20 s. Every socket is then checked against the
event log, and the commit→client latency of each second of the recovery against the
calm phase's: the last seconds must be as quick again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import psutil
import pytest

from tests.faults.support import (
    CROWD_ENV,
    Clinic,
    client_mix,
    client_processes,
    running_services,
    seed_clinic,
    total,
    visible_by_topic,
)

CLIENTS = 2400
SOURCES = ("127.0.0.1", "127.0.0.2")  # one client process each
CALM_PER_S = 4.0
OVERLOAD_S = 10.0
RECOVERY_S = 20.0
SLO_MS = 50.0


@dataclass
class Phase:
    """What the driver committed in one phase, and the CPU the delivery used meanwhile."""

    began: float
    ended: float
    bookings: int
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.bookings / (self.ended - self.began)


class Driver:
    """Bookings committed through SQL as the owner at a fixed rate, each followed by the
    NOTIFY another service process would send."""

    def __init__(self, url: str, clinic: Clinic, delivery: list[psutil.Process]) -> None:
        self.url = url
        self.clinic = clinic
        self.delivery = delivery  # the server and the client processes
        self.made = 0

    def cpu_seconds(self) -> float:
        """User and system CPU of the delivery's processes."""
        return sum(sum(p.cpu_times()[:2]) for p in self.delivery)

    async def drive(self, *, rate: float, seconds: float) -> Phase:
        """Book at `rate` per second for `seconds` (behind schedule: as fast as it can)."""
        pool = await asyncpg.create_pool(self.url, min_size=4, max_size=4)
        assert pool is not None
        loop = asyncio.get_running_loop()
        cpu_before = self.cpu_seconds()
        began, start = time.time(), loop.time()
        due = [start + n / rate for n in range(int(rate * seconds))]
        booked = 0

        async def work() -> None:
            nonlocal booked
            async with pool.acquire() as conn:
                while due:
                    at = due.pop(0)
                    if at > loop.time():
                        await asyncio.sleep(at - loop.time())
                    await self._book(conn)
                    booked += 1

        try:
            await asyncio.gather(*(work() for _ in range(4)))
        finally:
            await pool.close()
        return Phase(began, time.time(), booked, self.cpu_seconds() - cpu_before)

    async def _book(self, conn: asyncpg.Connection) -> None:
        dentist, day, at = self.clinic.next_slot()
        patient = self.clinic.patients[self.made % len(self.clinic.patients)]
        self.made += 1
        await conn.execute(
            """INSERT INTO appointments (booking_reference, dentist_id, patient_id,
                   patient_name, patient_email, patient_phone, appointment_date,
                   appointment_time, duration_minutes, status, booking_source)
               VALUES ($1, $2, $3, 'Overload Patient', $4, '+1 555 0100', $5, $6, 15,
                       'pending', 'manual')""",
            f"DC-O{self.made:07d}",
            dentist.id,
            patient.id,
            patient.email,
            day,
            dt.time.fromisoformat(at),
        )
        await conn.execute("NOTIFY realtime_events")


async def window_figures(
    children: list[Any], windows: list[list[float]]
) -> tuple[list[dict[str, float]], int]:
    """Each window's latency over both client processes (p99 and max: the worse process's),
    and the sockets dropped so far."""
    replies = await asyncio.gather(
        *(c.ask({"type": "latency", "windows": windows}, within=60) for c in children)
    )
    merged = [
        {
            "n": sum(r["windows"][i]["n"] for r in replies),
            "p99": max(r["windows"][i]["p99"] for r in replies),
            "max": max(r["windows"][i]["max"] for r in replies),
        }
        for i in range(len(windows))
    ]
    return merged, sum(r["dropped"] for r in replies)


@pytest.mark.storm
@pytest.mark.timeout(300)
async def test_twice_the_capacity_for_10_s_keeps_every_socket_loses_nothing_and_recovers(
    fault_db: str,
) -> None:
    clinic = await seed_clinic(fault_db, dentists=4, patients=200, admins=10)
    specs = [s.as_dict() for s in client_mix(clinic, CLIENTS, booking_pages=90)]
    async with running_services(fault_db, 1, extra_env=CROWD_ENV) as (service,):
        configs = [
            {"urls": [service.ws_url, service.ws_url], "source": source, "clients": specs[p::2]}
            for p, source in enumerate(SOURCES)
        ]
        async with client_processes("tests.faults.overload_clients", configs) as children:
            ready = await asyncio.gather(*(child.receive(within=90) for child in children))
            assert [r["failed"] for r in ready] == [0, 0], ready
            start = min(s for r in ready for s in r["starts"])
            # The delivery loop is the server and its clients, on the same cores: what a
            # booking costs them at the calm rate says how many a second the cores carry.
            delivery = [
                psutil.Process(pid)
                for pid in (service.process.pid, *(c.process.pid for c in children))
            ]
            driver = Driver(fault_db, clinic, delivery)

            calm = await driver.drive(rate=CALM_PER_S, seconds=4)
            capacity = (os.cpu_count() or 1) * calm.bookings / max(calm.cpu_s, 1e-3)
            overload = await driver.drive(rate=2 * capacity, seconds=OVERLOAD_S)
            recovery = await driver.drive(rate=CALM_PER_S, seconds=RECOVERY_S)
            topics = await visible_by_topic(fault_db, start)
            results = await asyncio.gather(
                *(c.ask({"type": "expect", "topics": topics, "within": 60}, 120) for c in children)
            )
            # By commit time, now that everything has arrived: the calm phase, the overload,
            # and each second of the recovery.
            seconds = [[recovery.began + n, recovery.began + n + 1] for n in range(int(RECOVERY_S))]
            windows, dropped = await window_figures(
                children, [[calm.began + 1, calm.ended], [overload.began, overload.ended], *seconds]
            )

    calm_window, overload_window, *recovery_seconds = windows
    bound = max(SLO_MS, 2 * calm_window["p99"])
    # Recovered: from this second of the recovery on, every second within the bound (a
    # figure in the summary; the assertions use the second half's median, below).
    recovered_after = next(
        (
            n
            for n in range(len(recovery_seconds))
            if all(0 < s["p99"] <= bound for s in recovery_seconds[n:])
        ),
        None,
    )
    # The recovery's second half: a server that never caught up shows its backlog there
    # (seconds of delay, growing); one that did may still show a noisy second on a shared
    # machine, which only the median of the seconds' p99s looks past.
    settled = sorted(s["p99"] for s in recovery_seconds[len(recovery_seconds) // 2 :])
    settled_median = settled[len(settled) // 2]
    figures = total(results)
    summary: dict[str, Any] = {
        "sockets": CLIENTS,
        "capacity_per_s": round(capacity, 1),
        "rates_per_s": [round(p.rate, 1) for p in (calm, overload)],
        "cpu_share": [round(p.cpu_s / (p.ended - p.began), 2) for p in (calm, overload)],
        "p99_ms": {"calm": calm_window["p99"], "overload": overload_window["p99"]},
        "max_ms_overload": overload_window["max"],
        "bound_ms": round(bound, 1),
        "recovered_after_s": recovered_after,
        "settled_p99_median_ms": round(settled_median, 1),
        "settled_p99_max_ms": round(settled[-1], 1),
        "recovery_p99_ms": [round(second["p99"], 1) for second in recovery_seconds],
        "dropped": dropped,
        **figures,
    }
    print("overload:", json.dumps(summary))

    assert summary["dropped"] == 0, summary  # every socket kept
    assert [e for r in results for e in r["errors"]] == []
    assert figures["lost"] == figures["unexpected"] == 0, summary  # nothing lost
    assert figures["applied_twice"] == figures["out_of_order"] == 0, summary
    assert sum(r["server_duplicates"] for r in results) == 0
    assert figures["expected"] == figures["applied"] > 0
    # The load was offered (twice what the cores carry; the driver kept up within a tenth)
    # and went past what could be delivered in time.
    assert overload.rate >= 0.9 * 2 * capacity, summary
    assert overload_window["p99"] > bound, summary
    # Recovered by itself once the load fell back: over the last 10 seconds the typical
    # second is as quick as the calm phase allows, and no second is still draining a
    # backlog (four times the bound is 268 ms at least; a backlog is seconds).
    assert 0 < settled_median <= bound, summary
    assert settled[-1] <= 4 * bound, summary
