"""A replay flood from one anonymous client, one socket at a time: the limits kick in and
everyone else still receives every event, in order.

`dentalcare serve` runs as a process of its own (as in production). The scene is
`tests/realtime/flooding.py`: twenty anonymous booking-page sockets follow the global
availability while bookings commit every 20 ms, the log holds 10,000 older events, and a
client process floods the server from one socket with `subscribe` to `availability` with
`since` (0, or the longest replay an anonymous socket may ask for), as fast as the server
answers, and a new socket at once whenever the server closes one (with 4029, for sending
on while refused).

How fast the others' events arrive meanwhile (commit→client p50/p95 with the flood within
2x of without it) is a timing target: `bench/replay_flood.py` measures it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from dentalcare.db.pool import connect as connect_db
from dentalcare.realtime.protocol import REPLAY_TOO_LONG
from tests.faults.support import ClientProcess, running_services
from tests.fixtures.rows import make_dentist
from tests.fixtures.waiting import wait_until
from tests.realtime.flooding import (
    FLOOD_MODULE,
    FLOODS,
    WATCHERS,
    Booker,
    availability_seqs,
    fill_history,
    log_head,
    replay_once,
    watching,
)

# Bookings committed while the flood runs, at the least, before it may stop.
BOOKINGS_DURING_FLOOD = 50
# Bookings one at a time before the flood: the history's last 990 positions are its
# bookings' `appointments` events (the `slots` ones come first); these put availability
# events (each booking's `slots` event) in what the longest replay covers.
BOOKINGS_BEFORE = 500


@pytest.mark.parametrize("flood", list(FLOODS.values()), ids=list(FLOODS))
async def test_a_replay_flood_from_one_socket_is_limited_and_loses_nobody_an_event(
    database_url: str, owner_conn: asyncpg.Connection, flood: dict[str, Any]
) -> None:
    dentist = await make_dentist(owner_conn)
    await fill_history(owner_conn, dentist["id"])
    writer = await connect_db(database_url, app_role=None)
    booker = Booker(writer, dentist["id"])
    for _ in range(BOOKINGS_BEFORE):
        await booker.book()
    async with running_services(database_url, 1) as (service,):
        # One round of the flood, before it: what the flooding socket is answered with.
        replay = await replay_once(service.ws_url, flood)
        assert replay.errors == [], replay.errors
        if flood["since"] == 0:
            assert replay.resets == [REPLAY_TOO_LONG], "the whole log is not replayed"
            assert replay.seqs == []
        else:
            logged = await availability_seqs(owner_conn, after=replay.since, through=replay.head)
            assert len(logged) > 100, "the replay has something to send"
            assert replay.resets == []
            assert replay.seqs == logged, "the replay is complete and in order"

        flooder = await ClientProcess.start(
            FLOOD_MODULE, {"url": service.ws_url, "channel": "availability", **flood}
        )
        try:
            async with watching(service.ws_url) as watchers:
                head = await log_head(owner_conn)
                booking = asyncio.create_task(booker.run())
                try:
                    started = await flooder.ask({"type": "start"}, within=30)
                    assert started["type"] == "flooding", started
                    booked_at_start = booker.count
                    report: dict[str, Any] = started

                    async def limited() -> bool:
                        """The limits have kicked in, with bookings going on meanwhile."""
                        nonlocal report
                        report = await flooder.ask({"type": "report"}, within=30)
                        return (
                            report["closes"].get("4029", 0) >= 1  # sent on while refused
                            and report["connections"] >= 2  # and came back at once
                            and report["replies"].get("error", 0) >= 1  # replays refused
                            # since=0 at every round; "longest" once its address's share
                            # of replayed positions is used up.
                            and report["replies"].get("reset", 0) >= 1
                            and booker.count - booked_at_start >= BOOKINGS_DURING_FLOOD
                        )

                    await wait_until(limited, within=120, what="the flood limited", every=0.2)
                    report = await flooder.ask({"type": "pause"}, within=30)
                finally:
                    booker.stop.set()
                    booked = await booking
                logged = await availability_seqs(
                    owner_conn, after=head, through=await log_head(owner_conn)
                )
                # Every booking reaches every socket: wait for the last ones.
                await wait_until(
                    lambda: all(len(seqs) >= len(logged) for seqs in watchers.seqs),
                    within=30,
                    what="every booking delivered",
                )
                received = [list(seqs) for seqs in watchers.seqs]
        finally:
            await flooder.stop()
    await writer.close()

    assert report["rounds"] > started["rounds"], "the flood went on past its first answer"
    assert len(logged) >= booked - BOOKINGS_BEFORE > BOOKINGS_DURING_FLOOD, (len(logged), booked)
    assert len(received) == WATCHERS
    for seqs in received:
        assert seqs == logged, "every event, once, in order, to every socket"
