"""Booking messages over real SMTP (aiosmtpd): each kind arrives with its parts, the
.ics attached (parsed back with icalendar) and the dentist's zone named; SMTP down does
not stop bookings and every message arrives once it is back; reschedules move reminders
and cancellations drop them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg
import httpx
from icalendar import Calendar

from tests.fixtures.clinic import next_weekday, working_dentist
from tests.fixtures.rows import make_user
from tests.fixtures.servers import serve
from tests.fixtures.tokens import user_headers
from tests.fixtures.waiting import wait_for
from tests.outbox.smtp import SmtpServer

FAST = {
    "outbox_poll_seconds": 0.05,
    "outbox_retry_base_seconds": 0.1,
    "outbox_retry_max_seconds": 0.5,
}
GUEST = "pat.guest@example.com"


def booking(dentist: asyncpg.Record, *, day: Any, at: str = "10:00") -> dict[str, Any]:
    return {
        "dentist_id": str(dentist["id"]),
        "appointment_date": day.isoformat(),
        "appointment_time": at,
        "patient_name": "Pat Guest",
        "patient_email": GUEST,
        "patient_phone": "+44 20 7946 0000",
    }


def parts(mail: EmailMessage) -> tuple[str, str, Calendar | None]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    calendar = None
    for attachment in mail.iter_attachments():
        if attachment.get_content_type() == "text/calendar":
            calendar = Calendar.from_ical(attachment.get_content())
    return str(text.get_content()), str(html.get_content()), calendar


async def test_every_booking_kind_arrives_with_parts_and_calendar(
    owner_conn: asyncpg.Connection, database_url: str, smtp: SmtpServer
) -> None:
    await owner_conn.execute(
        "UPDATE clinic_settings SET name = 'Smile Studio', address = '1 High St, Leeds'"
    )
    dentist = await working_dentist(owner_conn, name="Dr Ada Molar", timezone="Europe/London")
    admin = await make_user(owner_conn, role="admin")
    day = next_weekday(10)
    with serve(database_url, smtp_url=smtp.url, **FAST) as server:
        settings = server.app.state.settings
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            made = await http.post("/api/appointments", json=booking(dentist, day=day))
            assert made.status_code == 201, made.text
            appointment = made.json()
            staff = user_headers(settings, admin)
            url = f"/api/appointments/{appointment['id']}"
            confirmed = await http.put(url, json={"status": "confirmed"}, headers=staff)
            assert confirmed.status_code == 200, confirmed.text
            moved = await http.put(url, json={"appointment_time": "11:30"}, headers=staff)
            assert moved.status_code == 200, moved.text
            gone = await http.put(
                url,
                json={"status": "cancelled", "cancellation_reason": "Surgery flooded"},
                headers=staff,
            )
            assert gone.status_code == 200, gone.text
            await wait_for(lambda: len(smtp.inbox.to(GUEST)) >= 4, 20, what="four e-mails")

            async def four_sent() -> bool:
                sent = await owner_conn.fetchval(
                    "SELECT count(*) FROM messages WHERE status = 'sent'"
                )
                return bool(sent == 4)

            await wait_for(four_sent, 10, what="four marked sent")
    inbox = smtp.inbox.to(GUEST)
    assert len(inbox) == 4, [m["Subject"] for m in inbox]

    def titled(word: str) -> EmailMessage:
        return next(m for m in inbox if word in m["Subject"])

    confirm, moved_mail, cancel = titled("confirmed"), titled("moved"), titled("cancelled")
    received = titled("received")
    for mail in (received, confirm, moved_mail, cancel):
        text, html, calendar = parts(mail)
        assert "Europe/London" in text and "Europe/London" in html
        assert "Smile Studio" in text
        assert mail["Message-ID"].startswith("<") and "@" in mail["Message-ID"]
        assert calendar is not None
        event = calendar.walk("VEVENT")[0]
        assert str(event["LOCATION"]) == "Smile Studio, 1 High St, Leeds"
        assert str(event["UID"]) == f"{appointment['id']}@dentalcareconnect"
    text, _, calendar = parts(received)
    assert "10:00 (Europe/London" in text and appointment["booking_reference"] in text
    text, _, calendar = parts(moved_mail)
    assert "11:30 (Europe/London" in text and "10:00 (Europe/London" in text
    assert calendar is not None
    start = calendar.walk("VEVENT")[0].decoded("DTSTART")
    assert start.astimezone(UTC).time() in (time(10, 30), time(11, 30))  # GMT or BST
    text, _, calendar = parts(cancel)
    assert "Surgery flooded" in text and "/book" in text
    assert calendar is not None and str(calendar.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    statuses = await owner_conn.fetch(
        "SELECT kind, status FROM messages WHERE appointment_id = $1 ORDER BY created_at",
        appointment["id"],
    )
    reminders = [r["status"] for r in statuses if r["kind"] == "reminder"]
    # Two at booking (24 h, 2 h), cancelled by the move; two for the new time, cancelled by
    # the cancellation: none waits, none went.
    assert reminders == ["cancelled"] * 4
    others = {r["kind"]: r["status"] for r in statuses if r["kind"] != "reminder"}
    assert others == {
        "booking_received": "sent",
        "booking_confirmed": "sent",
        "booking_rescheduled": "sent",
        "booking_cancelled": "sent",
    }


async def test_reschedule_moves_reminders_and_past_ones_are_not_made(
    owner_conn: asyncpg.Connection, database_url: str, smtp: SmtpServer
) -> None:
    dentist = await working_dentist(owner_conn, timezone="UTC")
    day = next_weekday(5)
    with serve(database_url, smtp_url=smtp.url, **FAST) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            made = await http.post("/api/appointments", json=booking(dentist, day=day))
            assert made.status_code == 201, made.text
            appointment_id = made.json()["id"]
            start = datetime.combine(day, time(10), tzinfo=UTC)
            due = await owner_conn.fetch(
                "SELECT due_at FROM messages WHERE appointment_id = $1 AND kind = 'reminder' "
                "AND status = 'scheduled' ORDER BY due_at",
                appointment_id,
            )
            assert [r["due_at"] for r in due] == [
                start - timedelta(hours=24),
                start - timedelta(hours=2),
            ]
            admin = await make_user(owner_conn, role="admin")
            headers = user_headers(server.app.state.settings, admin)
            moved = await http.put(
                f"/api/appointments/{appointment_id}",
                json={"appointment_time": "14:00"},
                headers=headers,
            )
            assert moved.status_code == 200, moved.text
        new_start = datetime.combine(day, time(14), tzinfo=UTC)
        due = await owner_conn.fetch(
            "SELECT due_at FROM messages WHERE appointment_id = $1 AND kind = 'reminder' "
            "AND status = 'scheduled' ORDER BY due_at",
            appointment_id,
        )
        assert [r["due_at"] for r in due] == [
            new_start - timedelta(hours=24),
            new_start - timedelta(hours=2),
        ]
        # A booking tomorrow morning: its 24-hour reminder would be in the past.
        soon = datetime.now(UTC) + timedelta(hours=5)
        await owner_conn.execute("UPDATE clinic_settings SET reminder_hours = ARRAY[48, 1]")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            made = await http.post(
                "/api/appointments",
                json=booking(dentist, day=soon.date(), at="23:30")
                | {"patient_email": "late@example.com"},
            )
        if made.status_code == 201:
            rows = await owner_conn.fetch(
                "SELECT due_at FROM messages WHERE appointment_id = $1 AND kind = 'reminder'",
                made.json()["id"],
            )
            starts = datetime.fromisoformat(made.json()["starts_at"])
            assert all(r["due_at"] > datetime.now(UTC) for r in rows)
            assert len(rows) == (1 if starts - timedelta(hours=48) <= datetime.now(UTC) else 2)


async def test_smtp_down_bookings_succeed_and_every_message_arrives_once_back(
    owner_conn: asyncpg.Connection, database_url: str, smtp: SmtpServer
) -> None:
    dentist = await working_dentist(owner_conn)
    day = next_weekday(8)
    smtp.stop()
    with serve(database_url, smtp_url=smtp.url, **FAST) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            ids = []
            for n, at in enumerate(("09:00", "09:30", "10:00", "10:30", "11:00")):
                made = await http.post(
                    "/api/appointments",
                    json=booking(dentist, day=day, at=at) | {"patient_email": f"p{n}@example.com"},
                )
                assert made.status_code == 201, made.text
                ids.append(made.json()["id"])

        async def failed_attempts() -> bool:
            tried = await owner_conn.fetchval(
                "SELECT count(*) FROM messages WHERE kind = 'booking_received' "
                "AND attempts >= 2 AND status = 'scheduled' AND last_error IS NOT NULL"
            )
            return bool(tried == 5)

        await wait_for(failed_attempts, 20, what="retries while SMTP is down")
        smtp.start()
        await wait_for(lambda: smtp.inbox.count() >= 5, 20, what="all five once SMTP is back")

        async def all_sent() -> bool:
            sent = await owner_conn.fetchval(
                "SELECT count(*) FROM messages WHERE kind = 'booking_received' AND status = 'sent'"
            )
            return bool(sent == 5)

        await wait_for(all_sent, 10, what="all five marked sent")
        rows = await owner_conn.fetch(
            "SELECT status, message_id FROM messages WHERE kind = 'booking_received'"
        )
    assert [r["status"] for r in rows] == ["sent"] * 5
    received = sorted(m["To"] for m in smtp.inbox.messages)
    assert received == [f"p{n}@example.com" for n in range(5)]
    assert sorted(m["Message-ID"] for m in smtp.inbox.messages) == sorted(
        r["message_id"] for r in rows
    )
