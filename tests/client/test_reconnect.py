"""Reconnecting: after a server restart, a dropped socket or an expired token, the client
resumes every channel by `seq` — nothing missed, nothing twice, in commit order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
from tests.client.conftest import ClientFactory, book, flush, ids
from tests.fixtures.rows import make_dentist, make_user
from tests.fixtures.servers import RestartableServer, RunningServer
from tests.fixtures.tokens import expiring_token, user_token
from tests.fixtures.waiting import wait_for

from dentalcare.client import RealtimeError, RealtimeEvent
from dentalcare.clock import ManualClock
from dentalcare.config import Settings

Records = list[dict[str, Any]]


async def test_a_server_restart_loses_nothing_and_repeats_nothing(
    restartable_server: RestartableServer,
    owner_conn: asyncpg.Connection,
    open_client: ClientFactory,
) -> None:
    server = restartable_server
    assert server.running is not None
    settings: Settings = server.running.app.state.settings
    patient, other = await make_user(owner_conn), await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    mine: Records = []
    slots: list[RealtimeEvent] = []
    closes: list[int | None] = []
    client = await open_client(
        server.base_url, user_token(settings, patient), on_disconnect=closes.append
    )
    await client.subscribe_to_appointments(patient["id"], "patient", on_created=mine.append)
    await client.subscribe_to_availability(dentist["id"], on_changed=slots.append)

    first = await book(owner_conn, dentist, patient)
    await wait_for(lambda: mine and slots)

    await asyncio.to_thread(server.stop)
    await wait_for(lambda: not client.connected)
    assert closes == [1001]  # "server shutting down: reconnect with since"
    # Committed while no server is running at all: only the log has them.
    missed = [await book(owner_conn, dentist, patient) for _ in range(3)]
    await book(owner_conn, dentist, other)

    running = await asyncio.to_thread(server.start)
    await wait_for(lambda: len(mine) == 4)
    after = await book(owner_conn, dentist, patient)
    await flush(running, owner_conn, client)

    assert ids(mine) == [first["id"], *(m["id"] for m in missed), after["id"]]
    assert len(slots) == 6  # one TAKEN per booking, the other patient's included
    seqs = [e.seq for e in slots]
    assert seqs == sorted(set(seqs))
    assert client.connection_count >= 2
    assert all(channel_seq is not None for channel_seq in client.positions().values())


async def test_a_dropped_socket_resumes_by_seq_whatever_the_interleaving(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    seen: Records = []
    client = await open_client(live_server.base_url, user_token(settings, admin))
    await client.subscribe_to_all_appointments(on_created=seen.append)
    booked = [await book(owner_conn, dentist)]
    await wait_for(lambda: seen)

    hub = live_server.app.state.realtime.hub

    def reconnected(times: int) -> Callable[[], bool]:
        return lambda: client.connection_count > times and client.connected

    for drop in (1, 2, 3):
        # The server gives up on the socket ("too slow": 4008) while bookings keep coming.
        for connection in list(hub.connections):
            if connection.principal and connection.principal.user_id == admin["id"]:
                connection.too_slow()
        booked += [await book(owner_conn, dentist) for _ in range(3)]
        await wait_for(reconnected(drop))
    booked.append(await book(owner_conn, dentist))
    await flush(live_server, owner_conn, client)

    assert ids(seen) == [b["id"] for b in booked]
    assert client.last_close_code == 4008


async def test_an_expired_token_waits_for_a_new_one_then_resumes(
    clocked_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    clock: ManualClock,
    open_client: ClientFactory,
) -> None:
    patient = await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    seen: Records = []
    errors: list[Exception] = []
    expiring, _ = expiring_token(settings, patient, seconds=1, now=clock.now())
    client = await open_client(clocked_server.base_url, expiring, on_error=errors.append)
    await client.subscribe_to_appointments(
        patient["id"], "patient", on_created=seen.append, on_error=errors.append
    )
    first = await book(owner_conn, dentist, patient)  # live, or replayed after the new token

    # At expiry the server closes with 4001; the client does not retry with a dead token.
    clock.advance(1)
    await wait_for(lambda: client.waiting_for_token)
    assert client.last_close_code == 4001
    assert [getattr(e, "error", None) for e in errors] == ["Unauthorized", "Unauthorized"]
    missed = await book(owner_conn, dentist, patient)
    assert client.connection_count == 1

    await client.set_token(user_token(settings, patient, now=clock.now()))
    await wait_for(lambda: len(seen) == 2)
    await flush(clocked_server, owner_conn, client)
    assert ids(seen) == [first["id"], missed["id"]]
    assert client.connection_count == 2


async def test_a_refreshed_token_keeps_the_same_socket_past_the_old_expiry(
    clocked_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    clock: ManualClock,
    open_client: ClientFactory,
) -> None:
    patient = await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    seen: Records = []
    expiring, expires = expiring_token(settings, patient, seconds=1, now=clock.now())
    client = await open_client(clocked_server.base_url, expiring)
    await client.subscribe_to_appointments(patient["id"], "patient", on_created=seen.append)

    # Answered by `authenticated`: the socket now lives as long as the new token.
    await client.set_token(user_token(settings, patient, now=clock.now()))
    clock.advance(expires + 0.5 - clock.now().timestamp())  # past the old token's expiry
    booked = await book(owner_conn, dentist, patient)
    await flush(clocked_server, owner_conn, client)

    assert ids(seen) == [booked["id"]]
    assert client.connection_count == 1 and client.connected


async def test_a_token_for_someone_else_is_refused_on_the_same_socket(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
) -> None:
    patient, other = await make_user(owner_conn), await make_user(owner_conn)
    client = await open_client(live_server.base_url, user_token(settings, patient))
    try:
        await client.set_token(user_token(settings, other))
    except RealtimeError as exc:
        assert exc.error == "Forbidden"
    else:
        raise AssertionError("switching users on one socket must be refused")
    assert client.connected
