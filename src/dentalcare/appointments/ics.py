"""An appointment as an iCalendar (RFC 5545) event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets as RFC 5545 asks."""
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def appointment_ics(appointment: dict[str, Any], *, now: datetime | None = None) -> str:
    """A VCALENDAR with one VEVENT for the appointment (times in UTC)."""
    now = now or datetime.now(UTC)
    status = "CANCELLED" if appointment["status"] == "cancelled" else "CONFIRMED"
    if appointment["status"] == "pending":
        status = "TENTATIVE"
    summary = f"Dental appointment with {appointment.get('dentist_name') or 'your dentist'}"
    description = f"Booking reference {appointment['booking_reference']}"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//DentalCareConnect//Booking//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{appointment['id']}@dentalcareconnect",
        f"DTSTAMP:{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}",
        f"DTSTART:{_stamp(appointment['starts_at'])}",
        f"DTEND:{_stamp(appointment['ends_at'])}",
        f"SUMMARY:{_escape(summary)}",
        f"DESCRIPTION:{_escape(description)}",
        f"STATUS:{status}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
