"""Jinja filters: dates, labels and initials as the portals show them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from dentalcare.vocabulary import BookingSource, Status, Urgency

# One label for every value of the vocabulary (tests/test_vocabulary.py checks that none
# is missing).
STATUS_LABELS: dict[Status, str] = {
    "pending": "Pending",
    "confirmed": "Confirmed",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}
SOURCE_LABELS: dict[BookingSource, str] = {"manual": "Web", "chatbot": "Chatbot", "admin": "Admin"}
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


FILTERS: dict[str, Callable[..., Any]] = {
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
}
