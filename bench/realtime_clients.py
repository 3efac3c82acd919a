"""Client processes of the realtime benchmark: thousands of picows sockets per process.

Each socket subscribes to one channel, then for every event records receive time minus
the event's `committed_at` (same machine clock) and the event's `seq`. When the parent
sends what was committed (the seqs each topic must see), the process waits until every
socket has them all (or a deadline passes) and reports, exactly, what was lost, repeated,
out of order or not meant for that socket.

The parent talks to a process over a `multiprocessing` pipe:
  child → ("ready", {...})          every socket is subscribed (or failed)
  parent → ("expect", {topic: [seq, ...]}, settle_seconds)
  child → ("result", {...})         counts and the latencies (array of doubles, as bytes)
  parent → ("reset",)               forget what was received (the next step of a sweep)
  child → ("reset", {"sockets": n})
  parent → ("stop",)
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import signal
import time
from array import array
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

CONNECT_CONCURRENCY = 64
CONNECT_ATTEMPTS = 5
PONG = b'{"type":"pong"}'


def raise_nofile_limit() -> int:
    """Raise this process's open-files limit to the hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Totals:
    """What one process observed, across its sockets."""

    def __init__(self) -> None:
        self.latencies_ms = array("d")
        self.received_at = array("d")  # receive times, for the latency timeline
        self.disconnects = 0
        self.errors: list[str] = []
        self.pings = 0
        self.ping_times: list[float] = []  # when server pings arrived (first and last kept)


class Feed(WSListener):
    """One benchmark socket on one channel."""

    def __init__(self, totals: Totals, channel: str, topic: str) -> None:
        super().__init__()
        self.totals = totals
        self.channel = channel
        self.topic = topic
        self.seqs = array("q")
        self.last_seq = 0
        self.out_of_order = 0
        self.close_code: int | None = None
        self.subscribed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: WSTransport | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        request = {"type": "subscribe", "ref": "1", "channel": self.channel}
        transport.send(WSMsgType.TEXT, orjson.dumps(request))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT:
            received = time.time()
            message = orjson.loads(frame.get_payload_as_memoryview())
            if message["type"] == "event":
                seq = message["seq"]
                if seq > self.last_seq:
                    self.last_seq = seq
                else:
                    self.out_of_order += 1
                self.seqs.append(seq)
                committed = datetime.fromisoformat(message["committed_at"]).timestamp()
                self.totals.latencies_ms.append((received - committed) * 1000.0)
                self.totals.received_at.append(received)
            elif message["type"] == "subscribed":
                if not self.subscribed.done():
                    self.subscribed.set_result(int(message["head"]))
            elif message["type"] == "ping":
                self.totals.pings += 1
                times = self.totals.ping_times
                if len(times) < 2:
                    times.append(received)
                else:
                    times[1] = received
                transport.send(WSMsgType.TEXT, PONG)
            else:  # error, reset: neither may happen in the benchmark
                self.totals.errors.append(frame.get_payload_as_utf8_text()[:300])
                if not self.subscribed.done():
                    self.subscribed.set_exception(RuntimeError(message.get("error", "error")))
        elif kind == WSMsgType.CLOSE:
            self.close_code = frame.get_close_code().value
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.totals.disconnects += 1
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(f"closed ({self.close_code})"))


async def open_feed(
    url: str, source: str, totals: Totals, channel: str, topic: str, token: str | None
) -> Feed:
    """Connect from `source` (a loopback address) and subscribe; retries a few times."""
    full_url = f"{url}?token={token}" if token else url
    for attempt in range(CONNECT_ATTEMPTS):
        try:
            _, listener = await ws_connect(
                lambda: Feed(totals, channel, topic),
                full_url,
                local_addr=(source, 0),
                websocket_handshake_timeout=60,
            )
            assert isinstance(listener, Feed)
            async with asyncio.timeout(60):
                await listener.subscribed
            return listener
        except (OSError, TimeoutError, ConnectionError, RuntimeError):
            if attempt == CONNECT_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def compare(feed: Feed, expected: array[int] | None) -> dict[str, int]:
    """Exact delivery figures of one socket against the seqs its topic must see."""
    received = set(feed.seqs)
    wanted = set(expected or ())
    return {
        "expected": len(wanted),
        "delivered": len(feed.seqs),
        "lost": len(wanted - received),
        "unexpected": len(received - wanted),
        "duplicates": len(feed.seqs) - len(received),
        "out_of_order": feed.out_of_order,
    }


