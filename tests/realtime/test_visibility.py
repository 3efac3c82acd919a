"""Each role receives exactly what it may see on each channel, and nothing more."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

import asyncpg

from tests.fixtures.rows import make_appointment, make_dentist, make_user, make_window
from tests.fixtures.servers import RunningServer, caught_up
from tests.realtime.conftest import open_feed

DAY = date(2031, 3, 10)
SLOT_KEYS = {"dentist_id", "date", "time", "duration_minutes", "chair_id"}


async def test_patients_and_dentists_see_only_their_own_appointments(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    alice, bob = await make_user(owner_conn), await make_user(owner_conn)
    admin = await make_user(owner_conn, role="admin")
    x, y = await make_dentist(owner_conn), await make_dentist(owner_conn)
    x_login = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", x["user_id"])
    y_login = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", y["user_id"])
    async with (
        open_feed(live_server, token_for(alice)) as alice_feed,
        open_feed(live_server, token_for(bob)) as bob_feed,
        open_feed(live_server, token_for(x_login)) as x_feed,
        open_feed(live_server, token_for(y_login)) as y_feed,
        open_feed(live_server, token_for(admin)) as admin_feed,
    ):
        for feed in (alice_feed, bob_feed, x_feed, y_feed, admin_feed):
            await feed.subscribe("appointments")

        alices = await make_appointment(
            owner_conn, dentist_id=x["id"], on=DAY, at=time(9), patient_id=alice["id"]
        )
        # Bob's booking with Y comes later in the log: whoever sees it first saw nothing before.
        bobs = await make_appointment(
            owner_conn, dentist_id=y["id"], on=DAY, at=time(9), patient_id=bob["id"]
        )
        guest = await make_appointment(owner_conn, dentist_id=x["id"], on=DAY, at=time(10))

        [seen] = await alice_feed.events(1)
        assert seen["record"]["id"] == str(alices["id"])
        assert seen["channel"] == "appointments" and seen["op"] == "INSERT"
        assert seen["record"]["patient_name"] == alices["patient_name"]
        assert seen["old_record"] is None

        [seen] = await bob_feed.events(1)
        assert seen["record"]["id"] == str(bobs["id"])

        x_events = await x_feed.events(2)
        assert [e["record"]["id"] for e in x_events] == [str(alices["id"]), str(guest["id"])]
        assert x_events[1]["record"]["patient_id"] is None

        [seen] = await y_feed.events(1)
        assert seen["record"]["id"] == str(bobs["id"])

        admin_events = await admin_feed.events(3)
        assert [e["record"]["id"] for e in admin_events] == [
            str(alices["id"]),
            str(bobs["id"]),
            str(guest["id"]),
        ]
        assert [e["seq"] for e in admin_events] == sorted(e["seq"] for e in admin_events)
        assert x_events[0]["seq"] == admin_events[0]["seq"]

        # Cancelling Alice's booking reaches Alice, X and the admin as an UPDATE, Bob never.
        await owner_conn.execute(
            "UPDATE appointments SET status = 'cancelled' WHERE id = $1", alices["id"]
        )
        await make_appointment(
            owner_conn, dentist_id=y["id"], on=DAY, at=time(11), patient_id=bob["id"]
        )
        [update] = await alice_feed.events(1)
        assert update["op"] == "UPDATE"
        assert update["record"]["status"] == "cancelled"
        assert update["old_record"]["status"] == "pending"
        [next_for_bob] = await bob_feed.events(1)
        assert next_for_bob["record"]["appointment_time"] == "11:00"


async def test_anonymous_sockets_get_availability_but_never_patient_data(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    patient = await make_user(owner_conn)
    x, y = await make_dentist(owner_conn), await make_dentist(owner_conn)
    await caught_up(live_server, owner_conn)  # their creation is not what we wait for
    async with (
        open_feed(live_server) as anon_x,
        open_feed(live_server) as anon_all,
        open_feed(live_server) as anon_directory,
    ):
        await anon_x.send({"type": "subscribe", "ref": "a", "channel": "appointments"})
        refused = await anon_x.recv()
        assert refused == {
            "type": "error",
            "ref": "a",
            "error": "Unauthorized",
            "detail": refused["detail"],
        }
        await anon_x.subscribe(f"availability:{x['id']}")
        await anon_all.subscribe("availability")
        await anon_directory.subscribe("dentists")

        booked = await make_appointment(
            owner_conn,
            dentist_id=x["id"],
            on=DAY,
            at=time(9),
            patient_id=patient["id"],
            notes="private",
        )
        # Rescheduling frees one slot and takes another; Y's window change comes after.
        await owner_conn.execute(
            "UPDATE appointments SET appointment_time = '14:30' WHERE id = $1", booked["id"]
        )
        window = await make_window(
            owner_conn, dentist_id=y["id"], day_of_week=0, start=time(9), end=time(12)
        )

        mine = await anon_x.events(3)
        assert [(e["table"], e["op"]) for e in mine] == [
            ("slots", "TAKEN"),
            ("slots", "RELEASED"),
            ("slots", "TAKEN"),
        ]
        assert [e["record"]["time"] for e in mine] == ["09:00", "09:00", "14:30"]
        for event in mine:
            assert set(event["record"]) == SLOT_KEYS
            assert event["record"]["dentist_id"] == str(x["id"])
            assert event["channel"] == f"availability:{x['id']}"
            assert event["old_record"] is None
        assert mine[0]["seq"] < mine[1]["seq"] < mine[2]["seq"]

        everything = await anon_all.events(4)
        assert [e["table"] for e in everything] == ["slots"] * 3 + ["dentist_availability"]
        assert all(e["channel"] == "availability" for e in everything)
        assert [e["seq"] for e in everything[:3]] == [e["seq"] for e in mine]
        assert everything[3]["record"] == {
            "id": str(window["id"]),
            "dentist_id": str(y["id"]),
            "day_of_week": 0,
            "start_time": "09:00",
            "end_time": "12:00",
            "is_available": True,
        }
        for event in everything:
            assert "private" not in str(event) and patient["email"] not in str(event)

        # The directory hears of dentists, with public fields only.
        await owner_conn.execute("UPDATE dentists SET bio = 'Gentle' WHERE id = $1", y["id"])
        [changed] = await anon_directory.events(1)
        assert changed["table"] == "dentists" and changed["op"] == "UPDATE"
        assert changed["record"]["bio"] == "Gentle"
        assert "email" not in changed["record"] and "email" not in changed["old_record"]
        assert "user_id" not in changed["record"]


async def test_subscription_errors_echo_the_ref_and_keep_the_socket(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    token_for: Callable[[asyncpg.Record], str],
) -> None:
    patient = await make_user(owner_conn)
    async with open_feed(live_server, token_for(patient)) as feed:
        await feed.send({"type": "subscribe", "ref": 7, "channel": "payroll"})
        unknown = await feed.recv()
        assert (unknown["type"], unknown["ref"], unknown["error"]) == ("error", 7, "BadRequest")
        await feed.send({"type": "subscribe", "ref": "8", "channel": "availability:nope"})
        assert (await feed.recv())["error"] == "BadRequest"
        await feed.send({"type": "subscribe", "ref": "9", "channel": "appointments", "since": -1})
        assert (await feed.recv())["error"] == "ValidationError"
        await feed.send({"type": "unsubscribe", "ref": "10", "channel": "dentists"})
        assert (await feed.recv())["error"] == "NotFound"
        await feed.ws.send("not json")
        assert (await feed.recv())["error"] == "BadRequest"
        await feed.send({"type": "dance"})
        assert (await feed.recv())["error"] == "ValidationError"
        await feed.send({"type": "ping"})
        assert await feed.recv() == {"type": "pong"}

        await feed.subscribe("dentists")
        await feed.send({"type": "unsubscribe", "ref": "u", "channel": "dentists"})
        assert await feed.recv() == {"type": "unsubscribed", "ref": "u", "channel": "dentists"}
        upper = f"availability:{str(patient['id']).upper()}"
        await feed.send({"type": "subscribe", "ref": "up", "channel": upper})
        reply = await feed.recv()
        assert reply["channel"] == f"availability:{patient['id']}"
