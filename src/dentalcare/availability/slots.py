"""The free-slot engine: a pure function of a schedule, the busy times and an injected `now`.

No I/O, no database, no clock reads, so it is tested exhaustively (hypothesis) and the
service layer only loads rows and renders the result.

Semantics:

* **Working intervals of a date** = the windows of its weekday with `is_available`
  true, plus that date's extra-hours exceptions (`is_available` true), minus that
  date's time-off exceptions (`is_available` false; without times, or with only one
  of them, the whole day). Overlapping and adjacent intervals are merged. Intervals
  with `start >= end` are empty and ignored; so are extra hours without times.
* **Slots** start at the start of each working interval and step by `slot_minutes`;
  a slot must end (wall clock) within its interval: 09:00-12:30 in 30-minute slots
  gives 09:00 ... 12:00, 09:00-10:10 gives 09:00 and 09:30.
* **Time zones**: slot times are wall-clock times in the dentist's zone. A local time
  that does not exist (spring-forward gap) or is ambiguous (fall-back fold) is never
  offered: the database derives the instant from date + time with PostgreSQL's own
  rules, and offering only unambiguous times keeps both sides in agreement.
  `ends_at` is `starts_at` plus `slot_minutes` of real (elapsed) time, like the
  database's `starts_at + make_interval(mins => ...)`.
* **Busy and notice**: a slot is not offered if `[starts_at, ends_at)` overlaps a
  `Busy` interval (half-open, so an appointment ending at 10:00 does not block a
  10:00 slot), or if `starts_at < now + min_notice`.

All instants are compared in UTC: Python compares two datetimes that share a tzinfo
by wall clock, which is wrong across a DST change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_US_PER_MINUTE = 60_000_000
_ONE_DAY = timedelta(days=1)

# A half-open interval of one day in microseconds since local midnight.
_Span = tuple[int, int]
# A slot start: wall time, the same with fold=1, time since midnight.
_Start = tuple[time, time, timedelta]


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly working window in the dentist's local wall-clock time (0 = Monday)."""

    day_of_week: int
    start: time
    end: time
    is_available: bool = True


@dataclass(frozen=True, slots=True)
class DateException:
    """One date's exception: time off (whole day or [start, end)) or extra hours."""

    date: date
    start: time | None
    end: time | None
    is_available: bool


@dataclass(frozen=True, slots=True)
class Busy:
    """An active appointment's instants (timezone-aware)."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Slot:
    """A free slot: its local date and time, and its aware instants in the dentist's zone."""

    date: date
    time: time
    starts_at: datetime
    ends_at: datetime


