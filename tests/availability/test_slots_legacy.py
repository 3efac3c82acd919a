"""Today's behaviour is kept: with no treatment, closures or chairs the engine gives exactly
what it gave before treatments existed, checked against a verbatim copy of that engine.

`legacy_free_slots` below is `free_slots` as of commit 7f98c72 (before issue 12), with its
private helpers, renamed and otherwise unchanged; it uses the engine's own data classes,
of which it reads only the fields that existed then. `bench/slots_engine.py` uses it as the
reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings

from dentalcare.availability.slots import (
    Busy,
    DateException,
    Slot,
    Treatment,
    Window,
    free_slots,
)
from tests.availability.test_slots import cases

# --- the engine as of 7f98c72 --------------------------------------------------------------

_US_PER_MINUTE = 60_000_000
_ONE_DAY = timedelta(days=1)

# A half-open interval of one day in microseconds since local midnight.
_Span = tuple[int, int]
# A slot start: wall time, the same with fold=1, time since midnight.
_Start = tuple[time, time, timedelta]


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


def legacy_free_slots(
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


# --- the property ------------------------------------------------------------------------


def exactly(offered: list[Slot]) -> list[tuple[Any, ...]]:
    """Every observable of the slots: a Slot's `==` compares same-zone datetimes by wall
    clock, blind to `fold` and to the instant."""
    return [
        (
            s.date,
            s.time,
            s.starts_at.replace(tzinfo=None),
            s.starts_at.tzinfo,
            s.starts_at.fold,
            s.starts_at.astimezone(UTC),
            s.ends_at.replace(tzinfo=None),
            s.ends_at.tzinfo,
            s.ends_at.fold,
            s.ends_at.astimezone(UTC),
        )
        for s in offered
    ]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(max_days=8))
def test_defaults_reproduce_the_engine_before_treatments(case: dict[str, Any]) -> None:
    before = exactly(legacy_free_slots(**case))
    assert exactly(free_slots(**case)) == before
    spelled_out = {
        "treatment": Treatment(case["slot_minutes"], 0, 0),
        "closures": (),
        "chairs": None,
    }
    assert exactly(free_slots(**case, **spelled_out)) == before
    # The same dates with `until` spelled as None, and closures outside the range.
    outside = [case["start"] - timedelta(days=1), case["end"] + timedelta(days=1)]
    ranged = [
        DateException(e.date, e.start, e.end, e.is_available, None) for e in case["exceptions"]
    ]
    assert exactly(free_slots(**{**case, "exceptions": ranged}, closures=outside)) == before


def test_the_copy_still_runs_the_examples() -> None:
    # A cheap guard that the copy is the engine it claims to be: a known answer.
    offered = legacy_free_slots(
        weekly=[Window(0, time(9), time(10, 10))],
        exceptions=[],
        busy=[
            Busy(datetime(2031, 6, 2, 9, 30, tzinfo=UTC), datetime(2031, 6, 2, 9, 31, tzinfo=UTC))
        ],
        timezone=ZoneInfo("UTC"),
        slot_minutes=30,
        start=date(2031, 6, 2),
        end=date(2031, 6, 2),
        now=datetime(2000, 1, 1, tzinfo=UTC),
        min_notice=timedelta(0),
    )
    assert [s.time for s in offered] == [time(9)]
