"""A message as an e-mail: text and HTML alternatives, the calendar file attached, and a
Message-ID that stays the message's own on every attempt."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from icalendar import Calendar, Event

from dentalcare.outbox.rendering import Rendered


def build_email(
    *,
    message_id: str,
    mail_from: str,
    to: str,
    rendered: Rendered,
    ics: str | None,
    now: datetime | None = None,
) -> EmailMessage:
    """The MIME message: multipart/alternative (text, HTML), with `ics` attached."""
    mail = EmailMessage()
    mail["Message-ID"] = message_id
    mail["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC))
    mail["From"] = mail_from
    mail["To"] = to
    mail["Subject"] = rendered.subject
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    if ics:
        mail.add_attachment(
            ics.encode(),
            maintype="text",
            subtype="calendar",
            filename="appointment.ics",
            params={"method": "PUBLISH"},
        )
    # Each multipart gets its boundary here: left unset, the e-mail generator draws one
    # from the process's shared `random` state, which is no business of a mail worker.
    for part in mail.walk():
        if part.is_multipart():
            part.set_boundary(f"=_dc_{secrets.token_hex(16)}")
    return mail


PRODUCT_ID = "-//DentalCareConnect//Booking//EN"


def calendar_file(event_fields: dict[str, Any]) -> str:
    """The .ics text for one appointment from the fields a booking message keeps (see
    `outbox.bookings.calendar_fields`): built when the e-mail is, not in the booking."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if event_fields["status"] == "CANCELLED" else "PUBLISH")
    event = Event()
    event.add("uid", event_fields["uid"])
    event.add("dtstamp", datetime.fromisoformat(event_fields["dtstamp"]))
    # The sequence grows with every change, so a calendar replaces the entry it has.
    event.add("sequence", int(event_fields["sequence"]))
    event.add("dtstart", datetime.fromisoformat(event_fields["dtstart"]))
    event.add("dtend", datetime.fromisoformat(event_fields["dtend"]))
    event.add("summary", event_fields["summary"])
    event.add("description", event_fields["description"])
    if event_fields.get("location"):
        event.add("location", event_fields["location"])
    event.add("status", event_fields["status"])
    calendar.add_component(event)
    return calendar.to_ical().decode()


def ics_of(context: dict[str, Any]) -> str | None:
    """The calendar file a booking message carries, if any: its context's `ics` fields
    (or, in a message written before they were, the finished text)."""
    value = context.get("ics")
    if isinstance(value, dict):
        return calendar_file(value)
    return value if isinstance(value, str) and value else None
