"""Writing to one client socket: a non-blocking `push` for live events, with a bound.

Under uvicorn's default WebSocket implementation (websockets' sans-I/O protocol) the hub
writes each event's ready-made frame straight onto the socket's transport: one
`transport.write` (one system call) per socket and listener round, carrying every event of
that round for the socket; no task switch, no per-socket encoding or compression. What
the kernel does not take waits in the transport's buffer; once that backlog passes
`limit` bytes the client is too slow and the socket is closed with 4008.

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
from dentalcare.realtime.frames import frame_payload

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

    def write_frame(self, frame: bytes) -> None:
        """Queue one frame without waiting; a backlog over the bound closes with 4008."""
        raise NotImplementedError

    def write_frames(self, frames: list[bytes]) -> None:
        """`write_frame` several frames at once, in order."""
        for frame in frames:
            self.write_frame(frame)

    def push(self, message: Encoded) -> None:
        """Queue `message` without waiting (as `write_frame`)."""
        self.write_frame(message.frame)

    async def send(self, message: Encoded) -> None:
        """Queue `message`, then wait until the backlog is small again (replies, replay)."""
        await self.send_frames([message.frame])

    async def send_frames(self, frames: list[bytes]) -> None:
        """Queue several frames at once, in order, then wait as `send` does (a replay slice)."""
        raise NotImplementedError

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame now, whatever is still queued before it."""
        raise NotImplementedError

    def release(self) -> None:  # noqa: B027 - nothing to drop by default
        """The session is over: drop what ties this socket to its connection (the references
        both ways would otherwise make a cycle that only a full collection frees)."""


def _ignore() -> None:
    pass


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
        protocol.connection_lost = self._connection_lost

    def write_frame(self, frame: bytes) -> None:
        """Write the frame; close with 4008 when the backlog passes the bound."""
        transport = self._transport
        if self.closed or transport.is_closing():
            return
        transport.write(frame)
        if transport.get_write_buffer_size() > self._limit:
            self._on_overflow()

    def write_frames(self, frames: list[bytes]) -> None:
        """Write several frames with one system call."""
        self.write_frame(frames[0] if len(frames) == 1 else b"".join(frames))

    async def send_frames(self, frames: list[bytes]) -> None:
        """Write the frames with one system call, then wait for the transport to drain
        below its low-water mark."""
        self.write_frames(frames)
        await self._drained()

    def release(self) -> None:
        """Hand shutdown back to uvicorn and forget the connection's overflow callback."""
        self._on_overflow = _ignore
        with contextlib.suppress(AttributeError):
            del self._protocol.shutdown  # the instance attribute set in __init__

    def _connection_lost(self, exc: Exception | None) -> None:
        protocol = self._protocol
        del protocol.connection_lost  # back to uvicorn's own, which runs now
        protocol.connection_lost(exc)
        # websockets' parser is a generator that holds its protocol: a reference cycle that
        # would keep the socket's objects (frozen ones for good: heap.py) until a full
        # collection. Nothing parses once the connection is gone.
        protocol.conn.parser = None

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

    def write_frame(self, frame: bytes) -> None:
        """Append the frame's payload to the queue; close with 4008 when it passes the bound."""
        if self.closed:
            return
        payload = frame_payload(frame)
        self._queue.append(payload)
        self._queued_bytes += len(payload)
        self._drained.clear()
        self._wake.set()
        if self._queued_bytes > self._limit:
            self._on_overflow()

    async def send_frames(self, frames: list[bytes]) -> None:
        """Append the payloads, then wait until the queue is empty."""
        self.write_frames(frames)
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
