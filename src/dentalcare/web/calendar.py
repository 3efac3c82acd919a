"""The dentist's week as a time grid (pure, no I/O): every visit is one block as long as
it lasts, beside the working hours, time off and the clinic's closed days.

The grid has one row per `ROW_MINUTES`; a block is placed by its first row and how many
rows it spans. The page's CSP allows no inline styles, so the template writes these as
classes (`gr<row>`, `gs<span>`) that `static/css/week-grid.css` defines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from dentalcare.availability.slots import DateException, Window, working_intervals
from dentalcare.web.filters import day_label, long_date

ROW_MINUTES = 5
ROWS_PER_DAY = 24 * 60 // ROW_MINUTES
# Row 1 of a day's column is its heading; the hours start below it.
HEADING_ROWS = 1
# The hours shown when nothing in the week says otherwise.
DEFAULT_FIRST, DEFAULT_LAST = 8 * 60, 18 * 60
# Statuses whose time stays taken (a cancelled visit leaves its time free).
SHOWN_STATUSES = frozenset({"pending", "confirmed", "completed", "no_show"})


def minutes_of(value: str | time) -> int:
    """`HH:MM` (or a time) as minutes since midnight."""
    if isinstance(value, str):
        value = time.fromisoformat(value)
    return value.hour * 60 + value.minute


def clock(minutes: int) -> str:
    """Minutes since midnight as `HH:MM` (24:00 for the end of the day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class Block:
    """Something on a day of the grid, from `start` to `end` (minutes since midnight)."""

    kind: str  # "visit", "buffer", "hours", "time-off", "extra"
    start: int
    end: int
    row: int  # first grid row, 1-based, the heading included
    span: int  # rows covered, at least 1
    label: str = ""
    item: Mapping[str, Any] | None = None
    all_day: bool = False

    @property
    def minutes(self) -> int:
        """How long it lasts."""
        return self.end - self.start

    @property
    def times(self) -> str:
        """`10:00–11:30`."""
        return f"{clock(self.start)}–{clock(self.end)}"


@dataclass
class CalendarDay:
    """One column of the week."""

    date: date
    is_today: bool
    is_past: bool
    blocks: list[Block] = field(default_factory=list)
    # Whole-day notes: the clinic closed, the dentist away (with the reason).
    notes: list[dict[str, str]] = field(default_factory=list)

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

    @property
    def visits(self) -> list[Block]:
        """The day's appointments, in order."""
        return [b for b in self.blocks if b.kind == "visit"]


@dataclass
class WeekCalendar:
    """Seven days of blocks over the hours `first`..`last` (minutes since midnight)."""

    first: int
    last: int
    days: list[CalendarDay]

    @property
    def rows(self) -> int:
        """Grid rows of a day column."""
        return (self.last - self.first) // ROW_MINUTES

    @property
    def hours(self) -> list[tuple[str, int]]:
        """(`HH:00`, grid row) of each hour line."""
        return [(clock(m), self._row(m)) for m in range(self.first, self.last, 60) if m % 60 == 0]

    def _row(self, minute: int) -> int:
        return (minute - self.first) // ROW_MINUTES + 1 + HEADING_ROWS


def _place(first: int, last: int, kind: str, start: int, end: int, **extra: Any) -> Block | None:
    """A block clipped to the grid's hours (None when nothing of it is inside)."""
    top, bottom = max(start, first), min(end, last)
    if bottom <= top:
        return None
    row = (top - first) // ROW_MINUTES + 1
    last_row = -(-(bottom - first) // ROW_MINUTES)  # rounded up
    return Block(kind, start, end, row + HEADING_ROWS, max(1, last_row - row + 1), **extra)


def _windows(weekly: Iterable[Mapping[str, Any]]) -> list[Window]:
    return [
        Window(
            w["day_of_week"],
            time.fromisoformat(w["start_time"]),
            time.fromisoformat(w["end_time"]),
            w["is_available"],
        )
        for w in weekly
    ]


def _exceptions(exceptions: Iterable[Mapping[str, Any]]) -> list[DateException]:
    return [
        DateException(
            date.fromisoformat(e["date"]),
            time.fromisoformat(e["start_time"]) if e.get("start_time") else None,
            time.fromisoformat(e["end_time"]) if e.get("end_time") else None,
            e["is_available"],
            date.fromisoformat(e["until"]) if e.get("until") else None,
        )
        for e in exceptions
    ]


def _covers(exception: Mapping[str, Any], on: date) -> bool:
    first = date.fromisoformat(exception["date"])
    last = date.fromisoformat(exception["until"]) if exception.get("until") else first
    return first <= on <= last


def _span_of(appointment: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(start, end, buffer before, buffer after) of a visit, in minutes since midnight."""
    start = minutes_of(appointment["appointment_time"])
    end = start + int(appointment["duration_minutes"])
    before = int(appointment.get("buffer_before_minutes") or 0)
    after = int(appointment.get("buffer_after_minutes") or 0)
    return start, end, before, after


def week_calendar(
    *,
    start: date,
    today: date,
    appointments: Iterable[Mapping[str, Any]],
    weekly: Sequence[Mapping[str, Any]],
    exceptions: Sequence[Mapping[str, Any]],
    closures: Sequence[Mapping[str, Any]],
) -> WeekCalendar:
    """The seven days from `start`: visits (cancelled ones left out: their time is free),
    their buffers, the working hours, time off (a date range on each of its days) and
    closures, on a grid from the earliest to the latest hour any of them needs."""
    dates = [start + timedelta(days=i) for i in range(7)]
    windows, dated = _windows(weekly), _exceptions(exceptions)
    hours = {on: working_intervals(weekly=windows, exceptions=dated, on=on) for on in dates}
    visits: dict[date, list[Mapping[str, Any]]] = {on: [] for on in dates}
    for appointment in appointments:
        on = date.fromisoformat(str(appointment["appointment_date"])[:10])
        if on in visits and appointment["status"] in SHOWN_STATUSES:
            visits[on].append(appointment)
    off = {on: [e for e in exceptions if not e["is_available"] and _covers(e, on)] for on in dates}
    edges = [minutes_of(s) for spans in hours.values() for s, _ in spans]
    edges += [minutes_of(e) or 24 * 60 for spans in hours.values() for _, e in spans]
    for day_visits in visits.values():
        for appointment in day_visits:
            begin, end, before, after = _span_of(appointment)
            edges += [begin - before, end + after]
    for day_off in off.values():
        for e in day_off:
            if e.get("start_time"):
                edges += [minutes_of(e["start_time"]), minutes_of(e["end_time"])]
    first = min([DEFAULT_FIRST, *edges]) // 60 * 60
    last = min(24 * 60, -(-max([DEFAULT_LAST, *edges]) // 60) * 60)
    first = max(0, first)
    closed = {str(c["date"])[:10]: c for c in closures}
    days = []
    for on in dates:
        day = CalendarDay(date=on, is_today=on == today, is_past=on < today)
        if on.isoformat() in closed:
            reason = closed[on.isoformat()].get("reason") or ""
            day.notes.append({"kind": "closure", "text": "Clinic closed", "reason": reason})
        # A closed day has no working hours, whatever the week says.
        for opens, closes in [] if day.notes else hours[on]:
            block = _place(first, last, "hours", minutes_of(opens), minutes_of(closes) or 24 * 60)
            if block is not None:
                day.blocks.append(block)
        for e in off[on]:
            reason = e.get("reason") or ""
            if not e.get("start_time"):
                text = "Time off"
                if e.get("until"):
                    text += f" until {day_label(e['until'])}"
                day.notes.append({"kind": "time-off", "text": text, "reason": reason})
                block = _place(
                    first, last, "time-off", first, last, label=reason or text, all_day=True
                )
            else:
                block = _place(
                    first,
                    last,
                    "time-off",
                    minutes_of(e["start_time"]),
                    minutes_of(e["end_time"]),
                    label=reason or "Time off",
                )
            if block is not None:
                day.blocks.append(block)
        for appointment in sorted(visits[on], key=lambda a: str(a["appointment_time"])):
            begin, end, before, after = _span_of(appointment)
            for edge_start, edge_end in ((begin - before, begin), (end, end + after)):
                if edge_end > edge_start:
                    buffer = _place(first, last, "buffer", edge_start, edge_end)
                    if buffer is not None:
                        day.blocks.append(buffer)
            block = _place(first, last, "visit", begin, end, item=appointment)
            if block is not None:
                day.blocks.append(block)
        days.append(day)
    return WeekCalendar(first=first, last=last, days=days)
