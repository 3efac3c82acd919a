"""A client process of the reconnect storm: a thousand or more picows sockets.

Each socket follows one channel with the SDK's resume rule in its smallest form: it
remembers the seq of the last event it applied, drops any event at or below it, and when
its socket drops it reconnects at once (no backoff: the worst case) to the other service
with `since` = that seq. It records when it lost the socket and when the `subscribed`
reply of the new one arrived.

    parent → {"urls": [ws, ws], "source": "127.0.0.x", "clients": [{channel, topic, token}]}
    child  → {"type": "ready", "connected": n, "failed": n, "failures": [...], "starts": [...]}
    parent → {"type": "status"}  → {"type": "status", "resubscribed": n, "dropped": n, ...}
    parent → {"type": "expect", "topics": {...}, "within": s}
    child  → {"type": "result", "figures": {...}, "problems": [...], "times": [[lost, back]]}
    parent → {"type": "stop"}
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from collections.abc import Callable
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from tests.faults import childio
from tests.faults.support import raise_nofile_limit

FIRST_CONNECT_CONCURRENCY = 64
ATTEMPTS = 20
PONG = b'{"type":"pong"}'


class Feed(WSListener):
    """One socket on one channel, resumable by seq."""

    def __init__(self, fleet: Fleet, spec: dict[str, Any]) -> None:
        super().__init__()
        self.fleet = fleet
        self.spec = spec
        self.applied = array("q")
        self.start: int | None = None
        self.last_seq: int | None = None
        self.server_duplicates = 0
        self.errors: list[str] = []
        self.connections = 0
        self.transport: WSTransport | None = None
        self.subscribed: asyncio.Future[None] = fleet.loop.create_future()
        self.lost_at: float | None = None
        self.back_at: float | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.connections += 1
        request: dict[str, Any] = {
            "type": "subscribe",
            "ref": str(self.connections),
            "channel": self.spec["channel"],
        }
        if self.last_seq is not None:
            request["since"] = self.last_seq
        transport.send(WSMsgType.TEXT, orjson.dumps(request))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type != WSMsgType.TEXT:
            return
        message = orjson.loads(frame.get_payload_as_memoryview())
        kind = message["type"]
        if kind == "event":
            seq = message["seq"]
            if self.last_seq is not None and seq <= self.last_seq:
                self.server_duplicates += 1
            else:
                self.applied.append(seq)
                self.last_seq = seq
        elif kind == "subscribed":
            if self.start is None:  # a fresh subscription starts after the head
                self.start = self.last_seq = int(message["head"])
            if self.lost_at is not None and self.back_at is None:
                self.back_at = time.monotonic()
            if not self.subscribed.done():
                self.subscribed.set_result(None)
        elif kind == "ping":
            transport.send(WSMsgType.TEXT, PONG)
        else:  # error, reset: neither may happen here
            self.errors.append(frame.get_payload_as_utf8_text()[:300])
            if not self.subscribed.done():
                self.subscribed.set_exception(RuntimeError(message.get("error", kind)))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError("closed before subscribed"))
        self.fleet.dropped(self)


class Fleet:
    """The sockets of this process."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.loop = asyncio.get_running_loop()
        self.urls: list[str] = config["urls"]
        self.source: str = config["source"]
        self.feeds = [Feed(self, spec) for spec in config["clients"]]
        self.reconnecting: set[asyncio.Task[None]] = set()
        self.reconnect_failures: list[str] = []
        self.attempts = 0
        self.go = asyncio.Event()  # reconnections wait for the parent's "go"
        self.go_at: float | None = None

    async def open(self, feed: Feed, url: str) -> None:
        """Connect `feed` to `url` and wait for `subscribed`, retrying a bounded number of
        times (a refused or reset attempt is retried at once, then after short pauses)."""
        token = feed.spec.get("token")
        full_url = f"{url}?token={token}" if token else url
        for attempt in range(ATTEMPTS):
            self.attempts += 1
            feed.subscribed = self.loop.create_future()
            try:
                await ws_connect(
                    lambda: feed,
                    full_url,
                    local_addr=(self.source, 0),
                    websocket_handshake_timeout=30,
                )
                async with asyncio.timeout(30):
                    await feed.subscribed
                return
            except Exception:
                if attempt == ATTEMPTS - 1:
                    raise
                if feed.transport is not None:
                    feed.transport.disconnect()
                await asyncio.sleep(0.05 * attempt)

    def dropped(self, feed: Feed) -> None:
        """A socket dropped: reconnect at once to the other service, with `since`."""
        if feed.lost_at is not None or feed.start is None:
            return  # a failed attempt of a reconnection (it retries), or a first connect
        feed.lost_at = time.monotonic()
        task = self.loop.create_task(self._reconnect(feed))
        self.reconnecting.add(task)
        task.add_done_callback(self.reconnecting.discard)

    async def _reconnect(self, feed: Feed) -> None:
        await self.go.wait()
        try:
            await self.open(feed, self.urls[1])
        except Exception as exc:
            self.reconnect_failures.append(repr(exc))

    def status(self) -> dict[str, Any]:
        return {
            "type": "status",
            "dropped": sum(1 for f in self.feeds if f.lost_at is not None),
            "go_at": self.go_at,
            "resubscribed": sum(1 for f in self.feeds if f.back_at is not None),
            "reconnect_failures": len(self.reconnect_failures),
            "failures": self.reconnect_failures[:5],
        }


async def serve() -> None:
    config = await childio.read()
    fleet = Fleet(config)
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
            if command["type"] == "status":
                childio.write(fleet.status())
            elif command["type"] == "go":
                fleet.go_at = time.monotonic()
                fleet.go.set()
                childio.write({"type": "going", "at": fleet.go_at})
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
                        "server_duplicates": sum(f.server_duplicates for f in fleet.feeds),
                        "errors": [e for f in fleet.feeds for e in f.errors][:5],
                        "times": [[f.lost_at, f.back_at] for f in fleet.feeds],
                        "attempts": fleet.attempts,
                    }
                )
    finally:
        for feed in fleet.feeds:
            if feed.transport is not None:
                with contextlib.suppress(Exception):
                    feed.transport.disconnect()


def main() -> None:
    raise_nofile_limit()
    loop_factory: Callable[[], asyncio.AbstractEventLoop]
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        loop_factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve())


if __name__ == "__main__":
    main()
