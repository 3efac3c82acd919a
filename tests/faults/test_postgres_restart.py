"""Restart PostgreSQL mid-stream: 503 (never 500) during the outage, recovery on its own,
no committed booking lost, every event delivered to the subscribers afterwards.

One `dentalcare serve` process; SDK subscribers on availability and appointment channels
in this process; patients booking and cancelling through REST while probes read the
directory, the caller's appointments and /api/sync/health. The embedded server's
postmaster is stopped (`pg_ctl stop -m fast`: sessions are terminated, as in a restart or
fail-over) and, once the service has been seen answering 503 everywhere, started again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx

from dentalcare.client import RealtimeSyncClient
from tests.faults.support import (
    Bookings,
    ClientSpec,
    Clinic,
    FaultPostgres,
    client_mix,
    compare,
    missing_bookings,
    running_services,
    seed_clinic,
    visible_by_topic,
)
from tests.fixtures.waiting import wait_until

SUBSCRIBERS = 40
PROBE_PATHS = ("/api/sync/health", "/api/dentists", "/api/appointments", "/api/auth/me")


class Subscriber:
    """One SDK client on one channel, recording the seq of every event it applies."""

    def __init__(self, base_url: str, spec: ClientSpec) -> None:
        self.spec = spec
        self.applied: list[int] = []
        self.start = 0
        self.client = RealtimeSyncClient(base_url, spec.token)

    def _record(self, *_: Any) -> None:
        position = self.client.positions()[self.spec.channel]
        assert position is not None
        self.applied.append(position)

    async def open(self) -> None:
        spec = self.spec
        if spec.channel == "appointments":
            assert spec.user_id is not None and spec.role is not None
            await self.client.subscribe_to_appointments(
                spec.user_id,
                spec.role,
                on_created=self._record,
                on_updated=self._record,
                on_deleted=self._record,
            )
        elif spec.channel == "availability":
            await self.client.subscribe_to_global_availability(on_changed=self._record)
        else:
            await self.client.subscribe_to_availability(
                spec.channel.split(":", 1)[1], on_changed=self._record
            )
        await self.client.connect()
        self.start = self.client.positions()[spec.channel] or 0


class Probes:
    """Reads from the API in a loop, counting (status, error code) per path."""

    def __init__(self, base_url: str, clinic: Clinic) -> None:
        self.base_url = base_url
        patient = clinic.patients[0]
        self.headers = {"Authorization": f"Bearer {clinic.token(patient.id, 'patient')}"}
        self.seen: dict[str, Counter[tuple[int, str | None]]] = {p: Counter() for p in PROBE_PATHS}
        self.transport_errors = 0

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as http:
            while not stop.is_set():
                for path in PROBE_PATHS:
                    try:
                        response = await http.get(path, headers=self.headers)
                    except httpx.TransportError:
                        self.transport_errors += 1
                        continue
                    error = None
                    if response.status_code >= 400:
                        error = response.json().get("error") or response.json().get("status")
                    self.seen[path][(response.status_code, error)] += 1
                await asyncio.sleep(0.02)

    def statuses(self, path: str) -> set[int]:
        return {status for status, _ in self.seen[path]}


async def test_postgres_restart_mid_stream_503_then_recovery_and_nothing_lost(
    fault_db: str, fault_server: FaultPostgres
) -> None:
    clinic = await seed_clinic(fault_db, dentists=4, patients=20, admins=1)
    async with running_services(fault_db, 1) as [service]:
        subscribers = [Subscriber(service.base_url, s) for s in client_mix(clinic, SUBSCRIBERS)]
        await asyncio.gather(*(s.open() for s in subscribers))
        stop = asyncio.Event()
        bookings = Bookings(clinic)
        probes = Probes(service.base_url, clinic)
        flow = asyncio.gather(
            bookings.run(lambda: [service.base_url], stop, workers=2, allowed=(200, 201, 503)),
            probes.run(stop),
        )
        try:
            await wait_until(
                lambda: len(bookings.created) >= 20,
                within=30,
                what=f"bookings {bookings.statuses} {bookings.unexpected[:3]}",
            )
            stopped_at = time.monotonic()
            await asyncio.to_thread(fault_server.stop)
            stop_s = time.monotonic() - stopped_at

            def outage_seen() -> bool:  # every probe and the bookings have answered 503
                return bookings.statuses[503] >= 5 and all(
                    503 in probes.statuses(path) for path in PROBE_PATHS
                )

            await wait_until(outage_seen, within=30, what="503 during the outage")
            outage_503s = bookings.statuses[503]
            restart_began = time.monotonic()
            await asyncio.to_thread(fault_server.start)
            started_at = time.monotonic()

            async def healthy() -> bool:
                async with httpx.AsyncClient(base_url=service.base_url, timeout=5) as http:
                    return (await http.get("/api/sync/health")).status_code == 200

            health_back_s = await wait_until(healthy, within=30, what="health 200 again")
            after_start = len(bookings.created)
            await wait_until(
                lambda: len(bookings.created) >= after_start + 20,
                within=30,
                what="bookings after the restart",
            )
            bookings_back_s = time.monotonic() - started_at
        finally:
            stop.set()
            await flow
        topics = await visible_by_topic(fault_db, min(s.start for s in subscribers))

        def lacking() -> list[Subscriber]:
            return [
                s
                for s in subscribers
                if compare(s.applied, s.start, topics.get(s.spec.topic, []))["lost"]
            ]

        await wait_until(lambda: not lacking(), within=30, what="events delivered")
        reconnects = sum(s.client.connection_count - 1 for s in subscribers)
        service_log = service.log_text()
        await asyncio.gather(*(s.client.close() for s in subscribers))

    checks = [compare(s.applied, s.start, topics.get(s.spec.topic, [])) for s in subscribers]
    events_checked = sum(c["expected"] for c in checks)
    summary = {
        "subscribers": SUBSCRIBERS,
        "bookings_201": len(bookings.created),
        "cancelled": len(bookings.cancelled),
        "booking_statuses": dict(bookings.statuses),
        "booking_errors": dict(bookings.errors),
        "probe_statuses": {
            p: {f"{k[0]} {k[1]}": n for k, n in c.items()} for p, c in probes.seen.items()
        },
        "pg_stop_s": round(stop_s, 3),
        "outage_s": round(started_at - stopped_at, 3),
        "pg_start_s": round(started_at - restart_began, 3),
        "health_back_after_start_s": round(health_back_s, 3),
        "20_bookings_after_start_s": round(bookings_back_s, 3),
        "socket_reconnects": reconnects,
        "events_logged": len({seq for seqs in topics.values() for seq in seqs}),
        "events_checked": events_checked,
        "booking_503s_in_outage": outage_503s,
        # Sessions cut mid-transaction that asyncpg reported as a protocol-state error
        # (answered 503 like any other lost connection).
        "driver_state_errors": service_log.count("unreachable: InternalClientError"),
    }
    print("PostgreSQL restart:", json.dumps(summary))

    # During the outage: 503 ServiceUnavailable, never a 500 (nor anything else odd).
    if "unhandled error" in service_log:  # the traceback of a 500, to say what went wrong
        print(service_log[service_log.find("unhandled error") :][:8000])
    assert bookings.unexpected == [], bookings.unexpected[:5]
    assert set(bookings.errors) <= {"ServiceUnavailable"}, bookings.errors
    assert bookings.transport_errors == Counter()
    assert probes.transport_errors == 0
    for path, seen in probes.seen.items():
        for status, error in seen:
            assert status in (200, 503), (path, status, error)
            if status == 503:
                expected = "unhealthy" if path == "/api/sync/health" else "ServiceUnavailable"
                assert error == expected, (path, error)
    # Every 201 is in the database, every event reached every subscriber exactly once.
    assert await missing_bookings(fault_db, bookings) == []
    assert all(c["lost"] == c["unexpected"] == 0 for c in checks), checks
    assert all(c["applied_twice"] == c["out_of_order"] == 0 for c in checks), checks
    assert events_checked > 0
