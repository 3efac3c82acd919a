"""Pure helpers that shape service results for the templates (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dentalcare.vocabulary import ACTIVE, Status
from dentalcare.web.filters import day_label, long_date

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Day:
    """One column of a week view."""

    date: date
    is_today: bool
    is_past: bool
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def iso(self) -> str:
        """`YYYY-MM-DD`."""
        return self.date.isoformat()

    @property
    def label(self) -> str:
        """`Mon 24 Nov`."""
        return day_label(self.date)

    @property
    def long_label(self) -> str:
        """`Monday 24 November 2026`."""
        return long_date(self.date)


@dataclass
class Week:
    """Seven days from `start`, with their items (slots or appointments)."""

    start: date
    today: date
    days: list[Day]

    @property
    def end(self) -> date:
        """The last of the seven days."""
        return self.start + timedelta(days=6)

    @property
    def previous(self) -> date:
        """The first day of the 7 days before (never before today)."""
        return max(self.start - timedelta(days=7), min(self.today, self.start))

    @property
    def next(self) -> date:
        """The first day of the 7 days after."""
        return self.start + timedelta(days=7)

    @property
    def has_previous(self) -> bool:
        """Whether there are earlier days that are not over."""
        return self.start > self.today

    @property
    def title(self) -> str:
        """`24 – 30 Nov 2026` (months and years only where they differ)."""
        a, b = self.start, self.end
        if a.year != b.year:
            return f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y}"
        if a.month != b.month:
            return f"{a.day} {a:%b} – {b.day} {b:%b %Y}"
        return f"{a.day} – {b.day} {b:%b %Y}"

    @property
    def count(self) -> int:
        """How many items the week holds."""
        return sum(len(d.items) for d in self.days)


def build_week(
    start: date, today: date, items: Iterable[Mapping[str, Any]], *, date_key: str
) -> Week:
    """Seven days from `start` with `items` placed on their day (`item[date_key]`)."""
    days = [Day(date=start + timedelta(days=i), is_today=False, is_past=False) for i in range(7)]
    for day in days:
        day.is_today = day.date == today
        day.is_past = day.date < today
    by_date = {d.iso: d for d in days}
    for item in items:
        target = by_date.get(str(item[date_key]))
        if target is not None:
            target.items.append(dict(item))
    return Week(start=start, today=today, days=days)


def parse_start(value: str | None, today: date) -> date:
    """The first day of a 7-day view: `YYYY-MM-DD`, or today."""
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return today


def status_actions(
    appointment: Mapping[str, Any], role: str, now: datetime | None = None
) -> list[dict[str, str]]:
    """The status buttons to offer (cancel aside): confirm while pending; complete and
    no-show once a confirmed appointment has begun. The services decide what is allowed."""
    if role == "patient":
        return []
    status: Status = appointment["status"]
    begun = datetime.fromisoformat(str(appointment["starts_at"])) <= (now or datetime.now(UTC))
    actions: list[dict[str, str]] = []
    if status == "pending":
        actions.append({"status": "confirmed", "label": "Confirm", "style": "primary"})
    if status == "confirmed" and begun:
        actions.append({"status": "completed", "label": "Complete", "style": "primary"})
        actions.append({"status": "no_show", "label": "No-show", "style": "ghost"})
    return actions


def split_upcoming(
    items: Iterable[Mapping[str, Any]], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(upcoming active appointments, the rest newest first) for a patient's list."""
    upcoming, past = [], []
    for item in items:
        starts = datetime.fromisoformat(str(item["starts_at"]))
        if item["status"] in ACTIVE and starts >= now:
            upcoming.append(dict(item))
        else:
            past.append(dict(item))
    past.reverse()
    return upcoming, past


def clean_form(form: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a form, stripped, with empty values left out."""
    out: dict[str, Any] = {}
    for name in fields:
        value = form.get(name)
        if isinstance(value, str):
            value = value.strip()
            if value:
                out[name] = value
    return out
