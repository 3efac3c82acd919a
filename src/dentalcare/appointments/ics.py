"""An appointment as an iCalendar (RFC 5545) event, written by the `icalendar` library.

The library escapes every text value (a comma, a semicolon, a line break) and folds long
lines, so a name can never start a property of its own. Control characters, which
RFC 5545 does not allow in text at all, are replaced first: names are refused with them
now, but older rows may still hold some.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event

from dentalcare.config import Settings
from dentalcare.text import printable

PRODUCT_ID = "-//DentalCareConnect//Booking//EN"
_STATUS = {"pending": "TENTATIVE", "cancelled": "CANCELLED"}


def clinic_location(settings: Settings) -> str | None:
    """The event's LOCATION: the clinic's name and address (none without an address)."""
    address = settings.clinic_address.strip()
    if not address:
        return None
    name = settings.clinic_name.strip()
    return f"{name}, {address}" if name else address


def _instant(value: Any) -> datetime:
    instant: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(UTC)


def appointment_ics(
    appointment: dict[str, Any], *, location: str | None = None, now: datetime | None = None
) -> str:
    """A VCALENDAR with one VEVENT for the appointment (times in UTC)."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{appointment['id']}@dentalcareconnect")
    event.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC))
    event.add("dtstart", _instant(appointment["starts_at"]))
    event.add("dtend", _instant(appointment["ends_at"]))
    dentist = appointment.get("dentist_name") or "your dentist"
    event.add("summary", printable(f"Dental appointment with {dentist}"))
    event.add("description", f"Booking reference {appointment['booking_reference']}")
    if location:
        event.add("location", printable(location))
    event.add("status", _STATUS.get(appointment["status"], "CONFIRMED"))
    calendar.add_component(event)
    return calendar.to_ical().decode()
