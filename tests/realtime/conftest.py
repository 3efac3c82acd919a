"""Realtime test helpers: a JSON WebSocket client, the shared settings, tokens, slow readers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from dentalcare.config import Settings
from tests.fixtures.servers import RunningServer
from tests.fixtures.settings import make_settings
from tests.fixtures.tokens import user_token
from tests.fixtures.waiting import TIMEOUT


class Feed:
    """A realtime socket speaking JSON, with waits that time out instead of sleeping."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._refs = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def recv(self, within: float = TIMEOUT, *, pings: bool = False) -> dict[str, Any]:
        """The next message (server pings skipped unless `pings`)."""
        async with asyncio.timeout(within):
            while True:
                message: dict[str, Any] = orjson.loads(await self.ws.recv())
                if pings or message.get("type") != "ping":
                    return message

    async def subscribe(self, channel: str, since: int | None = None) -> dict[str, Any]:
        """Subscribe and return the `subscribed` reply (its `head`)."""
        self._refs += 1
        ref = str(self._refs)
        request: dict[str, Any] = {"type": "subscribe", "ref": ref, "channel": channel}
        if since is not None:
            request["since"] = since
        await self.send(request)
        reply = await self.recv()
        assert reply["type"] == "subscribed", reply
        assert reply["ref"] == ref and reply["channel"] == channel
        return reply

    async def events(self, count: int, within: float = TIMEOUT) -> list[dict[str, Any]]:
        """The next `count` messages, which must all be events."""
        out = []
        for _ in range(count):
            message = await self.recv(within)
            assert message["type"] == "event", message
            out.append(message)
        return out

    async def events_until(
        self, done: Callable[[dict[str, Any]], bool], within: float = TIMEOUT
    ) -> list[dict[str, Any]]:
        """Events up to and including the first one for which `done` is true."""
        out: list[dict[str, Any]] = []
        async with asyncio.timeout(within):
            while True:
                message = await self.recv(within)
                assert message["type"] == "event", message
                out.append(message)
                if done(message):
                    return out

    async def close_code(self, within: float = TIMEOUT) -> int | None:
        """Read until the server closes; its close code."""
        try:
            async with asyncio.timeout(within):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


@asynccontextmanager
async def open_feed(
    server: RunningServer | str, token: str | None = None, **options: Any
) -> AsyncIterator[Feed]:
    """A connected realtime socket (`server` or its http:// base URL)."""
    base = server if isinstance(server, str) else server.base_url
    url = "ws" + base.removeprefix("http") + "/api/realtime"
    if token is not None:
        url += f"?token={token}"
    async with connect(url, open_timeout=TIMEOUT, close_timeout=2, **options) as ws:
        yield Feed(ws)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """The settings every test server shares (same secret)."""
    return make_settings(database_url)


@pytest.fixture
def token_for(settings: Settings) -> Callable[[asyncpg.Record], str]:
    """An access token for a user row."""

    def make(user: asyncpg.Record) -> str:
        return user_token(settings, user)

    return make


def tiny_receive_buffer(server: RunningServer) -> socket.socket:
    """A connected client socket whose kernel receive buffer is tiny (a slow reader)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    return sock
