"""A client process that floods the realtime service with replays from one socket.

It resubscribes a channel with `since` in a loop, as fast as the server answers: each
round is a `subscribe` with `since` followed by a `ping`, and the round ends with the
`pong` (the server answers a socket's messages in order, so the pong comes after the
whole replay, or its `reset`, or its `error`); IN_FLIGHT rounds are kept in flight. When
the server closes the socket it opens another at once and goes on: one socket at a time.
picows, and replies told apart by their first bytes: the flooder's own CPU (on the same
two cores as the server) stays small.

    parent → {"url": ws, "channel": "availability", "since": 0 | "longest", "behind": n}
    parent → {"type": "start"}   child → {"type": "flooding"} (after the first round)
    parent → {"type": "pause"}   child → {"type": "paused", "rounds": n, ...}
    parent → {"type": "report"}  child → {"type": "report", "rounds": n, ...} (flooding on)
    parent → {"type": "stop"}
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import orjson
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from tests.faults import childio

PING = b'{"type":"ping"}'
IN_FLIGHT = 8  # rounds sent ahead of their answers
KINDS = {
    kind: b'{"type":"' + kind.encode() + b'"'
    for kind in ("event", "pong", "error", "reset", "subscribed", "ping")
}


class FloodSocket(WSListener):
    """One flooding socket."""

    def __init__(self, flooder: Flooder) -> None:
        super().__init__()
        self.flooder = flooder
        self.request = flooder.request(0)

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.flooder.since == "longest":  # learn the head first
            plain = {"type": "subscribe", "channel": self.flooder.channel}
            transport.send(WSMsgType.TEXT, orjson.dumps(plain))
        else:
            self._go(transport)

    def _go(self, transport: WSTransport) -> None:
        for _ in range(IN_FLIGHT):
            self._round(transport)

    def _round(self, transport: WSTransport) -> None:
        transport.send(WSMsgType.TEXT, self.request)
        transport.send(WSMsgType.TEXT, PING)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            self.flooder.closes[str(frame.get_close_code())] += 1
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        start = bytes(frame.get_payload_as_memoryview()[:20])
        kind = next((k for k, prefix in KINDS.items() if start.startswith(prefix)), "other")
        flooder = self.flooder
        flooder.replies[kind] += 1
        if kind == "pong":
            flooder.rounds += 1
            flooder.first_round.set()
            self._round(transport)
        elif kind == "subscribed" and flooder.since == "longest" and self.request == b"":
            head = int(orjson.loads(frame.get_payload_as_bytes())["head"])
            self.request = flooder.request(head)
            self._go(transport)


class Flooder:
    """The flood, one socket after another, and what came back."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.url: str = config["url"]
        self.channel: str = config["channel"]
        # A number, or "longest": as far back as an anonymous replay may reach (`behind`
        # positions before the head, learnt from each socket's first reply).
        self.since: int | str = config["since"]
        self.behind: int = config.get("behind", 0)
        self.rounds = 0
        self.connections = 0
        self.replies: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        self.first_round = asyncio.Event()

    def request(self, head: int) -> bytes:
        """The flooding `subscribe` (empty until the head is known, for "longest")."""
        if self.since == "longest":
            if head == 0:
                return b""
            since = max(0, head - self.behind)
        else:
            since = int(self.since)
        return orjson.dumps({"type": "subscribe", "channel": self.channel, "since": since})

    async def run(self) -> None:
        """Flood until cancelled."""
        while True:
            try:
                transport, _ = await ws_connect(lambda: FloodSocket(self), self.url)
            except Exception as exc:  # refused, reset, timed out: try again at once
                self.closes[type(exc).__name__] += 1
                await asyncio.sleep(0.01)
                continue
            self.connections += 1
            try:
                await transport.wait_disconnected()
            finally:
                transport.disconnect()

    def report(self) -> dict[str, Any]:
        """What happened so far."""
        return {
            "rounds": self.rounds,
            "connections": self.connections,
            "replies": dict(self.replies),
            "closes": dict(self.closes),
        }


async def serve() -> None:
    flooder = Flooder(await childio.read())
    task: asyncio.Task[None] | None = None
    try:
        while True:
            command = await childio.read()
            if command["type"] == "stop":
                break
            if command["type"] == "start" and task is None:
                flooder.first_round.clear()
                task = asyncio.create_task(flooder.run())
                await flooder.first_round.wait()
                childio.write({"type": "flooding", **flooder.report()})
            elif command["type"] == "pause" and task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                task = None
                childio.write({"type": "paused", **flooder.report()})
            elif command["type"] == "report":
                childio.write({"type": "report", **flooder.report()})
    finally:
        if task is not None:
            task.cancel()


if __name__ == "__main__":
    asyncio.run(serve())
