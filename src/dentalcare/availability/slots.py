"""The free-slot engine: a pure function of a schedule, the busy times and an injected `now`.

No I/O, no database, no clock reads, so it is tested exhaustively (hypothesis) and the
service layer only loads rows and renders the result.

Semantics:

* **Working intervals of a date** = the windows of its weekday with `is_available`
  true, plus the extra-hours exceptions (`is_available` true) covering that date,
  minus the time-off exceptions (`is_available` false; without times, or with only
  one of them, the whole day) covering it. An exception covers `date` alone, or with
  `until` every date of `date..until` inclusive (a two-week holiday is one entry; its
  hours, if given, apply on each of those dates); a range with `until < date` is
  empty and covers nothing, like an interval with `start >= end`. Overlapping and
  adjacent intervals are merged. Intervals with `start >= end` are empty and
  ignored; so are extra hours without times.
* **Treatment**: what is booked lasts `duration_minutes` and occupies the dentist and
  a chair from `buffer_before_minutes` before its start to `buffer_after_minutes`
  after its end. Without one, the treatment is `slot_minutes` long with no buffers,
  which is the engine's behaviour before treatments existed.
* **Candidate starts** lie on the dentist's grid: each working interval's start plus
  a whole number of `slot_minutes`. A start `s` is offered only if the whole occupied
  wall-clock interval `[s - before, s + duration + after)` lies inside that one
  working interval: 09:00-12:30 in 30-minute slots gives 09:00 ... 12:00; a 90-minute
  treatment in 09:00-12:00 gives 09:00 ... 10:30; 10 minutes before it moves the first
  start to 09:30, the next point of the grid anchored at 09:00.
* **Time zones**: slot times are wall-clock times in the dentist's zone. A local time
  that does not exist (spring-forward gap) or is ambiguous (fall-back fold) is never
  offered: the database derives the instant from date + time with PostgreSQL's own
  rules, and offering only unambiguous times keeps both sides in agreement.
  `ends_at` is `starts_at` plus `duration_minutes` of real (elapsed) time, like the
  database's `starts_at + make_interval(mins => ...)`, and the occupied instants are
  `[starts_at - before, ends_at + after)` in elapsed time too (`occupied`).
* **Busy, chairs, closures and notice**: a start is not offered on a date in
  `closures` (the clinic is shut), if its occupied instants overlap one of the
  dentist's `Busy` intervals (half-open, so an appointment ending at 10:00 does not
  block a 10:00 start; busy intervals are occupied intervals, buffers included), if
  `chairs` is given and every chair's busy list overlaps them (`chairs=None`: the
  clinic has no chairs and only the dentist counts; `chairs=[]`: chairs exist but
  none is active, so nothing can be booked), or if `starts_at < now + min_notice`.

All instants are compared in UTC: Python compares two datetimes that share a tzinfo
by wall clock, which is wrong across a DST change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from zoneinfo import ZoneInfo

_US_PER_MINUTE = 60_000_000

# A half-open interval of one day in microseconds since local midnight.
_Span = tuple[int, int]
# A slot start: wall time, the same with fold=1, microseconds since midnight.
_Start = tuple[time, time, int]
# A half-open interval of instants as microseconds since the Unix epoch (see `_instant`).
_Interval = tuple[int, int]
# `date` inside DateException's body names its field, not the type.
_Date = date


@dataclass(frozen=True, slots=True)
class Window:
    """A weekly working window in the dentist's local wall-clock time (0 = Monday)."""

    day_of_week: int
    start: time
    end: time
    is_available: bool = True


@dataclass(frozen=True, slots=True)
class DateException:
    """Time off (whole day or [start, end)) or extra hours on `date`, or each day to `until`."""

    date: date
    start: time | None
    end: time | None
    is_available: bool
    until: _Date | None = None


@dataclass(frozen=True, slots=True)
class Treatment:
    """What is being booked: its length and the chair-time it needs either side."""

    duration_minutes: int
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0