def _us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _time(us: int) -> time:
    seconds, micro = divmod(us, 1_000_000)
    minutes, second = divmod(seconds, 60)
    return time(minutes // 60, minutes % 60, second, micro)


def _merge(spans: list[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _subtract(spans: list[_Span], holes: list[_Span]) -> list[_Span]:
    """`spans` minus `holes`; both merged and ordered."""
    result: list[_Span] = []
    for start, end in spans:
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
        if cursor < end:
            result.append((cursor, end))
    return result


class _Schedule:
    """Weekly windows by weekday and exceptions by date, indexed once per call."""

    def __init__(self, weekly: Sequence[Window], exceptions: Sequence[DateException]) -> None:
        by_day: dict[int, list[_Span]] = {}
        for window in weekly:
            if window.is_available:
                span = (_us(window.start), _us(window.end))
                by_day.setdefault(window.day_of_week, []).append(span)
        self.weekly = {day: _merge(spans) for day, spans in by_day.items()}
        self.exceptions: dict[date, list[DateException]] = {}
        for exception in exceptions:
            self.exceptions.setdefault(exception.date, []).append(exception)
        self._starts: dict[tuple[int, tuple[_Span, ...]], list[_Start]] = {}

    def spans(self, on: date) -> list[_Span]:
        """That date's working intervals (do not mutate: shared between dates)."""
        weekly = self.weekly.get(on.weekday(), [])
        if on not in self.exceptions:
            return weekly
        spans = list(weekly)
        holes: list[_Span] = []
        for exception in self.exceptions[on]:
            if exception.start is None or exception.end is None:
                if not exception.is_available:
                    return []
                continue
            span = (_us(exception.start), _us(exception.end))
            (spans if exception.is_available else holes).append(span)
        return _subtract(_merge(spans), _merge(holes))

    def starts(self, on: date, step_us: int) -> list[_Start]:
        """That date's slot start times, before time zones, busy times and notice."""
        key = (step_us, tuple(self.spans(on)))
        starts = self._starts.get(key)
        if starts is None:
            starts = self._starts[key] = [
                (wall, wall.replace(fold=1), timedelta(microseconds=at))
                for span_start, span_end in key[1]
                for at in range(span_start, span_end - step_us + 1, step_us)
                for wall in (_time(at),)
            ]
        return starts


_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def _instant(moment: datetime, name: str) -> timedelta:
    """Time since 0001-01-01 UTC: instants compare by value, whatever their tzinfo."""
    try:
        return moment - _EPOCH
    except TypeError:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}") from None


def working_intervals(
    *, weekly: Sequence[Window], exceptions: Sequence[DateException], on: date
) -> list[tuple[time, time]]:
    """That date's working hours (weekly windows + extra hours - time off), merged, ordered."""
    return [(_time(s), _time(e)) for s, e in _Schedule(weekly, exceptions).spans(on)]


def free_slots(
    *,
    weekly: Sequence[Window],
    exceptions: Sequence[DateException],
    busy: Sequence[Busy],
    timezone: str | ZoneInfo,
    slot_minutes: int,
    start: date,
    end: date,
    now: datetime,
    min_notice: timedelta,
) -> list[Slot]:
    """Free slots on the local dates start..end inclusive, ordered by starts_at."""
    if slot_minutes <= 0:
        raise ValueError(f"slot_minutes must be positive, got {slot_minutes}")
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    step = timedelta(minutes=slot_minutes)
    earliest = _instant(now, "now") + min_notice
    intervals = sorted(
        (_instant(b.starts_at, "Busy.starts_at"), _instant(b.ends_at, "Busy.ends_at")) for b in busy
    )
    intervals = [(s, e) for s, e in intervals if s < e]
    intervals.append((timedelta.max, timedelta.max))  # sentinel: the sweep needs no bounds check
    schedule = _Schedule(weekly, exceptions)

    slots: list[Slot] = []
    next_busy = 0
    # The latest end among the busy intervals that start before the current slot ends.
    blocked_until = timedelta.min
    on = start
    while on <= end:
        midnight = timedelta(days=on.toordinal() - 1)
        for wall, wall_fold, since_midnight in schedule.starts(on, slot_minutes * _US_PER_MINUTE):
            local = datetime.combine(on, wall, zone)
            offset = zone.utcoffset(local)
            # Unequal offsets for the two folds mark a gap or a fold (PEP 495): skip.
            if offset is None or offset != zone.utcoffset(datetime.combine(on, wall_fold)):
                continue
            starts = midnight + since_midnight - offset
            ends = starts + step
            # Unambiguous local times map to strictly increasing instants, so one sweep
            # over the sorted busy intervals suffices (no slots x busy comparisons).
            while intervals[next_busy][0] < ends:
                if intervals[next_busy][1] > blocked_until:
                    blocked_until = intervals[next_busy][1]
                next_busy += 1
            if starts < earliest or blocked_until > starts:
                continue
            # `local - offset` carries the UTC wall fields, which is what fromutc expects.
            slots.append(Slot(on, wall, local, zone.fromutc(local - offset + step)))
        on += _ONE_DAY
    return slots


def is_free(
    *,
    weekly: Sequence[Window],
    exceptions: Sequence[DateException],
    busy: Sequence[Busy],
    timezone: str | ZoneInfo,
    slot_minutes: int,
    on: date,
    at: time,
    now: datetime,
    min_notice: timedelta,
) -> bool:
    """Whether (on, at) is a slot that free_slots would offer."""
    # Defined through free_slots so the two can never disagree; one day is cheap.
    offered = free_slots(
        weekly=weekly,
        exceptions=exceptions,
        busy=busy,
        timezone=timezone,
        slot_minutes=slot_minutes,
        start=on,
        end=on,
        now=now,
        min_notice=min_notice,
    )
    return any(slot.time == at for slot in offered)
