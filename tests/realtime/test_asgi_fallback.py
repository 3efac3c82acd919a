"""On a WebSocket implementation without a reachable transport, the ASGI path does the job."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, time

import asyncpg
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.fixtures.rows import make_appointment, make_dentist, make_user
from tests.fixtures.servers import RunningServer, make_app, serving
from tests.fixtures.waiting import wait_for
from tests.realtime.conftest import open_feed, tiny_receive_buffer


class HideTheTransport:
    """Middleware handing the app its own `receive`, as any other ASGI server would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def own_receive() -> Message:
            return await receive()

        await self.app(scope, own_receive, send)


@pytest.fixture
def asgi_server(database_url: str) -> Iterator[RunningServer]:
    """A server whose sockets go through plain ASGI sends, with a 64 KiB send bound."""
    app = make_app(database_url, ws_send_queue_bytes=65536)
    app.add_middleware(HideTheTransport)
    with serving(app) as running:
        yield running


async def test_events_flow_and_slow_consumers_are_closed_through_asgi(
    asgi_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    hub = asgi_server.app.state.realtime.hub
    async with open_feed(asgi_server, token_for(admin)) as feed:
        await feed.subscribe("appointments")
        first = await make_appointment(
            owner_conn, dentist_id=dentist["id"], on=date(2031, 8, 1), at=time(9)
        )
        [event] = await feed.events(1)
        assert event["record"]["id"] == str(first["id"])
        connection = next(iter(hub.connections))
        assert type(connection.socket).__name__ == "AsgiSocket"

    big = {field: "x" * 4000 for field in ("symptoms", "medical_history", "medications", "notes")}
    sock = tiny_receive_buffer(asgi_server)
    async with open_feed(
        asgi_server, token_for(admin), sock=sock, max_queue=1, compression=None
    ) as slow:
        await slow.subscribe("appointments")
        for n in range(300):
            await make_appointment(
                owner_conn,
                dentist_id=dentist["id"],
                on=date(2031, 8, 2 + n // 16),
                at=time(8 + n % 16 // 2, 30 * (n % 2)),
                **big,
            )
            if not hub.connections:
                break
        await wait_for(lambda: not hub.connections)
        assert await slow.close_code() == 4008
