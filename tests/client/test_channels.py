"""The SDK against the live server: callbacks per op, role scoping, availability,
dentists, shared channels and unsubscribe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from tests.client.conftest import ClientFactory, book, flush, ids, next_day
from tests.fixtures.rows import make_dentist, make_user, make_window
from tests.fixtures.servers import RunningServer
from tests.fixtures.tokens import user_token
from tests.fixtures.waiting import wait_for

from dentalcare.client import RealtimeError, RealtimeEvent
from dentalcare.config import Settings

Records = list[dict[str, Any]]


async def test_each_op_reaches_its_callback_sync_or_async(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
) -> None:
    patient = await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    created: Records = []
    updated: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    deleted: Records = []

    async def on_updated(record: dict[str, Any], old_record: dict[str, Any] | None) -> None:
        updated.append((record, old_record))

    client = await open_client(live_server.base_url, user_token(settings, patient))
    subscription = await client.subscribe_to_appointments(
        patient["id"],
        "patient",
        on_created=created.append,  # plain function
        on_updated=on_updated,  # coroutine function with the old record
        on_deleted=deleted.append,
    )
    assert subscription.name == f"appointments:patient:{patient['id']}"

    appointment = await book(owner_conn, dentist, patient)
    await wait_for(lambda: created)
    assert ids(created) == [appointment["id"]]
    assert created[0]["status"] == "pending"
    assert created[0]["dentist_name"] == dentist["name"]

    await owner_conn.execute(
        "UPDATE appointments SET status = 'confirmed' WHERE id = $1", appointment["id"]
    )
    await wait_for(lambda: updated)
    record, old = updated[0]
    assert (record["status"], old and old["status"]) == ("confirmed", "pending")

    await owner_conn.execute("DELETE FROM appointments WHERE id = $1", appointment["id"])
    await wait_for(lambda: deleted)
    assert ids(deleted) == [appointment["id"]]
    assert (len(created), len(updated)) == (1, 1)


async def test_each_role_sees_only_its_own_appointments(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
) -> None:
    alice, bob = await make_user(owner_conn), await make_user(owner_conn)
    admin = await make_user(owner_conn, role="admin")
    xavier, yvonne = await make_dentist(owner_conn), await make_dentist(owner_conn)
    xavier_login = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", xavier["user_id"])
    seen: dict[str, Records] = {who: [] for who in ("alice", "bob", "xavier", "admin")}

    clients = {
        "alice": await open_client(live_server.base_url, user_token(settings, alice)),
        "bob": await open_client(live_server.base_url, user_token(settings, bob)),
        "xavier": await open_client(live_server.base_url, user_token(settings, xavier_login)),
        "admin": await open_client(live_server.base_url, user_token(settings, admin)),
    }
    await clients["alice"].subscribe_to_appointments(
        alice["id"], "patient", on_created=seen["alice"].append
    )
    await clients["bob"].subscribe_to_appointments(
        bob["id"], "patient", on_created=seen["bob"].append
    )
    # A dentist may name themselves by user id or by dentist id.
    await clients["xavier"].subscribe_to_appointments(
        xavier["id"], "dentist", on_created=seen["xavier"].append
    )
    await clients["admin"].subscribe_to_all_appointments(on_created=seen["admin"].append)

    alice_at_x = await book(owner_conn, xavier, alice)
    bob_at_y = await book(owner_conn, yvonne, bob)
    guest_at_x = await book(owner_conn, xavier)
    alice_at_y = await book(owner_conn, yvonne, alice)
    await flush(live_server, owner_conn, *clients.values())

    assert ids(seen["alice"]) == [alice_at_x["id"], alice_at_y["id"]]
    assert ids(seen["bob"]) == [bob_at_y["id"]]
    assert ids(seen["xavier"]) == [alice_at_x["id"], guest_at_x["id"]]
    assert ids(seen["admin"]) == [r["id"] for r in (alice_at_x, bob_at_y, guest_at_x, alice_at_y)]


async def test_an_admin_can_narrow_the_feed_to_one_patient_or_one_dentist(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
) -> None:
    alice, bob = await make_user(owner_conn), await make_user(owner_conn)
    admin = await make_user(owner_conn, role="admin")
    xavier, yvonne = await make_dentist(owner_conn), await make_dentist(owner_conn)
    alices: Records = []
    yvonnes: Records = []
    client = await open_client(live_server.base_url, user_token(settings, admin))
    await client.subscribe_to_appointments(alice["id"], "patient", on_created=alices.append)
    await client.subscribe_to_appointments(yvonne["id"], "dentist", on_created=yvonnes.append)
    assert client.get_active_subscriptions_count() == 2
    assert client.positions().keys() == {"appointments"}  # one server channel for both

    first = await book(owner_conn, xavier, alice)
    second = await book(owner_conn, yvonne, bob)
    third = await book(owner_conn, yvonne, alice)
    await flush(live_server, owner_conn, client)

    assert ids(alices) == [first["id"], third["id"]]
    assert ids(yvonnes) == [second["id"], third["id"]]


async def test_appointment_channels_need_the_right_token(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
) -> None:
    patient = await make_user(owner_conn)
    anonymous = await open_client(live_server.base_url)
    with pytest.raises(RealtimeError) as refused:
        await anonymous.subscribe_to_appointments(patient["id"], "patient")
    assert refused.value.error == "Unauthorized"
    assert anonymous.get_active_subscriptions_count() == 0

    own = await open_client(live_server.base_url, user_token(settings, patient))
    with pytest.raises(RealtimeError) as forbidden:
        await own.subscribe_to_all_appointments()
    assert forbidden.value.error == "Forbidden"
    with pytest.raises(ValueError):
        await own.subscribe_to_appointments(patient["id"], "receptionist")
    assert own.get_active_subscriptions_count() == 0


async def test_availability_and_dentist_channels_carry_no_patient_data(
    live_server: RunningServer, owner_conn: asyncpg.Connection, open_client: ClientFactory
) -> None:
    patient = await make_user(owner_conn)
    xavier, yvonne = await make_dentist(owner_conn), await make_dentist(owner_conn)
    # A fresh subscription starts at the server's head: let it pass the set-up first.
    await flush(live_server, owner_conn)
    own: list[RealtimeEvent] = []
    every: list[RealtimeEvent] = []
    dentists: list[RealtimeEvent] = []

    async def on_global(event: RealtimeEvent) -> None:
        every.append(event)

    client = await open_client(live_server.base_url)  # anonymous: a booking page
    await client.subscribe_to_availability(str(xavier["id"]).upper(), on_changed=own.append)
    await client.subscribe_to_global_availability(on_changed=on_global)
    await client.subscribe_to_dentists(on_changed=dentists.append)

    booked = await book(owner_conn, xavier, patient)
    await book(owner_conn, yvonne, patient)
    await make_window(
        owner_conn, dentist_id=xavier["id"], day_of_week=1, start=clock(8), end=clock(12)
    )
    newcomer = await make_dentist(owner_conn, with_login=False)
    await flush(live_server, owner_conn, client)

    assert [(e.table, e.op) for e in own] == [
        ("slots", "TAKEN"),
        ("dentist_availability", "INSERT"),
    ]
    assert own[0].record == {
        "dentist_id": str(xavier["id"]),
        "date": booked["appointment_date"].isoformat(),
        "time": "09:00",
        "duration_minutes": 30,
        "chair_id": None,  # the clinic has no chairs
    }
    assert {e.channel for e in own} == {f"availability:{xavier['id']}"}
    assert [(e.table, e.record and e.record["dentist_id"]) for e in every] == [
        ("slots", str(xavier["id"])),
        ("slots", str(yvonne["id"])),
        ("dentist_availability", str(xavier["id"])),
    ]
    assert [(e.op, e.record and e.record["id"]) for e in dentists] == [
        ("INSERT", str(newcomer["id"]))
    ]
    assert all(e.committed_at is not None and e.committed_at.tzinfo for e in own + every)


async def test_unsubscribe_stops_delivery_at_once_and_on_the_server(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
    client: httpx.AsyncClient,
) -> None:
    admin = await make_user(owner_conn, role="admin")
    dentist = await make_dentist(owner_conn)
    appointments: Records = []
    slots: list[RealtimeEvent] = []
    also: Records = []
    sdk = await open_client(live_server.base_url, user_token(settings, admin))
    everything = await sdk.subscribe_to_all_appointments(on_created=appointments.append)
    second = await sdk.subscribe_to_all_appointments(on_created=also.append)
    availability = await sdk.subscribe_to_availability(dentist["id"], on_changed=slots.append)
    assert sdk.get_active_subscriptions_count() == 3

    await book(owner_conn, dentist)
    await flush(live_server, owner_conn, sdk)
    assert (len(appointments), len(also), len(slots)) == (1, 1, 1)

    await sdk.unsubscribe(availability)
    await sdk.unsubscribe(second)
    await sdk.unsubscribe(second)  # twice is harmless
    assert sdk.get_active_subscriptions() == [everything]
    headers = {"Authorization": f"Bearer {user_token(settings, admin)}"}
    status = (await client.get("/api/sync/status", headers=headers)).json()
    assert [s["channelName"] for s in status["subscriptions"]] == ["appointments:admin"]

    await book(owner_conn, dentist)
    await flush(live_server, owner_conn, sdk)
    assert (len(appointments), len(also), len(slots)) == (2, 1, 1)

    await sdk.unsubscribe_all()
    assert sdk.get_active_subscriptions_count() == 0
    status = (await client.get("/api/sync/status", headers=headers)).json()
    assert status["subscriptions"] == []


async def test_a_web_form_booking_reaches_the_dentist_marked_manual(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
    client: httpx.AsyncClient,
) -> None:
    dentist = await make_dentist(owner_conn)
    for day in range(7):
        await make_window(
            owner_conn, dentist_id=dentist["id"], day_of_week=day, start=clock(8), end=clock(18)
        )
    login = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", dentist["user_id"])
    created: Records = []
    sdk = await open_client(live_server.base_url, user_token(settings, login))
    await sdk.subscribe_to_appointments(login["id"], "dentist", on_created=created.append)

    week_ahead = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    response = await client.post(
        "/api/appointments",
        json={
            "dentist_id": str(dentist["id"]),
            "appointment_date": week_ahead,
            "appointment_time": "10:00",
            "patient_name": "Jane Guest",
            "patient_email": "jane.guest@example.com",
            "patient_phone": "+1 555 0199",
        },
    )
    assert response.status_code == 201, response.text
    await wait_for(lambda: created)
    assert UUID(created[0]["id"]) == UUID(response.json()["id"])
    assert created[0]["booking_source"] == "manual"
    assert created[0]["patient_email"] == "jane.guest@example.com"


async def test_waitlist_and_message_log_follow_their_channels(
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
    open_client: ClientFactory,
) -> None:
    """A patient's client sees their own waitlist entry and nobody else's; the front desk's
    sees every entry and an appointment's message changing status."""
    patient = await make_user(owner_conn)
    other = await make_user(owner_conn)
    desk = await make_user(owner_conn, role="front_desk")
    dentist = await make_dentist(owner_conn)
    await flush(live_server, owner_conn)
    own: list[RealtimeEvent] = []
    staff: list[RealtimeEvent] = []
    messages: list[RealtimeEvent] = []
    mine = await open_client(live_server.base_url, user_token(settings, patient))
    await mine.subscribe_to_waitlist(on_changed=own.append)
    clinic = await open_client(live_server.base_url, user_token(settings, desk))
    await clinic.subscribe_to_waitlist(on_changed=staff.append)
    await clinic.subscribe_to_messages(on_changed=messages.append)

    entries = {}
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as http:
        for who in (patient, other):
            joined = await http.post(
                "/api/waitlist",
                json={
                    "treatment_type_id": "00000000-0000-4000-8000-000000000001",
                    "earliest_date": next_day().isoformat(),
                    "latest_date": (next_day() + timedelta(days=7)).isoformat(),
                },
                headers={"Authorization": f"Bearer {user_token(settings, who)}"},
            )
            assert joined.status_code == 201, joined.text
            entries[who["id"]] = joined.json()["id"]
    appointment = await book(owner_conn, dentist, patient)
    message = await owner_conn.fetchval(
        """INSERT INTO messages (kind, channel, to_address, appointment_id, message_id,
                                 due_at)
           VALUES ('reminder', 'email', 'pat@example.com', $1, '<sdk-1@x>',
                   now() + interval '1 day')
           RETURNING id""",
        appointment["id"],
    )
    await owner_conn.execute("UPDATE messages SET status = 'cancelled' WHERE id = $1", message)
    await wait_for(lambda: len(staff) == 2 and messages)
    await flush(live_server, owner_conn, mine, clinic)

    assert [(e.table, e.op, e.record["kind"], e.record["entry_id"]) for e in own] == [
        ("waitlist", "INSERT", "entry", entries[patient["id"]])
    ]
    assert own[0].record["status"] == "waiting"
    assert {e.record["entry_id"] for e in staff} == set(entries.values())
    assert {e.channel for e in own + staff} == {"waitlist"}
    (changed,) = messages
    assert (changed.channel, changed.table, changed.op) == ("messages", "messages", "UPDATE")
    assert changed.record["id"] == str(message) and changed.record["status"] == "cancelled"
    assert changed.old_record == {"status": "scheduled"}