async def serve(pipe: Connection, config: dict[str, Any]) -> None:
    """Connect every socket of this process, report, then answer the parent."""
    totals = Totals()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.monotonic()

    async def one(spec: tuple[str, str, str | None]) -> Feed | BaseException:
        channel, topic, token = spec
        async with limit:
            try:
                return await open_feed(
                    config["url"], config["source"], totals, channel, topic, token
                )
            except Exception as exc:
                return exc

    outcomes = await asyncio.gather(*(one(spec) for spec in config["sockets"]))
    feeds = [outcome for outcome in outcomes if isinstance(outcome, Feed)]
    failures = [repr(outcome) for outcome in outcomes if not isinstance(outcome, Feed)]
    pipe.send(
        (
            "ready",
            {
                "connected": len(feeds),
                "failed": len(failures),
                "failures": failures[:5],
                "connect_s": round(time.monotonic() - started, 3),
                "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            },
        )
    )
    while True:
        command = await asyncio.to_thread(pipe.recv)
        if command[0] == "stop":
            break
        if command[0] == "expect":
            _, by_topic, settle = command
            expected = {topic: array("q", seqs) for topic, seqs in by_topic.items()}
            pipe.send(("result", await settle_and_count(feeds, expected, totals, settle)))
        elif command[0] == "reset":
            # The order check goes on across steps (last_seq stays); the counts start over.
            for feed in feeds:
                feed.seqs = array("q")
                feed.out_of_order = 0
            totals.latencies_ms = array("d")
            totals.received_at = array("d")
            totals.errors = []
            pipe.send(("reset", {"sockets": len(feeds), "disconnects": totals.disconnects}))
    for feed in feeds:
        if feed.transport is not None:
            with contextlib.suppress(Exception):
                feed.transport.disconnect()


async def settle_and_count(
    feeds: list[Feed], expected: dict[str, array[int]], totals: Totals, settle: float
) -> dict[str, Any]:
    """Wait until every socket has at least what it should (or `settle` s), then count."""
    deadline = time.monotonic() + settle
    waited_from = time.monotonic()

    def incomplete() -> int:
        return sum(1 for f in feeds if len(f.seqs) < len(expected.get(f.topic, ())))

    while incomplete() and time.monotonic() < deadline:  # noqa: ASYNC110 - polls sockets
        await asyncio.sleep(0.05)
    settled_s = time.monotonic() - waited_from
    figures = dict.fromkeys(
        ("expected", "delivered", "lost", "unexpected", "duplicates", "out_of_order"), 0
    )
    for feed in feeds:
        for key, value in compare(feed, expected.get(feed.topic)).items():
            figures[key] += value
    return {
        **figures,
        "sockets": len(feeds),
        "incomplete_sockets": incomplete(),
        "settle_s": round(settled_s, 3),
        "disconnects": totals.disconnects,
        "server_pings": totals.pings,
        "server_ping_times": totals.ping_times,
        "errors": totals.errors[:5],
        "latencies": totals.latencies_ms.tobytes(),
        "received_at": totals.received_at.tobytes(),
    }


def main(pipe: Connection, config: dict[str, Any]) -> None:
    """Process entry point (multiprocessing target)."""
    # A Ctrl-C reaches the whole process group: the parent decides when we stop (it sends
    # "stop", then terminates what is left), so a blocked pipe read cannot hang us here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_nofile_limit()
    from bench.common import run

    try:
        run(serve(pipe, config))
    except KeyboardInterrupt:
        pass
    finally:
        pipe.close()
