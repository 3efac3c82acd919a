"""Commit order: no event is skipped or reordered, even when transactions interleave."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import date, time

import asyncpg

from dentalcare.db.pool import connect
from tests.fixtures.rows import make_appointment, make_dentist, make_user
from tests.fixtures.servers import RunningServer, caught_up
from tests.realtime.conftest import open_feed

DAY = date(2031, 3, 11)


async def test_a_transaction_opened_earlier_but_committed_later_comes_later(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    database_url: str,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    early = await connect(database_url, app_role=None)
    late = await connect(database_url, app_role=None)
    try:
        async with open_feed(live_server, token_for(admin)) as feed:
            await feed.subscribe("appointments")
            first = early.transaction()
            await first.start()
            opened_first = await make_appointment(
                early, dentist_id=dentist["id"], on=DAY, at=time(9)
            )
            async with late.transaction():
                committed_first = await make_appointment(
                    late, dentist_id=dentist["id"], on=DAY, at=time(10)
                )
            [seen] = await feed.events(1)
            assert seen["record"]["id"] == str(committed_first["id"])
            # The listener has now read past the open transaction's insert; it must still come.
            await first.commit()
            [later] = await feed.events(1)
            assert later["record"]["id"] == str(opened_first["id"])
            assert later["seq"] > seen["seq"]
    finally:
        await early.close()
        await late.close()


async def test_many_interleaved_writers_arrive_complete_and_in_log_order(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    database_url: str,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentists = [await make_dentist(owner_conn) for _ in range(4)]
    writers = [await connect(database_url, app_role=None) for _ in range(8)]
    rng = random.Random(4)
    per_writer = 12

    async def write(index: int, conn: asyncpg.Connection) -> None:
        for n in range(per_writer):
            async with conn.transaction():
                minute = (index * per_writer + n) % 48
                await make_appointment(
                    conn,
                    dentist_id=dentists[index % 4]["id"],
                    on=date(2031, 4, 1 + (index * per_writer + n) // 48),
                    at=time(8 + minute // 4, (minute % 4) * 15),
                    duration_minutes=15,
                )
                # Hold the transaction open for a while so commits overtake each other.
                await asyncio.sleep(rng.random() * 0.01)

    try:
        async with (
            open_feed(live_server, token_for(admin)) as admin_feed,
            open_feed(live_server) as slots_feed,
        ):
            await admin_feed.subscribe("appointments")
            await slots_feed.subscribe("availability")
            await asyncio.gather(*(write(i, c) for i, c in enumerate(writers)))
            total = len(writers) * per_writer
            received = await admin_feed.events(total)
            slots = await slots_feed.events(total)
    finally:
        for conn in writers:
            await conn.close()

    logged = await owner_conn.fetch("SELECT seq, table_name FROM realtime_events ORDER BY seq")
    appointment_seqs = [r["seq"] for r in logged if r["table_name"] == "appointments"]
    slot_seqs = [r["seq"] for r in logged if r["table_name"] == "slots"]
    assert [e["seq"] for e in received] == appointment_seqs
    assert [e["seq"] for e in slots] == slot_seqs
    assert len({e["record"]["id"] for e in received}) == total
    # committed_at follows seq: the log is in commit order.
    stamps = [e["committed_at"] for e in received]
    assert stamps == sorted(stamps)


async def test_the_safety_poll_delivers_without_a_notification(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    # A row written straight into the log, with no NOTIFY, still arrives (the poll finds it).
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    await caught_up(live_server, owner_conn)
    async with open_feed(live_server, token_for(admin)) as feed:
        await feed.subscribe("dentists")
        await owner_conn.execute(
            """INSERT INTO realtime_events (seq, table_name, op, record, dentist_id)
               SELECT nextval('realtime_events_seq'), 'dentists', 'UPDATE',
                      to_jsonb(d), d.id FROM dentists d WHERE d.id = $1""",
            dentist["id"],
        )
        [event] = await feed.events(1, within=5)
        assert event["record"]["id"] == str(dentist["id"])