@dataclass(frozen=True, slots=True)
class Busy:
    """An occupied interval of a dentist or a chair (timezone-aware instants)."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class BusyTimes:
    """Occupied intervals of a dentist or a chair as two parallel sequences of integer
    microseconds since the Unix epoch (UTC): interval i is [starts_us[i], ends_us[i]).

    The same meaning as a list of `Busy`, without an object per interval: what a
    database returns as two int8 arrays goes to the engine as it is."""

    starts_us: Sequence[int]
    ends_us: Sequence[int]


@dataclass(frozen=True, slots=True)
class Slot:
    """A free slot: its local date and time, and the treatment's aware instants in the
    dentist's zone."""

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
    """Weekly windows by weekday and exceptions by date, indexed once per call.

    Only the dates `first..last` are indexed: a range exception is spread over the
    dates it shares with the request, so an open-ended leave costs no more than the
    request's own days."""

    def __init__(
        self,
        weekly: Sequence[Window],
        exceptions: Sequence[DateException],
        first: date,
        last: date,
    ) -> None:
        by_day: dict[int, list[_Span]] = {}
        for window in weekly:
            if window.is_available:
                span = (_us(window.start), _us(window.end))
                by_day.setdefault(window.day_of_week, []).append(span)
        self.weekly = {day: _merge(spans) for day, spans in by_day.items()}
        self.exceptions: dict[date, list[DateException]] = {}
        for exception in exceptions:
            covers_to = exception.date if exception.until is None else exception.until
            # Ordinals rather than `+ timedelta`, which overflows at date.max.
            lo = max(exception.date, first).toordinal()
            hi = min(covers_to, last).toordinal()
            for ordinal in range(lo, hi + 1):
                self.exceptions.setdefault(date.fromordinal(ordinal), []).append(exception)
        self._starts: dict[tuple[int, int, int, tuple[_Span, ...]], list[_Start]] = {}

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

    def starts(self, on: date, step_us: int, lead_us: int, tail_us: int) -> list[_Start]:
        """That date's candidate start times, before time zones, busy times and notice:
        grid points `s` of each interval with `[s - lead, s + tail)` inside it."""
        key = (step_us, lead_us, tail_us, tuple(self.spans(on)))
        starts = self._starts.get(key)
        if starts is None:
            starts = self._starts[key] = [
                (wall, wall.replace(fold=1), at)
                for span_start, span_end in key[3]
                # The first grid point at least `lead` after the interval's start.
                for at in range(
                    span_start + -(-lead_us // step_us) * step_us, span_end - tail_us + 1, step_us
                )
                for wall in (_time(at),)
            ]
        return starts


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.date().toordinal()
_US_PER_DAY = 86_400_000_000
_ONE_US = timedelta(microseconds=1)
# Beyond any instant a datetime can hold (year 9999 is about 2.5e17 microseconds).
_FAR = 1 << 80
# Sentinel ending every sorted interval list: a sweep needs no bounds check.
_END: _Interval = (_FAR, _FAR)
_by_start = itemgetter(0)


def _instant(moment: datetime, name: str) -> int:
    """Microseconds since the Unix epoch: instants compare by value, whatever their
    tzinfo (exact: datetimes and timedeltas have microsecond resolution)."""
    try:
        return (moment - _EPOCH) // _ONE_US
    except TypeError:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}") from None


