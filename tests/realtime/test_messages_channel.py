"""The `messages` channel (migration 0024): an appointment's message status, live — staff
see every appointment's, a dentist their own appointments' only; patients and anonymous
sockets are refused. A server of the test's own runs an outbox worker (capturing the
e-mails), so the statuses change the way they do in production."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer, serve
from tests.fixtures.waiting import wait_for
from tests.realtime.conftest import Feed, open_feed

MESSAGE_FIELDS = {
    "id",
    "kind",
    "channel",
    "to",
    "subject",
    "appointment_id",
    "status",
    "due_at",
    "sent_at",
    "attempts",
    "last_error",
}


def _token(clinic: Clinic, who: str) -> str:
    return clinic.auth(who)["Authorization"].removeprefix("Bearer ")


async def _book(clinic: Clinic, dentist: str, at: str, email: str) -> str:
    booked = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(dentist, at=at, patient_email=email),
        headers=clinic.auth("admin"),
    )
    assert booked.status_code == 201, booked.text
    appointment_id: str = booked.json()["id"]
    return appointment_id


async def _sent(conn: asyncpg.Connection, appointment_id: str) -> None:
    async def done() -> bool:
        status = await conn.fetchval(
            "SELECT status FROM messages WHERE appointment_id = $1 AND kind LIKE 'booking_%'",
            appointment_id,
        )
        return bool(status == "sent")

    await wait_for(done, 20, what=f"the booking e-mail of {appointment_id} sent")


async def _until_sent(feed: Feed, appointment_id: str) -> list[dict[str, Any]]:
    return await feed.events_until(
        lambda e: (
            e["record"]["appointment_id"] == appointment_id and e["record"]["status"] == "sent"
        ),
        within=20,
    )


async def test_patients_and_anonymous_sockets_are_refused(
    clinic: Clinic, live_server: RunningServer
) -> None:
    async with open_feed(live_server) as feed:
        await feed.send({"type": "subscribe", "ref": 1, "channel": "messages"})
        refused = await feed.recv()
        assert refused["type"] == "error" and refused["error"] == "Unauthorized", refused
    async with open_feed(live_server, _token(clinic, "patient_a")) as feed:
        await feed.send({"type": "subscribe", "ref": 2, "channel": "messages"})
        refused = await feed.recv()
        assert refused["type"] == "error" and refused["error"] == "Forbidden", refused
        assert refused["ref"] == 2


async def test_a_dentist_sees_their_appointments_messages_sent_and_staff_see_all(
    clinic: Clinic, database_url: str
) -> None:
    with serve(database_url, outbox_workers=1, outbox_poll_seconds=0.05) as worker_server:
        async with (
            open_feed(worker_server, _token(clinic, "dentist_x")) as dentist_x,
            open_feed(worker_server, _token(clinic, "front_desk")) as desk,
        ):
            await dentist_x.subscribe("messages")
            await desk.subscribe("messages")
            # Dentist Y's booking first, all the way to sent: had its events leaked to
            # dentist X's socket, they would arrive there before X's own.
            theirs = await _book(clinic, "y", "13:00", "yolanda@example.com")
            await _sent(clinic.conn, theirs)
            ours = await _book(clinic, "x", "14:00", "xenia@example.com")

            seen = await _until_sent(dentist_x, ours)
            assert {e["record"]["appointment_id"] for e in seen} == {ours}
            # The claim (scheduled -> sending) is not an event (migration 0028): one
            # event per delivered message, from sending to sent.
            assert [e["record"]["status"] for e in seen] == ["sent"]
            assert [e["old_record"] for e in seen] == [{"status": "sending"}]
            sent = seen[-1]
            assert sent["channel"] == "messages" and sent["table"] == "messages"
            assert sent["op"] == "UPDATE"
            record = sent["record"]
            assert set(record) == MESSAGE_FIELDS  # no body, no context, no link tokens
            assert record["kind"] in ("booking_received", "booking_confirmed")
            assert record["to"] == "xenia@example.com"
            assert record["sent_at"] is not None and record["attempts"] == 1

            staff_seen = await _until_sent(desk, ours)
            appointments = [e["record"]["appointment_id"] for e in staff_seen]
            assert appointments == [theirs, ours]

            # A replay from before both: the dentist again gets their own only.
            async with open_feed(worker_server, _token(clinic, "dentist_x")) as again:
                await again.subscribe("messages", since=staff_seen[0]["seq"] - 1)
                replayed = await again.events(1)
                assert [e["seq"] for e in replayed] == [e["seq"] for e in seen]


async def test_cancelling_an_appointment_logs_its_reminders_cancelled(
    clinic: Clinic, live_server: RunningServer
) -> None:
    appointment = await _book(clinic, "x", "15:00", "carla@example.com")
    reminders = await clinic.conn.fetchval(
        "SELECT count(*) FROM messages WHERE appointment_id = $1 AND kind = 'reminder'",
        appointment,
    )
    assert reminders >= 1
    async with open_feed(live_server, _token(clinic, "dentist_x")) as feed:
        await feed.subscribe("messages")
        cancelled = await clinic.http.put(
            f"/api/appointments/{appointment}",
            json={"status": "cancelled"},
            headers=clinic.auth("dentist_x"),
        )
        assert cancelled.status_code == 200, cancelled.text
        events = await feed.events(reminders)
        assert {e["record"]["kind"] for e in events} == {"reminder"}
        assert {e["record"]["status"] for e in events} == {"cancelled"}
        assert {e["record"]["appointment_id"] for e in events} == {appointment}


async def test_erasing_a_message_address_erases_its_logged_copies(clinic: Clinic) -> None:
    appointment = await _book(clinic, "x", "16:00", "erin@example.com")
    await clinic.conn.execute(
        "UPDATE messages SET status = 'cancelled' WHERE appointment_id = $1 AND kind = 'reminder'",
        appointment,
    )
    logged = await clinic.conn.fetchval(
        "SELECT count(*) FROM realtime_events WHERE table_name = 'messages'"
        " AND record ->> 'to_address' = 'erin@example.com'"
    )
    assert logged >= 1
    await clinic.conn.execute(
        "UPDATE messages SET to_address = 'erased@invalid', subject = '' WHERE appointment_id = $1",
        appointment,
    )
    left = await clinic.conn.fetchval(
        "SELECT count(*) FROM realtime_events WHERE table_name = 'messages'"
        " AND record::text LIKE '%erin@example.com%'"
    )
    assert left == 0
