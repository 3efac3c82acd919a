"""kill -9 one of two service processes while 500 clients are subscribed and bookings flow.

Two `dentalcare serve` processes share one database; 500 SDK clients (two client
processes) follow availability and appointment channels, half of them on each service.
Patients book and cancel through REST on both. Then one service is killed with SIGKILL:
its clients reconnect to the other with `since` and, checked per client against the
event log, miss nothing and apply nothing twice; the other service's clients never notice.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

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

CLIENTS = 500
CLIENT_PROCESSES = 2
BOOKINGS_BEFORE = 40  # answered 201 before the kill
BOOKINGS_AFTER = 40  # and after every client is back


async def test_clients_of_a_killed_process_resume_on_the_other_and_miss_nothing(
    fault_db: str,
) -> None:
    clinic = await seed_clinic(fault_db, dentists=10, patients=150, admins=5)
    specs = client_mix(clinic, CLIENTS)
    configs: list[dict[str, Any]] = [{"clients": []} for _ in range(CLIENT_PROCESSES)]
    for index, spec in enumerate(specs):
        home = (index // CLIENT_PROCESSES) % 2  # which service it starts on
        configs[index % CLIENT_PROCESSES]["clients"].append({**spec.as_dict(), "home": home})

    async with running_services(fault_db, 2, extra_env=CROWD_ENV) as (doomed, survivor):
        urls = [doomed.base_url, survivor.base_url]
        for config in configs:
            config["urls"] = urls
        async with client_processes("tests.faults.sdk_clients", configs) as children:
            ready = [await child.receive(within=60) for child in children]
            assert [r["failed"] for r in ready] == [0] * CLIENT_PROCESSES, ready
            starts = [start for r in ready for start in r["starts"]]

            live = list(urls)
            stop = asyncio.Event()
            bookings = Bookings(clinic)
            flow = asyncio.create_task(bookings.run(lambda: live, stop))
            try:
                await wait_until(
                    lambda: len(bookings.created) >= BOOKINGS_BEFORE,
                    within=30,
                    what="bookings before the kill",
                )
                live.remove(doomed.base_url)
                killed_at = time.monotonic()
                doomed.kill()

                async def statuses() -> list[dict[str, Any]]:
                    replies = await asyncio.gather(
                        *(c.ask({"type": "status"}, within=10) for c in children)
                    )
                    return [client for reply in replies for client in reply["clients"]]

                async def all_back() -> bool:
                    return all(
                        s["connected"] and any(at > killed_at for at in s["connects"])
                        for s in await statuses()
                        if s["home"] == 0
                    )

                await wait_until(all_back, within=30, what="clients back", every=0.1)
                after_kill = len(bookings.created)
                await wait_until(
                    lambda: len(bookings.created) >= after_kill + BOOKINGS_AFTER,
                    within=30,
                    what="bookings after the reconnect",
                )
            finally:
                stop.set()
                await flow

            topics = await visible_by_topic(fault_db, min(starts))
            results = await asyncio.gather(
                *(c.ask({"type": "expect", "topics": topics, "within": 30}, 60) for c in children)
            )
            final = await statuses()

    moved = [s for s in final if s["home"] == 0]
    stayed = [s for s in final if s["home"] == 1]
    reconnect_s = [min(at for at in s["connects"] if at > killed_at) - killed_at for s in moved]
    figures = total(results)
    summary = {
        "clients": CLIENTS,
        "moved": len(moved),
        "bookings_201": len(bookings.created),
        "cancelled": len(bookings.cancelled),
        "statuses": dict(bookings.statuses),
        "transport_errors": dict(bookings.transport_errors),
        "events_logged": len({seq for seqs in topics.values() for seq in seqs}),
        "reconnect_s": {
            "p50": round(percentile(reconnect_s, 0.5), 3),
            "max": round(max(reconnect_s), 3),
        },
        **figures,
        "server_duplicates": sum(r["server_duplicates"] for r in results),
    }
    print("kill -9 one of two processes:", json.dumps(summary))

    assert await missing_bookings(fault_db, bookings) == []
    assert bookings.unexpected == []
    assert [p for r in results for p in r["problems"]] == []
    assert figures["lost"] == figures["unexpected"] == 0
    assert figures["applied_twice"] == figures["out_of_order"] == 0
    assert summary["server_duplicates"] == 0
    assert figures["expected"] == figures["applied"] > 0
    # Every client of the killed process noticed once; nobody on the survivor did.
    assert all(len(s["disconnects"]) == 1 for s in moved), [s["codes"] for s in moved][:5]
    assert all(not s["disconnects"] for s in stayed)
    assert len(moved) == len(stayed) == CLIENTS // 2
