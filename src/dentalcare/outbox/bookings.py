"""The appointment lifecycle's messages: received, confirmed, rescheduled, cancelled, and
the reminders at the clinic's `reminder_hours` before the start.

Called by the appointments and dentists services on the connection of the transaction
that makes the change, after it: the messages commit with the change or not at all.
Every time is the dentist's local time with the zone's name; booking messages carry the
appointment as an .ics file (LOCATION: the clinic's name and address). Reminders are
written when the booking is made (none for a time already past); a reschedule cancels
the waiting ones and writes them anew for the new time; a cancellation cancels them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from dentalcare.config import Settings
from dentalcare.links import service as links
from dentalcare.outbox import repository
from dentalcare.outbox.enqueue import Outgoing, cancel_pending, enqueue_many

CancelledBy = Literal["patient", "dentist", "clinic", "dentist_removed"]


def local_time(instant: datetime, zone_name: str) -> str:
    """'Tuesday 15 December 2026, 09:30 (Europe/London, GMT)': the dentist's wall clock,
    the zone's name and its abbreviation at that instant."""
    local = instant.astimezone(ZoneInfo(zone_name))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({zone_name}, {local.tzname()})"


def _ics(row: Any, *, location: str | None, cancelled: bool, now: datetime) -> dict[str, Any]:
    """The appointment's calendar entry as the message keeps it: the worker turns it into
    the .ics file (`outbox.mail.calendar_file`) when it builds the e-mail, so building it
    costs the booking's transaction nothing."""
    status = (
        "CANCELLED" if cancelled else ("TENTATIVE" if row["status"] == "pending" else "CONFIRMED")
    )
    return {
        "uid": f"{row['id']}@dentalcareconnect",
        "dtstamp": now.astimezone(UTC).isoformat(),
        "sequence": int(now.timestamp()),
        "dtstart": row["starts_at"].astimezone(UTC).isoformat(),
        "dtend": row["ends_at"].astimezone(UTC).isoformat(),
        "summary": f"Dental appointment with {row['dentist_name']}",
        "description": f"Booking reference {row['booking_reference']}",
        "location": location,
        "status": status,
    }


async def _facts(conn: asyncpg.Connection, appointment_id: UUID, settings: Settings) -> Any:
    if not settings.email_enabled:
        return None  # e-mail explicitly disabled: the clinic sends nothing
    # The appointment, the clinic's settings and the patient's opt-out in one read: this
    # runs inside the booking's transaction, on every booking.
    row = await repository.booking_facts(conn, appointment_id)
    if row is None:
        return None
    return row


def _clinic(clinic: Any, settings: Settings) -> dict[str, str]:
    """The clinic as messages name it (`booking_facts`' clinic columns, NULL when the
    clinic has no settings row: the configured name and address then)."""
    return {
        "name": clinic["name"] or settings.clinic_name,
        "address": (
            clinic["address"] if clinic["address"] is not None else settings.clinic_address
        ),
        "phone": clinic["phone"] or "",
    }


def _context(row: Any, clinic: dict[str, str], settings: Settings, **extra: Any) -> dict[str, Any]:
    return {
        "clinic": clinic,
        "patient_name": row["patient_name"],
        "dentist_name": row["dentist_name"],
        "treatment": row["treatment_name"] or "",
        "reference": row["booking_reference"],
        "when": local_time(row["starts_at"], row["dentist_timezone"]),
        "timezone": row["dentist_timezone"],
        "starts_at": row["starts_at"].isoformat(),
        "rebook_url": f"{settings.public_url.rstrip('/')}/book",
        "links": {},
        **extra,
    }


def _location(clinic: dict[str, str]) -> str | None:
    address = clinic["address"].strip()
    if not address:
        return None
    return f"{clinic['name']}, {address}" if clinic["name"] else address


