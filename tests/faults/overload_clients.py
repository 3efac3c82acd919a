"""A client process of the overload test: the storm test's sockets, timing every event.

Each socket follows one channel and applies events by seq (storm_clients.Feed); this one
also records, for every event, when it was committed and its commit→client latency, and it
never reconnects: a dropped socket stays dropped and is counted.

    parent → {"source": "127.0.0.x", "urls": [ws, ws], "clients": [{channel, topic, token}]}
    child  → {"type": "ready", "connected": n, "failed": n, "failures": [...], "starts": [...]}
    parent → {"type": "latency", "windows": [[from, to], ...]}  (commit times, epoch s)
    child  → {"type": "latency", "windows": [{"n", "p50", "p99", "max"}, ...], "dropped": n}
    parent → {"type": "expect", "topics": {...}, "within": s}
    child  → {"type": "result", "figures": {...}, "problems": [...], "dropped": n, ...}
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from array import array
from datetime import datetime
from typing import Any

from picows import WSFrame, WSMsgType, WSTransport

from tests.faults import childio
from tests.faults.storm_clients import FIRST_CONNECT_CONCURRENCY, Feed, Fleet
from tests.faults.support import percentile, raise_nofile_limit

COMMITTED_AT = b'"committed_at":"'


class TimedFeed(Feed):
    """A storm-test socket that also times each event from its commit."""

    def __init__(self, fleet: Fleet, spec: dict[str, Any]) -> None:
        super().__init__(fleet, spec)
        self.committed = array("d")  # in seq order, so (nearly) sorted
        self.latency_ms = array("d")
        self.drops = 0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            payload = frame.get_payload_as_bytes()
            at = payload.find(COMMITTED_AT)
            if at >= 0:
                now = time.time()
                start = at + len(COMMITTED_AT)
                stamp = payload[start : payload.index(b'"', start)].decode()
                committed = datetime.fromisoformat(stamp).timestamp()
                self.committed.append(committed)
                self.latency_ms.append((now - committed) * 1e3)
        super().on_ws_frame(transport, frame)


class TimedFleet(Fleet):
    """The sockets of this process; a dropped one is counted, never reconnected."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__({**config, "clients": []})
        self.feeds = [TimedFeed(self, spec) for spec in config["clients"]]

    def dropped(self, feed: Feed) -> None:
        if feed.start is not None and isinstance(feed, TimedFeed):
            feed.drops += 1

    def windows(self, spans: list[list[float]]) -> list[list[float]]:
        """The latencies of the events committed within each [from, to) span."""
        out: list[list[float]] = [[] for _ in spans]
        for feed in self.feeds:
            assert isinstance(feed, TimedFeed)
            for index, (begin, end) in enumerate(spans):
                lo = bisect.bisect_left(feed.committed, begin)
                hi = bisect.bisect_left(feed.committed, end)
                out[index].extend(feed.latency_ms[lo:hi])
        return out

    def drops(self) -> int:
        return sum(f.drops for f in self.feeds if isinstance(f, TimedFeed))


def summary(latencies: list[float]) -> dict[str, float]:
    """How many events arrived in a window, and their latency's p50, p99 and max (ms)."""
    if not latencies:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(latencies)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 0.5),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
    }


async def serve() -> None:
    config = await childio.read()
    fleet = TimedFleet(config)
    limit = asyncio.Semaphore(FIRST_CONNECT_CONCURRENCY)

    async def first(feed: Feed) -> str | None:
        async with limit:
            try:
                await fleet.open(feed, fleet.urls[0])
            except Exception as exc:
                return repr(exc)
            return None

    failures = [f for f in await asyncio.gather(*(first(feed) for feed in fleet.feeds)) if f]
    childio.write(
        {
            "type": "ready",
            "connected": len(fleet.feeds) - len(failures),
            "failed": len(failures),
            "failures": failures[:5],
            "starts": [feed.start for feed in fleet.feeds],
        }
    )
    try:
        while True:
            command = await childio.read()
            if command["type"] == "stop":
                break
            if command["type"] == "latency":
                windows = [summary(w) for w in fleet.windows(command["windows"])]
                childio.write({"type": "latency", "windows": windows, "dropped": fleet.drops()})
            elif command["type"] == "expect":
                result = await childio.settle_and_check(
                    fleet.feeds,
                    applied=lambda f: f.applied,
                    start=lambda f: f.start or 0,
                    topic=lambda f: f.spec["topic"],
                    topics=command["topics"],
                    within=command["within"],
                )
                childio.write(
                    {
                        "type": "result",
                        **result,
                        "dropped": fleet.drops(),
                        "server_duplicates": sum(f.server_duplicates for f in fleet.feeds),
                        "errors": [e for f in fleet.feeds for e in f.errors][:5],
                    }
                )
    finally:
        for feed in fleet.feeds:
            if feed.transport is not None:
                with contextlib.suppress(Exception):
                    feed.transport.disconnect()


def main() -> None:
    raise_nofile_limit()
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve())


if __name__ == "__main__":
    main()
