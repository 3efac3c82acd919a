"""The outbox's core: a message is written in the caller's transaction (rolled back with
it), deduplicated by key, visible only to who may see its appointment, rendered from its
kind's templates."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import asyncpg
import pytest

from dentalcare.appointments.service import _as_expected
from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.outbox import cancel_pending, enqueue, move_pending, render
from dentalcare.outbox.bookings import booking_messages, rewrite_booked
from dentalcare.outbox.enqueue import enqueue_many
from dentalcare.outbox.rendering import known_kinds
from dentalcare.outbox.repository import booking_facts
from tests.fixtures.clinic import next_weekday, working_dentist
from tests.fixtures.database import app_pool
from tests.fixtures.rows import make_appointment, make_user
from tests.fixtures.settings import make_settings

BOOKING_KINDS = (
    "booking_received",
    "booking_confirmed",
    "booking_rescheduled",
    "booking_cancelled",
    "reminder",
)


def sample_context(**extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        "clinic": {"name": "Smile Studio", "address": "1 High St", "phone": ""},
        "patient_name": "Jane <Guest>",
        "dentist_name": "Dr Who",
        "treatment": "Check-up",
        "reference": "ABC123",
        "when": "Tuesday 15 December 2026, 09:30 (Europe/London, GMT)",
        "previous_when": "Monday 14 December 2026, 10:00 (Europe/London, GMT)",
        "links": {},
    }
    values.update(extra)
    return values


def test_every_booking_kind_has_templates() -> None:
    assert set(BOOKING_KINDS) <= known_kinds()


@pytest.mark.parametrize("kind", BOOKING_KINDS)
def test_rendering_escapes_html_and_names_the_zone(kind: str) -> None:
    rendered = render(kind, sample_context())
    assert "Europe/London" in rendered.subject or kind == "booking_cancelled"
    assert "Europe/London" in rendered.text and "Europe/London" in rendered.html
    assert "Jane <Guest>" in rendered.text
    assert "Jane &lt;Guest&gt;" in rendered.html and "<Guest>" not in rendered.html
    assert "\n" not in rendered.subject


def test_links_show_when_given() -> None:
    links = {
        "confirm": "https://c.example/manage/c1",
        "cancel": "https://c.example/manage/x1",
        "reschedule": "https://c.example/manage/r1",
        "unsubscribe": "https://c.example/unsubscribe/u1",
    }
    rendered = render("reminder", sample_context(links=links))
    for url in links.values():
        assert url in rendered.text and url in rendered.html
    assert "manage" not in render("reminder", sample_context()).text


def test_dentist_removal_is_worded_for_the_patient() -> None:
    removal = render(
        "booking_cancelled", sample_context(cancelled_by="dentist_removed", reason=None)
    )
    assert "no longer works at Smile Studio" in removal.text
    assert "cancelled your appointment" not in removal.text
    by_patient = render("booking_cancelled", sample_context(cancelled_by="patient", reason="ill"))
    assert "as you asked" in by_patient.text and "Reason: ill" in by_patient.text


async def test_enqueue_commits_and_rolls_back_with_the_caller(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    async with app_pool(database_url) as db:
        async with db.unit_of_work(Claims("anonymous")) as uow:
            conn = await uow.connection()
            kept = await enqueue(
                conn, kind="booking_received", to_email="a@example.com", context=sample_context()
            )
        with pytest.raises(RuntimeError):
            async with db.unit_of_work(Claims("anonymous")) as uow:
                conn = await uow.connection()
                await enqueue(conn, kind="booking_received", to_email="b@example.com")
                raise RuntimeError("the booking failed")
    rows = await owner_conn.fetch(
        "SELECT id, to_address, status, subject, message_id FROM messages"
    )
    assert [r["id"] for r in rows] == [kept]
    assert rows[0]["status"] == "scheduled"
    assert rows[0]["subject"].startswith("Booking request received")
    assert rows[0]["message_id"] == f"<{kept}@dentalcare.invalid>"


async def test_no_recipient_no_message_and_dedupe(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    async with app_pool(database_url) as db, db.unit_of_work(SYSTEM) as uow:
        conn = await uow.connection()
        assert await enqueue(conn, kind="reminder") is None
        # No DENTALCARE_SMS_URL: a phone alone makes no message.
        assert await enqueue(conn, kind="reminder", to_phone="+441234567890") is None
        first = await enqueue(conn, kind="reminder", to_email="a@example.com", dedupe_key="k1")
        again = await enqueue(conn, kind="reminder", to_email="a@example.com", dedupe_key="k1")
    assert first is not None and again is None
    assert await owner_conn.fetchval("SELECT count(*) FROM messages") == 1


async def test_messages_follow_their_appointment_visibility(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    dentist = await working_dentist(owner_conn)
    other = await working_dentist(owner_conn)
    patient = await make_user(owner_conn, role="patient")
    appointment = await make_appointment(
        owner_conn,
        dentist_id=dentist["id"],
        patient_id=patient["id"],
        on=next_weekday(),
        at=time(9),
        patient_email=patient["email"],
    )
    due = datetime.now(UTC) + timedelta(days=3)
    async with app_pool(database_url) as db:
        async with db.unit_of_work(SYSTEM) as uow:
            conn = await uow.connection()
            await enqueue(
                conn,
                kind="reminder",
                to_email=patient["email"],
                appointment_id=appointment["id"],
                due_at=due,
            )
            await enqueue(conn, kind="reminder", to_email="x@example.com")
        seen = {}
        for who, claims in (
            ("owner", Claims("patient", user_id=patient["id"])),
            ("dentist", Claims("dentist", dentist_id=dentist["id"])),
            ("other_dentist", Claims("dentist", dentist_id=other["id"])),
            ("stranger", Claims("patient", user_id=(await make_user(owner_conn))["id"])),
            ("admin", Claims("admin")),
        ):
            async with db.unit_of_work(claims) as uow:
                conn = await uow.connection()
                seen[who] = await conn.fetchval("SELECT count(*) FROM messages")
        assert seen == {"owner": 1, "dentist": 1, "other_dentist": 0, "stranger": 0, "admin": 2}
        async with db.unit_of_work(SYSTEM) as uow:
            conn = await uow.connection()
            later = due + timedelta(hours=5)
            assert (
                await move_pending(
                    conn, appointment_id=appointment["id"], kind="reminder", due_at=later
                )
                == 1
            )
            assert (
                await conn.fetchval(
                    "SELECT due_at FROM messages WHERE appointment_id = $1", appointment["id"]
                )
                == later
            )
            assert await cancel_pending(conn, appointment_id=appointment["id"]) == 1
    status = await owner_conn.fetchval(
        "SELECT status FROM messages WHERE appointment_id = $1", appointment["id"]
    )
    assert status == "cancelled"


async def test_messages_written_for_another_instant_are_cancelled_and_written_again(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    """A booking writes its messages in its INSERT, from the instant it expects the
    database to give the visit (appointments.service._expected_facts). Should the row say
    otherwise (the dentist's zone changed in between, say), `rewrite_booked` cancels what
    was written and writes the messages of the row: only those can be sent."""
    dentist = await working_dentist(owner_conn, timezone="Europe/Berlin")
    day = next_weekday(4)
    settings = make_settings(database_url)
    now = datetime.now(UTC)
    async with app_pool(database_url) as db, db.unit_of_work(Claims("admin")) as uow:
        conn = await uow.connection()
        row = await make_appointment(
            conn, dentist_id=dentist["id"], on=day, at=time(10), patient_email="p@example.com"
        )
        facts = dict(await booking_facts(conn, row["id"]))
        wrong = {**facts, "starts_at": facts["starts_at"] + timedelta(hours=1)}
        await enqueue_many(conn, booking_messages(wrong, settings=settings, now=now))
        assert not _as_expected(row, wrong) and _as_expected(row, facts)
        await rewrite_booked(conn, settings=settings, now=now, facts=facts)
    rows = await owner_conn.fetch(
        "SELECT kind, status, due_at, context->>'starts_at' AS starts FROM messages "
        "WHERE appointment_id = $1 ORDER BY status, kind DESC, due_at",
        row["id"],
    )
    start, other = row["starts_at"], wrong["starts_at"]
    assert [(r["status"], r["kind"], r["due_at"]) for r in rows if r["kind"] == "reminder"] == [
        ("cancelled", "reminder", other - timedelta(hours=24)),
        ("cancelled", "reminder", other - timedelta(hours=2)),
        ("scheduled", "reminder", start - timedelta(hours=24)),
        ("scheduled", "reminder", start - timedelta(hours=2)),
    ]
    received = {r["status"]: r["starts"] for r in rows if r["kind"] == "booking_received"}
    assert datetime.fromisoformat(received["scheduled"]) == start
    assert datetime.fromisoformat(received["cancelled"]) == other