class _Sweep:
    """One pass over a busy list, sorted once, for queries whose ends never decrease."""

    __slots__ = ("_intervals", "_next", "_blocked_until")

    def __init__(self, busy: Sequence[Busy] | BusyTimes, name: str) -> None:
        # Empty or inverted intervals block nothing. Sorting by start alone is all the
        # sweep needs, and much cheaper than comparing tuples (already sorted: linear).
        if isinstance(busy, BusyTimes):
            self._intervals = [
                (starts, ends)
                for starts, ends in zip(busy.starts_us, busy.ends_us, strict=True)
                if starts < ends
            ]
        else:
            try:
                self._intervals = [
                    (starts, ends)
                    for b in busy
                    if (starts := (b.starts_at - _EPOCH) // _ONE_US)
                    < (ends := (b.ends_at - _EPOCH) // _ONE_US)
                ]
            except TypeError:
                for b in busy:  # name the culprit
                    _instant(b.starts_at, f"{name}.starts_at")
                    _instant(b.ends_at, f"{name}.ends_at")
                raise
        self._intervals.sort(key=_by_start)
        self._intervals.append(_END)
        self._next = 0
        # The latest end among the intervals that start before the last query's end.
        self._blocked_until = -_FAR

    def free(self, starts: int, ends: int) -> bool:
        """Whether `[starts, ends)` overlaps no interval; `ends` at least the last call's."""
        intervals = self._intervals
        while intervals[self._next][0] < ends:
            if intervals[self._next][1] > self._blocked_until:
                self._blocked_until = intervals[self._next][1]
            self._next += 1
        return self._blocked_until <= starts


def working_intervals(
    *, weekly: Sequence[Window], exceptions: Sequence[DateException], on: date
) -> list[tuple[time, time]]:
    """That date's working hours (weekly windows + extra hours - time off), merged, ordered."""
    return [(_time(s), _time(e)) for s, e in _Schedule(weekly, exceptions, on, on).spans(on)]


def occupied(slot_starts_at: datetime, slot_ends_at: datetime, treatment: Treatment) -> Busy:
    """The interval a booking of this slot occupies: [starts_at - before, ends_at + after)
    in elapsed time, each end in its own tzinfo."""
    for moment, name in ((slot_starts_at, "slot_starts_at"), (slot_ends_at, "slot_ends_at")):
        _instant(moment, name)
    # Aware arithmetic in a tzinfo is wall-clock arithmetic: go through UTC for real time.
    before = timedelta(minutes=treatment.buffer_before_minutes)
    after = timedelta(minutes=treatment.buffer_after_minutes)
    return Busy(
        (slot_starts_at.astimezone(UTC) - before).astimezone(slot_starts_at.tzinfo),
        (slot_ends_at.astimezone(UTC) + after).astimezone(slot_ends_at.tzinfo),
    )


def _check(treatment: Treatment, slot_minutes: int) -> None:
    if slot_minutes <= 0:
        raise ValueError(f"slot_minutes must be positive, got {slot_minutes}")
    if treatment.duration_minutes <= 0:
        raise ValueError(f"duration_minutes must be positive, got {treatment.duration_minutes}")
    if treatment.buffer_before_minutes < 0 or treatment.buffer_after_minutes < 0:
        raise ValueError(f"buffers must not be negative, got {treatment!r}")


def free_slots(
    *,
    weekly: Sequence[Window],
    exceptions: Sequence[DateException],
    busy: Sequence[Busy] | BusyTimes,
    timezone: str | ZoneInfo,
    slot_minutes: int,
    start: date,
    end: date,
    now: datetime,
    min_notice: timedelta,
    treatment: Treatment | None = None,
    closures: Collection[date] = (),
    chairs: Sequence[Sequence[Busy] | BusyTimes] | None = None,
) -> list[Slot]:
    """Free starts for `treatment` on the local dates start..end inclusive, by starts_at."""
    treatment = Treatment(slot_minutes) if treatment is None else treatment
    _check(treatment, slot_minutes)
    zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    duration = timedelta(minutes=treatment.duration_minutes)
    before = treatment.buffer_before_minutes * _US_PER_MINUTE
    # From the treatment's start to the end of its after-buffer.
    tail = (treatment.duration_minutes + treatment.buffer_after_minutes) * _US_PER_MINUTE
    earliest = _instant(now, "now") + min_notice // _ONE_US
    dentist = _Sweep(busy, "Busy")
    chair_sweeps = None if chairs is None else [_Sweep(c, "chairs Busy") for c in chairs]
    # No dates, or chairs in the clinic but none active: nothing can be booked (the inputs
    # are still checked above, so a naive instant fails however short the range).
    if chair_sweeps == [] or end < start:
        return []
    closed = frozenset(closures)
    schedule = _Schedule(weekly, exceptions, start, end)
    grid = (
        slot_minutes * _US_PER_MINUTE,
        treatment.buffer_before_minutes * _US_PER_MINUTE,
        (treatment.duration_minutes + treatment.buffer_after_minutes) * _US_PER_MINUTE,
    )

    slots: list[Slot] = []
    for ordinal in range(start.toordinal(), end.toordinal() + 1):
        on = date.fromordinal(ordinal)
        if on in closed:
            continue
        midnight = (ordinal - _EPOCH_ORDINAL) * _US_PER_DAY
        for wall, wall_fold, since_midnight in schedule.starts(on, *grid):
            local = datetime.combine(on, wall, zone)
            offset = zone.utcoffset(local)
            # Unequal offsets for the two folds mark a gap or a fold (PEP 495): skip.
            if offset is None or offset != zone.utcoffset(datetime.combine(on, wall_fold)):
                continue
            starts = midnight + since_midnight - offset // _ONE_US
            # Unambiguous local times map to strictly increasing instants, so the occupied
            # intervals' ends only grow and one sweep per busy list suffices (no slots x
            # busy comparisons). A sweep that is not asked about a start catches up later.
            if starts < earliest or not dentist.free(starts - before, starts + tail):
                continue
            if chair_sweeps is not None:
                for chair in chair_sweeps:
                    if chair.free(starts - before, starts + tail):
                        break
                else:
                    continue
            # `local - offset` carries the UTC wall fields, which is what fromutc expects.
            slots.append(Slot(on, wall, local, zone.fromutc(local - offset + duration)))
    return slots


def is_free(
    *,
    weekly: Sequence[Window],
    exceptions: Sequence[DateException],
    busy: Sequence[Busy] | BusyTimes,
    timezone: str | ZoneInfo,
    slot_minutes: int,
    on: date,
    at: time,
    now: datetime,
    min_notice: timedelta,
    treatment: Treatment | None = None,
    closures: Collection[date] = (),
    chairs: Sequence[Sequence[Busy] | BusyTimes] | None = None,
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
        treatment=treatment,
        closures=closures,
        chairs=chairs,
    )
    return any(slot.time == at for slot in offered)
