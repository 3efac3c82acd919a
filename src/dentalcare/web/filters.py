"""Jinja filters: dates, times with their zone, phone numbers, labels and initials as the
portals show them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context

from dentalcare.vocabulary import BookingSource, Status, Urgency
from dentalcare.web import localtime, phones

# One label for every value of the vocabulary (tests/test_vocabulary.py checks that none
# is missing).
STATUS_LABELS: dict[Status, str] = {
    "pending": "Pending",
    "confirmed": "Confirmed",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
SOURCE_LABELS: dict[BookingSource, str] = {
    "manual": "Web",
    "chatbot": "Chatbot",
    "admin": "Admin",
    "front_desk": "Front desk",
}
URGENCY_LABELS: dict[Urgency, str] = {
    "routine": "Routine",
    "urgent": "Urgent",
    "emergency": "Emergency",
}


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def day_label(value: Any) -> str:
    """`Mon 24 Nov`."""
    d = _as_date(value)
    return f"{d:%a} {d.day} {d:%b}"


def long_date(value: Any) -> str:
    """`Monday 24 November 2026`."""
    d = _as_date(value)
    return f"{d:%A} {d.day} {d:%B %Y}"


def month_short(value: Any) -> str:
    """`Nov`."""
    return f"{_as_date(value):%b}"


def day_number(value: Any) -> str:
    """`24`."""
    return str(_as_date(value).day)


@pass_context
def clock(context: Context, item: Mapping[str, Any], zone_name: str | None = None) -> str:
    """`10:30 EST`: the one way a time is shown. `item` is an appointment, a slot or a
    form (`appointment_date`/`appointment_time` or `date`/`time`, `starts_at` if known);
    its zone is `zone_name`, else its dentist's (`dentist_zones` in the page), else the
    clinic's."""
    zones: Mapping[str, str] = context.get("dentist_zones") or {}
    name = (
        zone_name
        or zones.get(str(item.get("dentist_id")))
        or context.get("clinic_timezone")
        or "UTC"
    )
    try:
        return localtime.clock_of(item, name)
    except ValueError:  # a form sent back with a time that is not one: shown as typed
        return str(item.get("appointment_time") or item.get("time") or "")


def zone_names(days: Iterable[Any], zone_name: str) -> str:
    """The zone's short names over some days (`EST`, or `EDT/EST` across a change)."""
    return localtime.zone_names(days, zone_name)


@pass_context
def phone(context: Context, value: str | None) -> str:
    """A phone number in the international form, read with the clinic's country."""
    return phones.display(value, context.get("phone_region"))


# The reasons the service itself writes, as a patient should read them.
REASONS = {"dentist removed": "The dentist no longer takes bookings at the clinic."}


def cancellation_reason(value: str | None) -> str:
    """Why an appointment was cancelled, as a sentence."""
    text = (value or "").strip()
    if text.lower() in REASONS:
        return REASONS[text.lower()]
    return text[:1].upper() + text[1:]


def _label(labels: Mapping[Any, str], value: str | None) -> str:
    return labels.get(value or "", value or "")


def status_label(value: str | None) -> str:
    """A status as people say it."""
    return _label(STATUS_LABELS, value)


def source_label(value: str | None) -> str:
    """Where a booking came from."""
    return _label(SOURCE_LABELS, value)


def urgency_label(value: str | None) -> str:
    """Triage urgency as people say it."""
    return _label(URGENCY_LABELS, value)


def ms(value: float | None) -> str:
    """A latency in milliseconds, or a dash before the first measurement."""
    return "—" if value is None else f"{value:.1f}"


def initials(name: str | None) -> str:
    """Two letters for an avatar (titles such as Dr skipped)."""
    words = [
        w
        for w in (name or "").replace(".", " ").split()
        if w.lower() not in {"dr", "mr", "ms", "mrs"}
    ]
    letters = "".join(w[0] for w in words[:1] + words[1:][-1:])
    return letters.upper() or "?"


def avatar_tone(key: str | None) -> int:
    """A stable colour index (0-5) for an avatar."""
    return sum((key or "").encode()) % 6


def price(value: float | None) -> str:
    """A treatment's price as a clinic writes it: `120`, `85.50`, `1,200`."""
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


FILTERS: dict[str, Callable[..., Any]] = {
    "clock": clock,
    "zone_names": zone_names,
    "phone": phone,
    "cancellation_reason": cancellation_reason,
    "day_label": day_label,
    "long_date": long_date,
    "month_short": month_short,
    "day_number": day_number,
    "status_label": status_label,
    "source_label": source_label,
    "urgency_label": urgency_label,
    "initials": initials,
    "ms": ms,
    "avatar_tone": avatar_tone,
    "price": price,
}
