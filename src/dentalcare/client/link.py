"""The socket under the client: opening it, and messages that expect a reply.

Requests carry a fresh `ref` and are answered by the reply echoing it; `ping`s are answered
by `pong`s in order. A reply is never waited for on the task that reads the socket (a
callback calling `unsubscribe()` would otherwise wait for itself).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from dentalcare.client.events import RealtimeError

CONNECT_ERRORS = (OSError, TimeoutError, InvalidHandshake, InvalidURI)


def realtime_url(base_url: str) -> str:
    """The WebSocket URL of `/api/realtime` for an `http(s)://` or `ws(s)://` base URL."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss"):
        raise ValueError(f"use an http(s):// or ws(s):// base URL, not {base_url!r}")
    path = parts.path.rstrip("/") + "/api/realtime"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


async def open_socket(
    url: str, token: str | None, *, open_timeout: float, options: Mapping[str, Any]
) -> ClientConnection:
    """Open the realtime socket (the token, if any, goes in the query string)."""
    if token:
        url += "?" + urlencode({"token": token})
    settings: dict[str, Any] = {
        "open_timeout": open_timeout,
        "close_timeout": 2,
        "compression": None,  # the server sends plain frames
        **options,
    }
    return await ws_connect(url, **settings)


def lost(code: int | None) -> RealtimeError:
    """The error of a request whose socket closed before the reply."""
    return RealtimeError("ConnectionLost", f"the socket closed ({code})", code=code)


def retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a failure as seen, so an un-awaited future does not warn when collected."""
    if not future.cancelled():
        future.exception()


@dataclass(slots=True)
class Request:
    """A message awaiting its reply."""

    kind: str
    channel: str | None
    since: int | None
    reply: asyncio.Future[dict[str, Any]]


class Link:
    """The current socket (if any), its pending requests and its pings."""

    def __init__(self, *, request_timeout: float) -> None:
        self.request_timeout = request_timeout
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.pongs_received = 0
        self._requests: dict[str, Request] = {}
        self._pings: deque[asyncio.Future[None] | None] = deque()
        self._refs = 0

    def attach(self, ws: ClientConnection, reader: asyncio.Task[None]) -> None:
        """A new socket and the task reading it."""
        self.ws = ws
        self.reader = reader

    def detach(self, code: int | None) -> None:
        """The socket is gone: every pending request and ping fails."""
        self.ws = None
        self.reader = None
        pings, self._pings = self._pings, deque()
        for pong in pings:
            if pong is not None and not pong.done():
                pong.set_exception(lost(code))
        requests, self._requests = self._requests, {}
        for request in requests.values():
            if not request.reply.done():
                request.reply.set_exception(lost(code))

    def on_reader(self) -> bool:
        """Whether the caller runs on the task that reads the socket (callbacks do)."""
        return self.reader is not None and asyncio.current_task() is self.reader

    async def send(self, message: dict[str, Any]) -> None:
        """Send one message; RealtimeError("ConnectionLost") when there is no open socket."""
        ws = self.ws
        if ws is None:
            raise lost(None)
        try:
            await ws.send(orjson.dumps(message).decode())
        except ConnectionClosed as exc:
            raise lost(ws.close_code) from exc

    async def request(self, message: dict[str, Any], *, wait: bool = True) -> dict[str, Any]:
        """Send `message` with a fresh `ref`; its reply (not waited for unless `wait` and
        off the reading task: then `{}`). An `error` reply raises RealtimeError."""
        self._refs += 1
        ref = str(self._refs)
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        reply.add_done_callback(retrieve)
        self._requests[ref] = Request(
            message["type"], message.get("channel"), message.get("since"), reply
        )
        try:
            await self.send({**message, "ref": ref})
        except RealtimeError:
            self._requests.pop(ref, None)
            raise
        if not wait or self.on_reader():
            return {}
        async with asyncio.timeout(self.request_timeout):
            return await asyncio.shield(reply)

    def take(self, ref: Any) -> Request | None:
        """The request a reply answers (forgotten from now on)."""
        return self._requests.pop(str(ref), None)

    async def ping(self, pong: asyncio.Future[None] | None = None) -> None:
        """Send a `ping`; `pong` (if given) resolves when its answer arrives."""
        self._pings.append(pong)
        await self.send({"type": "ping"})

    async def round_trip(self) -> float:
        """Seconds until the `pong` of a new `ping` (it comes after every message the
        server had already written to this socket)."""
        loop = asyncio.get_running_loop()
        pong: asyncio.Future[None] = loop.create_future()
        pong.add_done_callback(retrieve)
        started = loop.time()
        await self.ping(pong)
        async with asyncio.timeout(self.request_timeout):
            await asyncio.shield(pong)
        return loop.time() - started

    def on_pong(self) -> None:
        """A `pong` arrived: it answers the oldest unanswered ping."""
        self.pongs_received += 1
        if self._pings:
            pong = self._pings.popleft()
            if pong is not None and not pong.done():
                pong.set_result(None)
