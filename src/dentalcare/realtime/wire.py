"""Writing to one client socket: a non-blocking `push` for live events, with a bound.

Under uvicorn's default WebSocket implementation (websockets' sans-I/O protocol) the hub
writes each event's ready-made frame straight onto the socket's transport: one
`transport.write` per socket and event, no task switch, no per-socket encoding or
compression. What the kernel does not take waits in the transport's buffer; once that
backlog passes `limit` bytes the client is too slow and the socket is closed with 4008.

Any other ASGI server gets `AsgiSocket`: a bounded queue drained by a writer task
through the ordinary ASGI `send`; slower, same behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket

from dentalcare.realtime.events import Encoded

log = logging.getLogger(__name__)

try:  # the default WebSocket protocol of uvicorn[standard]
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn without websockets
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

SHUTDOWN = 1001
TOO_SLOW = 4008
# Too many messages on one socket (after `error` replies), or too many sockets from one
# address: reconnect after a back-off of some seconds.
RATE_LIMITED = 4029


class Socket:
    """A client socket as the hub sees it."""

    closed: bool = False

    def push(self, message: Encoded) -> None:
        """Queue `message` without waiting; a backlog over the bound closes with 4008."""
        raise NotImplementedError

    def push_many(self, messages: list[Encoded]) -> None:
        """`push` several messages at once, in order."""
        for message in messages:
            self.push(message)

    async def send(self, message: Encoded) -> None:
        """Queue `message`, then wait until the backlog is small again (replies, replay)."""
        raise NotImplementedError

    async def send_many(self, messages: list[Encoded]) -> None:
        """`send` several messages at once, in order (a slice of a replay)."""
        for message in messages:
            await self.send(message)

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame now, whatever is still queued before it."""
        raise NotImplementedError


def attach(
    websocket: WebSocket, *, limit: int, drain_timeout: float, on_overflow: Callable[[], None]
) -> Socket:
    """The fastest `Socket` for an accepted `websocket` on the server it runs on."""
    protocol = getattr(getattr(websocket, "_receive", None), "__self__", None)
    if WebSocketsSansIOProtocol is not None and isinstance(protocol, WebSocketsSansIOProtocol):
        return TransportSocket(
            protocol, limit=limit, drain_timeout=drain_timeout, on_overflow=on_overflow
        )
    return AsgiSocket(websocket, limit=limit, drain_timeout=drain_timeout, on_overflow=on_overflow)


class TransportSocket(Socket):
    """Frames written directly to the transport of uvicorn's sans-I/O WebSocket protocol."""

    def __init__(
        self,
        protocol: Any,
        *,
        limit: int,
        drain_timeout: float,
        on_overflow: Callable[[], None],
        close_grace: float = 5.0,
    ) -> None:
        self._protocol = protocol
        self._transport: asyncio.Transport = protocol.transport
        self._limit = limit
        self._drain_timeout = drain_timeout
        self._on_overflow = on_overflow
        self._close_grace = close_grace
        self._uvicorn_shutdown = protocol.shutdown
        # uvicorn closes every socket with 1012 before the application hears of the
        # shutdown; the contract promises 1001 ("reconnect with since").
        protocol.shutdown = self._shutdown

    def push(self, message: Encoded) -> None:
        """Write the frame; close with 4008 when the backlog passes the bound."""
        transport = self._transport
        if self.closed or transport.is_closing():
            return
        transport.write(message.frame)
        if transport.get_write_buffer_size() > self._limit:
            self._on_overflow()

    def push_many(self, messages: list[Encoded]) -> None:
        """Write several frames with one system call."""
        if len(messages) == 1:
            self.push(messages[0])
            return
        transport = self._transport
        if self.closed or transport.is_closing():
            return
        transport.write(b"".join([message.frame for message in messages]))
        if transport.get_write_buffer_size() > self._limit:
            self._on_overflow()

    async def send(self, message: Encoded) -> None:
        """Write the frame, then wait for the transport to drain below its low-water mark."""
        self.push(message)
        await self._drained()

    async def send_many(self, messages: list[Encoded]) -> None:
        """Write the frames with one system call, then wait as `send` does."""
        self.push_many(messages)
        await self._drained()

    async def _drained(self) -> None:
        writable: asyncio.Event = self._protocol.writable
        if writable.is_set() or self.closed:
            return
        try:
            async with asyncio.timeout(self._drain_timeout):
                await writable.wait()
        except TimeoutError:
            self._on_overflow()

    def close(self, code: int, reason: str = "") -> None:
        """Queue a close frame behind what is buffered, without waiting for room (as uvicorn
        would), and abort the connection if the client has not answered within the grace."""
        if self.closed:
            return
        self.closed = True
        protocol = self._protocol
        if protocol.close_sent or self._transport.is_closing():
            return
        protocol.conn.send_close(code, reason)
        self._transport.write(b"".join(protocol.conn.data_to_send()))
        protocol.close_sent = True
        protocol.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        if protocol.read_paused:
            protocol.read_paused = False
            self._transport.resume_reading()
        protocol.close_timer = protocol.loop.call_later(self._close_grace, self._transport.abort)

    def _shutdown(self) -> None:
        if self.closed or not self._protocol.handshake_complete:
            self._uvicorn_shutdown()
            return
        self._protocol.stop_keepalive()
        self.close(SHUTDOWN, "server shutting down")
        self._transport.close()


class AsgiSocket(Socket):
    """A bounded queue drained through ASGI `send` by one writer task (any ASGI server)."""

    def __init__(
        self,
        websocket: WebSocket,
        *,
        limit: int,
        drain_timeout: float,
        on_overflow: Callable[[], None],
    ) -> None:
        self._websocket = websocket
        self._limit = limit
        self._drain_timeout = drain_timeout
        self._on_overflow = on_overflow
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._writer = asyncio.create_task(self._write_queued())
        self._closer: asyncio.Task[None] | None = None

    def push(self, message: Encoded) -> None:
        """Append the payload to the queue; close with 4008 when it passes the bound."""
        if self.closed:
            return
        self._queue.append(message.payload)
        self._queued_bytes += len(message.payload)
        self._drained.clear()
        self._wake.set()
        if self._queued_bytes > self._limit:
            self._on_overflow()

    async def send(self, message: Encoded) -> None:
        """Append the payload, then wait until the queue is empty."""
        self.push(message)
        try:
            async with asyncio.timeout(self._drain_timeout):
                await self._drained.wait()
        except TimeoutError:
            self._on_overflow()

    def close(self, code: int, reason: str = "") -> None:
        """Stop writing and close the socket with `code`."""
        if self.closed:
            return
        self.closed = True
        self._writer.cancel()
        self._drained.set()
        self._closer = asyncio.create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._drain_timeout):
                await self._websocket.close(code, reason)

    async def _write_queued(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    payload = self._queue.popleft()
                    await self._websocket.send_text(payload.decode())
                    self._queued_bytes -= len(payload)
                self._drained.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the client went away mid-write
            log.debug("realtime socket write failed: %r", exc)
            self.closed = True
            self._drained.set()
