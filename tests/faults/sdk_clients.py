"""A client process of SDK clients (`RealtimeSyncClient`), for the kill -9 test.

Each client follows one channel through the real SDK, which reconnects with backoff and
resubscribes with `since` = the last seq it delivered, dropping anything at or below it.
When a client's socket drops, its `on_disconnect` hook points it at the other service
process (what a load balancer does in front of a real deployment). Every event the SDK
hands to the application is recorded by seq, with the time of every (re)connection.

    parent → {"urls": [...], "clients": [{channel, topic, token, user_id, role, home}]}
    child  → {"type": "ready", "connected": n, "failed": n, "failures": [...], "starts": [...]}
    parent → {"type": "status"}                → {"type": "status", "clients": [...]}
    parent → {"type": "expect", "topics": {topic: [seq, ...]}, "within": s}
    child  → {"type": "result", "figures": {...}, "problems": [...], "server_duplicates": n}
    parent → {"type": "stop"}
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from dentalcare.client import RealtimeSyncClient
from dentalcare.client.link import realtime_url
from tests.faults import childio
from tests.faults.support import raise_nofile_limit

CONNECT_CONCURRENCY = 50


class Tracked:
    """One SDK client and what it delivered."""

    def __init__(self, spec: dict[str, Any], urls: list[str]) -> None:
        self.spec = spec
        self.urls = urls
        self.current = int(spec["home"])
        self.channel = spec["channel"]  # the server channel, as the SDK names it
        self.applied: list[int] = []
        self.start = 0
        self.connects: list[float] = []  # time.monotonic() of every completed (re)subscription
        self.disconnects: list[tuple[float, int | None]] = []
        self.client = RealtimeSyncClient(
            urls[self.current],
            spec["token"],
            on_connect=self._connected,
            on_disconnect=self._disconnected,
        )

    def _connected(self) -> None:
        self.connects.append(time.monotonic())

    def _disconnected(self, code: int | None) -> None:
        self.disconnects.append((time.monotonic(), code))
        self.current = 1 - self.current  # fail over to the other process
        self.client.url = realtime_url(self.urls[self.current])

    def _record(self, *_: Any) -> None:
        # The SDK moves the channel's position before it calls back: that is this event's seq.
        position = self.client.positions()[self.channel]
        assert position is not None
        self.applied.append(position)

    async def open(self) -> None:
        spec = self.spec
        if spec["channel"] == "appointments":
            await self.client.subscribe_to_appointments(
                spec["user_id"],
                spec["role"],
                on_created=self._record,
                on_updated=self._record,
                on_deleted=self._record,
            )
        elif spec["channel"] == "availability":
            await self.client.subscribe_to_global_availability(on_changed=self._record)
        else:
            dentist_id = spec["channel"].split(":", 1)[1]
            await self.client.subscribe_to_availability(dentist_id, on_changed=self._record)
        await self.client.connect()
        start = self.client.positions()[self.channel]
        assert start is not None
        self.start = start

    def server_duplicates(self) -> int:
        """Events the server sent twice (the SDK dropped them): the contract says none."""
        channel = self.client._channels.by_name.get(self.channel)
        return channel.duplicates_dropped if channel is not None else 0

    def status(self) -> dict[str, Any]:
        return {
            "home": self.spec["home"],
            "connected": self.client.connected,
            "connects": self.connects,
            "disconnects": [at for at, _ in self.disconnects],
            "codes": [code for _, code in self.disconnects],
        }


async def serve() -> None:
    config = await childio.read()
    urls = config["urls"]
    clients = [Tracked(spec, urls) for spec in config["clients"]]
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def open_one(tracked: Tracked) -> str | None:
        async with limit:
            try:
                await tracked.open()
            except Exception as exc:
                return repr(exc)
            return None

    failures = [f for f in await asyncio.gather(*(open_one(c) for c in clients)) if f]
    childio.write(
        {
            "type": "ready",
            "connected": len(clients) - len(failures),
            "failed": len(failures),
            "failures": failures[:5],
            "starts": [c.start for c in clients],
        }
    )
    try:
        while True:
            command = await childio.read()
            if command["type"] == "stop":
                break
            if command["type"] == "status":
                childio.write({"type": "status", "clients": [c.status() for c in clients]})
            elif command["type"] == "expect":
                result = await childio.settle_and_check(
                    clients,
                    applied=lambda c: c.applied,
                    start=lambda c: c.start,
                    topic=lambda c: c.spec["topic"],
                    topics=command["topics"],
                    within=command["within"],
                )
                result["server_duplicates"] = sum(c.server_duplicates() for c in clients)
                childio.write({"type": "result", **result})
    finally:
        await asyncio.gather(*(c.client.close() for c in clients), return_exceptions=True)


def main() -> None:
    raise_nofile_limit()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
