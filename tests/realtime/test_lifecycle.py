"""Socket lifecycle: tokens (4001), keepalive and idle timeout, slow consumers (4008), 1001.

Token expiry and the idle timeout run on the server's clock: those tests give their server
a manual clock and move it, instead of waiting for the seconds to pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, time

import asyncpg

from dentalcare.clock import ManualClock
from dentalcare.config import Settings
from tests.fixtures.rows import make_appointment, make_dentist, make_user
from tests.fixtures.servers import RunningServer, caught_up, serve
from tests.fixtures.tokens import expiring_token, user_token
from tests.fixtures.waiting import wait_for
from tests.realtime.conftest import open_feed, tiny_receive_buffer


async def test_a_bad_token_closes_with_4001(live_server: RunningServer) -> None:
    async with open_feed(live_server, "not-a-token") as feed:
        assert await feed.close_code() == 4001


async def test_a_revoked_token_closes_with_4001(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    patient = await make_user(owner_conn)
    token = token_for(patient)
    await owner_conn.execute("UPDATE users SET disabled = true WHERE id = $1", patient["id"])
    async with open_feed(live_server, token) as feed:
        assert await feed.close_code() == 4001


async def test_the_socket_closes_with_4001_when_its_token_expires(
    database_url: str, owner_conn: asyncpg.Connection, settings: Settings, clock: ManualClock
) -> None:
    patient = await make_user(owner_conn)
    token, _ = expiring_token(settings, patient, seconds=2, now=clock.now())
    with serve(database_url, clock=clock) as server:
        async with open_feed(server, token) as feed:
            await feed.subscribe("appointments")
            clock.advance(1.9)
            await feed.send({"type": "ping"})
            assert await feed.recv() == {"type": "pong"}, "open until the token expires"
            clock.advance(0.1)
            assert await feed.close_code(within=5) == 4001


async def test_auth_replaces_the_token_and_extends_the_socket(
    database_url: str, owner_conn: asyncpg.Connection, settings: Settings, clock: ManualClock
) -> None:
    patient, stranger = await make_user(owner_conn), await make_user(owner_conn)
    token, expires = expiring_token(settings, patient, seconds=2, now=clock.now())
    with serve(database_url, clock=clock) as server:
        async with open_feed(server, token) as feed:
            fresh = user_token(settings, patient, now=clock.now())
            await feed.send({"type": "auth", "ref": "a1", "token": fresh})
            renewed = await feed.recv()
            assert renewed["type"] == "authenticated" and renewed["ref"] == "a1"
            assert renewed["expires_at"] > expires
            other = user_token(settings, stranger, now=clock.now())
            await feed.send({"type": "auth", "ref": "a2", "token": other})
            refused = await feed.recv()
            assert (refused["type"], refused["ref"], refused["error"]) == (
                "error",
                "a2",
                "Forbidden",
            )
            clock.advance(expires + 0.5 - clock.now().timestamp())  # past the first token
            await feed.send({"type": "ping"})
            assert await feed.recv() == {"type": "pong"}
            await feed.send({"type": "auth", "token": "garbage"})
            assert await feed.close_code() == 4001


async def test_an_anonymous_socket_may_log_in_with_auth(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    patient = await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    async with open_feed(live_server) as feed:
        await feed.send({"type": "auth", "token": token_for(patient)})
        assert (await feed.recv())["type"] == "authenticated"
        await feed.subscribe("appointments")
        await make_appointment(
            owner_conn,
            dentist_id=dentist["id"],
            on=date(2031, 5, 5),
            at=time(9),
            patient_id=patient["id"],
        )
        [event] = await feed.events(1)
        assert event["record"]["patient_id"] == str(patient["id"])


async def test_server_pings_and_silent_sockets_are_closed(
    database_url: str, clock: ManualClock
) -> None:
    # Pings go out every 50 ms of real time; silence is measured on the server's clock.
    with serve(
        database_url, clock=clock, ws_ping_seconds=0.05, ws_idle_timeout_seconds=1.0
    ) as server:
        async with open_feed(server) as silent, open_feed(server) as chatty:
            # The chatty client answers every ping for longer than the idle timeout
            # (5 x 0.3 s on the clock), never silent for longer than 0.3 s of it.
            pings = 0
            for _ in range(5):
                assert await chatty.recv(pings=True) == {"type": "ping"}
                pings += 1
                await chatty.send({"type": "pong"})
                clock.advance(0.3)
            assert pings >= 5
            assert await silent.close_code(within=3) == 1000
            await chatty.send({"type": "ping"})
            assert await chatty.recv() == {"type": "pong"}


async def test_removing_a_dentist_closes_their_sockets_with_4001(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    dentist = await make_dentist(owner_conn)
    login = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", dentist["user_id"])
    await caught_up(live_server, owner_conn)  # the dentist's creation is not what we wait for
    async with open_feed(live_server, token_for(login)) as feed, open_feed(live_server) as public:
        await feed.subscribe("appointments")
        await public.subscribe("dentists")
        await owner_conn.execute(
            "UPDATE dentists SET active = false, removed_at = now() WHERE id = $1", dentist["id"]
        )
        assert await feed.close_code() == 4001
        [removed] = await public.events(1)
        assert removed["record"]["active"] is False


async def test_a_client_that_cannot_keep_up_is_closed_with_4008(
    database_url: str,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    big = {field: "x" * 4000 for field in ("symptoms", "medical_history", "medications", "notes")}
    booking = await make_appointment(
        owner_conn, dentist_id=dentist["id"], on=date(2031, 6, 2), at=time(9), **big
    )
    with serve(database_url, ws_send_queue_bytes=1024) as server:
        hub = server.app.state.realtime.hub
        # A tiny receive buffer and no reading: the server's backlog grows past 1 KiB.
        sock = tiny_receive_buffer(server)
        async with open_feed(
            server, token_for(admin), sock=sock, max_queue=1, compression=None
        ) as feed:
            await feed.subscribe("appointments")
            # Each update is an event of ~40 KB (record and old record).
            for n in range(500):
                await owner_conn.execute(
                    "UPDATE appointments SET notes = $2 WHERE id = $1",
                    booking["id"],
                    f"{n:04d}" + "y" * 3996,
                )
                if not hub.connections:
                    break
            await wait_for(lambda: not hub.connections)
            assert await feed.close_code() == 4008


async def test_server_shutdown_closes_sockets_with_1001(database_url: str) -> None:
    with serve(database_url) as server:
        async with open_feed(server) as feed:
            await feed.subscribe("dentists")
            stopping = asyncio.create_task(asyncio.to_thread(server.stop))
            assert await feed.close_code() == 1001
            await stopping
