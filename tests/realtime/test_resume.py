"""`since`: replay then live, with no gap and no duplicate; `reset` once history is gone."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import date, time

import asyncpg

from tests.fixtures.rows import make_appointment, make_dentist, make_user
from tests.fixtures.servers import RunningServer, caught_up, serve
from tests.fixtures.waiting import wait_for
from tests.realtime.conftest import open_feed

_days = itertools.count(1)


def next_day() -> date:
    """A fresh day, so bookings never collide."""
    return date(2032, 1, 1).fromordinal(date(2032, 1, 1).toordinal() + next(_days))


async def book(
    conn: asyncpg.Connection, dentist: asyncpg.Record, **fields: object
) -> asyncpg.Record:
    """A booking on a fresh day."""
    return await make_appointment(
        conn, dentist_id=dentist["id"], on=next_day(), at=time(9), **fields
    )


async def test_reconnecting_with_since_gets_exactly_the_missed_events_once(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    patient, other = await make_user(owner_conn), await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    async with open_feed(live_server, token_for(patient)) as feed:
        await feed.subscribe("appointments")
        await book(owner_conn, dentist, patient_id=patient["id"])
        [seen] = await feed.events(1)
    last = seen["seq"]

    # While away: two of hers, one of someone else's, one cancellation of hers.
    missed_1 = await book(owner_conn, dentist, patient_id=patient["id"])
    await book(owner_conn, dentist, patient_id=other["id"])
    missed_2 = await book(owner_conn, dentist, patient_id=patient["id"])
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", missed_1["id"]
    )
    await caught_up(live_server, owner_conn)  # so the replay, not the live feed, brings them

    async with open_feed(live_server, token_for(patient)) as feed:
        reply = await feed.subscribe("appointments", since=last)
        assert reply["head"] > last
        replayed = await feed.events(3)
        assert [(e["record"]["id"], e["op"]) for e in replayed] == [
            (str(missed_1["id"]), "INSERT"),
            (str(missed_2["id"]), "INSERT"),
            (str(missed_1["id"]), "UPDATE"),
        ]
        assert all(e["seq"] <= reply["head"] for e in replayed)
        live = await book(owner_conn, dentist, patient_id=patient["id"])
        [after] = await feed.events(1)
        assert after["record"]["id"] == str(live["id"])
        assert after["seq"] > replayed[-1]["seq"]


async def test_replay_racing_live_writes_has_no_gap_and_no_duplicate(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    async with open_feed(live_server, token_for(admin)) as feed:
        start = (await feed.subscribe("dentists"))["head"]
    for _ in range(30):
        await book(owner_conn, dentist)

    stop = asyncio.Event()

    async def keep_writing() -> None:
        while not stop.is_set():
            await book(owner_conn, dentist)

    for _round in range(3):
        writer = asyncio.create_task(keep_writing())
        try:
            async with open_feed(live_server, token_for(admin)) as feed:
                await feed.subscribe("appointments", since=start)
                await feed.events(5)
                stop.set()
                await writer
                final = await book(owner_conn, dentist)
                received = await feed.events_until(
                    lambda e, final=final: e["record"]["id"] == str(final["id"])
                )
        finally:
            stop.set()
            await writer
        stop.clear()
        expected = await owner_conn.fetch(
            "SELECT seq FROM realtime_events WHERE table_name = 'appointments' AND seq > $1"
            " ORDER BY seq",
            start,
        )
        got = [e["seq"] for e in received]
        # The first five were read before collecting: together, exactly the log, once each.
        assert len(got) + 5 == len(expected)
        assert got == [r["seq"] for r in expected][5:]


async def test_since_at_head_or_ahead_replays_nothing(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    await book(owner_conn, dentist)
    latest = await caught_up(live_server, owner_conn)
    async with open_feed(live_server, token_for(admin)) as feed:
        head = (await feed.subscribe("appointments"))["head"]
    assert head == latest
    async with open_feed(live_server, token_for(admin)) as feed:
        assert (await feed.subscribe("appointments", since=head))["head"] == head
        fresh = await book(owner_conn, dentist)
        [event] = await feed.events(1)
        assert event["record"]["id"] == str(fresh["id"])
        # A position this database never reached: the client must refetch.
        await feed.send({"type": "subscribe", "ref": "far", "channel": "dentists", "since": 10**12})
        assert (await feed.recv())["type"] == "subscribed"
        assert await feed.recv() == {
            "type": "reset",
            "channel": "dentists",
            "reason": "history_expired",
        }


async def test_since_older_than_retained_history_gets_reset_then_live(
    database_url: str,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    first = await book(owner_conn, dentist)
    old_seq = await owner_conn.fetchval(
        "SELECT seq FROM realtime_events WHERE record->>'id' = $1", str(first["id"])
    )
    await book(owner_conn, dentist)
    await book(owner_conn, dentist)
    # Retention of 0.2 s, pruned every 0.1 s: the server itself deletes the old history.
    with serve(
        database_url, event_retention_days=0.2 / 86400, event_prune_interval_seconds=0.1
    ) as server:
        await wait_for(
            lambda: owner_conn.fetchval("SELECT min(seq) > $1 + 1 FROM realtime_events", old_seq)
        )
        # The newest event is always kept, so the log still says where history begins.
        assert await owner_conn.fetchval("SELECT count(*) FROM realtime_events") >= 1
        async with open_feed(server, token_for(admin)) as feed:
            await feed.subscribe("appointments", since=old_seq)
            assert await feed.recv() == {
                "type": "reset",
                "channel": "appointments",
                "reason": "history_expired",
            }
            fresh = await book(owner_conn, dentist)
            [event] = await feed.events(1)
            assert event["record"]["id"] == str(fresh["id"])


async def test_resubscribing_on_the_same_socket_replays_from_since(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
) -> None:
    dentist = await make_dentist(owner_conn)
    async with open_feed(live_server) as feed:
        channel = f"availability:{dentist['id']}"
        head = (await feed.subscribe(channel))["head"]
        await book(owner_conn, dentist)
        [taken] = await feed.events(1)
        again = await feed.subscribe(channel, since=head)
        [replayed] = await feed.events(1)
        assert replayed == taken
        assert again["head"] >= taken["seq"]
        await book(owner_conn, dentist)
        [live] = await feed.events(1)
        assert live["seq"] > taken["seq"]


async def test_replay_from_memory_equals_replay_from_the_log(
    live_server: RunningServer, owner_conn: asyncpg.Connection
) -> None:
    """Reconnecting clients are served from the hub's recent events when they reach back
    far enough; that must be exactly what the log's replay query returns, for every kind
    of channel."""
    from dentalcare.auth.tokens import Principal
    from dentalcare.realtime import protocol, repository
    from dentalcare.realtime.events import EventEncoder, LogEvent

    hub = live_server.app.state.realtime.hub
    patient, other = await make_user(owner_conn), await make_user(owner_conn)
    smith, jones = await make_dentist(owner_conn), await make_dentist(owner_conn)
    start = await caught_up(live_server, owner_conn)
    for dentist, who in ((smith, patient), (jones, other), (smith, None), (jones, patient)):
        booked = await book(owner_conn, dentist, patient_id=who["id"] if who else None)
        await owner_conn.execute(
            "UPDATE appointments SET status = 'cancelled' WHERE id = $1", booked["id"]
        )
    await make_dentist(owner_conn)  # something for the `dentists` channel
    head = await caught_up(live_server, owner_conn)

    def principal(role: str, user: asyncpg.Record | None, dentist_id: object = None) -> Principal:
        return Principal(
            user_id=user["id"] if user else smith["user_id"],
            role=role,
            email="x@example.com",
            full_name="X",
            phone=None,
            dentist_id=dentist_id,
            token_expires_at=2**31,
        )

    specs = [
        protocol.resolve_channel("appointments", principal("patient", patient)),
        protocol.resolve_channel("appointments", principal("dentist", None, smith["id"])),
        protocol.resolve_channel("appointments", principal("admin", other)),
        protocol.resolve_channel(f"availability:{jones['id']}", None),
        protocol.resolve_channel("availability", None),
        protocol.resolve_channel("dentists", None),
    ]
    for spec in specs:
        from_memory = hub.recent_between(start, head, spec=spec)
        assert from_memory is not None
        rows = await repository.visible_events(  # the owner reads the log directly
            owner_conn,
            after=start,
            through=head,
            tables=spec.tables,
            dentist_id=spec.dentist_id,
            patient_id=spec.patient_id,
            limit=10_000,
        )
        assert from_memory.seqs == [r["seq"] for r in rows], spec.channel
        assert from_memory.seqs, spec.channel  # every channel saw something here
        # Byte for byte what a replay from the log sends (framed once, shared by every socket).
        from_log = [EventEncoder(LogEvent.from_row(r)).frame_for(spec.channel) for r in rows]
        assert from_memory.frames == from_log, spec.channel
        again = hub.recent_between(start, head, spec=spec)
        assert again is not None
        assert all(a is b for a, b in zip(again.frames, from_memory.frames, strict=True))
    assert hub.recent_between(hub.recent_floor - 1, head, spec=specs[0]) is None