def _outgoing(
    kind: str,
    row: Any,
    context: dict[str, Any],
    *,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> Outgoing:
    return Outgoing(
        kind=kind,
        to_email=row["patient_email"],
        to_phone=row["patient_phone"],
        appointment_id=row["id"],
        user_id=row["patient_id"],
        context=context,
        due_at=due_at,
        dedupe_key=dedupe_key,
    )


async def _send(conn: asyncpg.Connection, *messages: Outgoing) -> None:
    await enqueue_many(conn, messages)


def _links(row: Any, settings: Settings, now: datetime) -> dict[str, str]:
    """Confirm / cancel / reschedule / unsubscribe links for a visit still ahead (signed:
    the booking's transaction stores nothing for them)."""
    if row["starts_at"] <= now:
        return {}
    return links.manage_links(row, settings=settings, now=now)


def _reminders(row: Any, context: dict[str, Any], now: datetime) -> list[Outgoing]:
    """The reminders for the visit at the clinic's `reminder_hours` (24 without a settings
    row): none for a moment already past, none if the patient stopped them."""
    if row["opted_out"]:
        return []  # the patient stopped reminders (an unsubscribe link)
    configured = row["reminder_hours"]
    hours = sorted(set(configured if configured is not None else (24,)), reverse=True)
    reminders = []
    for h in hours:
        due = row["starts_at"] - timedelta(hours=h)
        if due <= now:
            continue  # never a reminder for a moment already past
        reminders.append(
            _outgoing(
                "reminder",
                row,
                {**context, "hours_before": h},
                due_at=due,
                dedupe_key=f"reminder:{row['id']}:{row['starts_at'].isoformat()}:{h}",
            )
        )
    return reminders


async def booked(
    conn: asyncpg.Connection,
    *,
    settings: Settings,
    appointment_id: UUID,
    now: datetime,
    facts: Mapping[str, Any] | None = None,
) -> None:
    """A new booking: received (or confirmed, when booked confirmed) and its reminders.

    `facts`: what `booking_facts` would read, when the caller has it already (the
    booking's own INSERT returns it), which saves the booking a round trip."""
    if not settings.email_enabled:
        return
    row = facts if facts is not None else await _facts(conn, appointment_id, settings)
    if row is None:
        return
    await _send(conn, *booking_messages(row, settings=settings, now=now))


def booking_messages(
    row: Mapping[str, Any], *, settings: Settings, now: datetime
) -> list[Outgoing]:
    """What `booked` writes for a booking with these facts (`booking_facts`' columns),
    without writing it: the booking's own INSERT carries it (`enqueue.message_rows`)."""
    clinic = _clinic(row, settings)
    manage = _links(row, settings, now)
    context = _context(row, clinic, settings, links=manage)
    kind = "booking_confirmed" if row["status"] == "confirmed" else "booking_received"
    ics = _ics(row, location=_location(clinic), cancelled=False, now=now)
    return [_outgoing(kind, row, {**context, "ics": ics}), *_reminders(row, context, now)]


async def rewrite_booked(
    conn: asyncpg.Connection, *, settings: Settings, now: datetime, facts: Mapping[str, Any]
) -> None:
    """Messages written with the booking from facts that the insert then contradicted (the
    database placed the visit at another instant than the service foresaw): cancel them
    and write them again from the inserted row's `facts`."""
    await cancel_pending(conn, appointment_id=facts["id"])
    await booked(conn, settings=settings, appointment_id=facts["id"], now=now, facts=facts)


async def confirmed(
    conn: asyncpg.Connection, *, settings: Settings, appointment_id: UUID, now: datetime
) -> None:
    """The clinic confirmed the booking."""
    row = await _facts(conn, appointment_id, settings)
    if row is None:
        return
    clinic = _clinic(row, settings)
    ics = _ics(row, location=_location(clinic), cancelled=False, now=now)
    manage = _links(row, settings, now)
    context = _context(row, clinic, settings, links=manage)
    await _send(conn, _outgoing("booking_confirmed", row, {**context, "ics": ics}))


async def rescheduled(
    conn: asyncpg.Connection,
    *,
    settings: Settings,
    appointment_id: UUID,
    previous_starts_at: datetime,
    previous_dentist_id: UUID,
    now: datetime,
) -> None:
    """The booking moved: say so, and move its reminders to the new time."""
    row = await _facts(conn, appointment_id, settings)
    if row is None:
        return
    previous_timezone = (
        await repository.dentist_timezone(conn, previous_dentist_id) or row["dentist_timezone"]
    )
    clinic = _clinic(row, settings)
    manage = _links(row, settings, now)
    context = _context(
        row,
        clinic,
        settings,
        previous_when=local_time(previous_starts_at, previous_timezone),
        links=manage,
    )
    ics = _ics(row, location=_location(clinic), cancelled=False, now=now)
    await cancel_pending(conn, appointment_id=appointment_id, kind="reminder")
    await _send(
        conn,
        _outgoing("booking_rescheduled", row, {**context, "ics": ics}),
        *_reminders(row, context, now),
    )


async def cancelled(
    conn: asyncpg.Connection,
    *,
    settings: Settings,
    appointment_id: UUID,
    by: CancelledBy,
    reason: str | None,
    now: datetime,
) -> None:
    """The booking was cancelled (by whom, why, and where to book again); its waiting
    reminders are cancelled."""
    row = await _facts(conn, appointment_id, settings)
    if row is None:
        return
    clinic = _clinic(row, settings)
    await cancel_pending(conn, appointment_id=appointment_id, kind="reminder")
    ics = _ics(row, location=_location(clinic), cancelled=True, now=now)
    shown_reason = None if by == "dentist_removed" else reason
    context = _context(row, clinic, settings, cancelled_by=by, reason=shown_reason, ics=ics)
    await _send(conn, _outgoing("booking_cancelled", row, context))
