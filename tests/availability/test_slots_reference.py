"""The slot engine for treatments against a brute-force reference written here from the
module docstring's rules alone: it shares nothing with the engine but the data classes.

Mixed durations and buffers, 0-4 chairs, closures, date-range exceptions, and zones with
DST changes (Lord Howe's is 30 minutes) inside the random ranges.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dentalcare.availability.slots import (
    Busy,
    DateException,
    Slot,
    Treatment,
    Window,
    free_slots,
    is_free,
    occupied,
)


def elapsed(a: datetime, b: datetime) -> timedelta:
    """Real time from a to b."""
    return b.astimezone(UTC) - a.astimezone(UTC)


# --- properties --------------------------------------------------------------------------
#
# Times are whole minutes, so a day is 1440 booleans; the reference checks each rule of the
# module docstring literally, minute by minute, with aware datetimes from zoneinfo.

# The zones under test and their DST changes in 2030-2031 (all on Sundays).
DST_DATES: dict[str, list[date]] = {
    "UTC": [],
    "Europe/London": [date(2030, 3, 31), date(2030, 10, 27), date(2031, 3, 30), date(2031, 10, 26)],
    "America/New_York": [date(2030, 3, 10), date(2030, 11, 3), date(2031, 3, 9), date(2031, 11, 2)],
    "Australia/Lord_Howe": [
        date(2030, 4, 7),
        date(2030, 10, 6),
        date(2031, 4, 6),
        date(2031, 10, 5),
    ],
}


def minute_of(t: time) -> int:
    """Minutes since midnight."""
    return t.hour * 60 + t.minute


def clock(m: int) -> time:
    """The time `m` minutes after midnight."""
    return time(m // 60, m % 60)


def covers(exception: DateException, on: date) -> bool:
    """The exception applies on that date."""
    last = exception.date if exception.until is None else exception.until
    return exception.date <= on <= last


def worked(case: dict[str, Any], on: date) -> list[bool]:
    """Which minutes of `on` the dentist works."""
    minutes = [False] * 1440
    for w in case["weekly"]:
        if w.is_available and w.day_of_week == on.weekday():
            for m in range(minute_of(w.start), minute_of(w.end)):
                minutes[m] = True
    todays = [e for e in case["exceptions"] if covers(e, on)]
    for e in todays:
        if e.is_available and e.start is not None and e.end is not None:
            for m in range(minute_of(e.start), minute_of(e.end)):
                minutes[m] = True
    for e in todays:
        if e.is_available:
            continue
        if e.start is None or e.end is None:
            return [False] * 1440
        for m in range(minute_of(e.start), minute_of(e.end)):
            minutes[m] = False
    return minutes


def runs(minutes: list[bool]) -> list[tuple[int, int]]:
    """Maximal runs of worked minutes, as (first, end) pairs: the working intervals."""
    found: list[tuple[int, int]] = []
    for m in range(1440):
        if minutes[m] and found and found[-1][1] == m:
            found[-1] = (found[-1][0], m + 1)
        elif minutes[m]:
            found.append((m, m + 1))
    return found


def real_and_unique(on: date, wall: time, zone: ZoneInfo) -> bool:
    """The local time exists (survives a round trip) and names a single instant."""
    early = datetime.combine(on, wall, zone)
    late = early.replace(fold=1)
    back = early.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == early.replace(tzinfo=None) and (
        early.astimezone(UTC) == late.astimezone(UTC)
    )


def clash(a_start: datetime, a_end: datetime, b: Busy) -> bool:
    """Half-open overlap in UTC; an empty or inverted busy interval blocks nothing."""
    a0, a1 = a_start.astimezone(UTC), a_end.astimezone(UTC)
    b0, b1 = b.starts_at.astimezone(UTC), b.ends_at.astimezone(UTC)
    return b0 < b1 and a0 < b1 and b0 < a1


def reference(case: dict[str, Any]) -> list[tuple[date, time, datetime, datetime]]:
    """(date, time, UTC start, UTC end) of every start free_slots should offer."""
    zone = ZoneInfo(case["timezone"])
    t: Treatment = case["treatment"] or Treatment(case["slot_minutes"])
    step = case["slot_minutes"]
    earliest = case["now"] + case["min_notice"]
    offered = []
    on = case["start"]
    while on <= case["end"]:
        minutes = worked(case, on)
        # Each interval's own grid, from its start to its end.
        for s in (s for first, end in runs(minutes) for s in range(first, end, step)):
            before, after = t.buffer_before_minutes, t.buffer_after_minutes
            occupied_wall = range(s - before, s + t.duration_minutes + after)
            inside = all(0 <= m < 1440 and minutes[m] for m in occupied_wall)
            if on in case["closures"] or not inside or not real_and_unique(on, clock(s), zone):
                continue
            starts = datetime.combine(on, clock(s), zone).astimezone(UTC)
            ends = starts + timedelta(minutes=t.duration_minutes)
            lead = starts - timedelta(minutes=t.buffer_before_minutes)
            trail = ends + timedelta(minutes=t.buffer_after_minutes)
            dentist_free = not any(clash(lead, trail, b) for b in case["busy"])
            chair_free = case["chairs"] is None or any(
                not any(clash(lead, trail, b) for b in chair) for chair in case["chairs"]
            )
            if dentist_free and chair_free and starts >= earliest:
                offered.append((on, clock(s), starts, ends))
        on += timedelta(days=1)
    return offered


def intervals(draw: st.DrawFn) -> tuple[time, time]:
    """A random non-empty (start, end) pair of whole-minute times, often in the small hours."""
    minute = st.integers(0, 1439) | st.integers(0, 240)  # DST changes happen at night
    first, last = sorted(draw(st.lists(minute, min_size=2, max_size=2, unique=True)))
    return clock(first), clock(last)


def busy_lists(
    draw: st.DrawFn, dates: st.SearchStrategy[date], zone: ZoneInfo, most: int
) -> list[Busy]:
    """Occupied intervals on random dates, in the dentist's zone or in UTC."""
    busy = []
    lengths = st.sampled_from([0, 30, 60, 105]) | st.integers(0, 240)  # 0: blocks nothing
    hours = st.integers(0, 1439) | st.integers(0, 300)
    for _ in range(draw(st.integers(0, most))):
        local = datetime.combine(draw(dates), clock(draw(hours)), zone)
        local = local.replace(fold=draw(st.integers(0, 1)))
        if draw(st.booleans()):
            local = local.astimezone(UTC)
        # `+` in the zone is wall-clock arithmetic: across a DST change some intervals come
        # out longer, shorter or inverted, and the engine must take them as instants.
        busy.append(Busy(local, local + timedelta(minutes=draw(lengths))))
    return busy


@st.composite
def cases(draw: st.DrawFn, max_days: int = 6) -> dict[str, Any]:
    """A random schedule, range exceptions, treatment, busy lists, chairs, closures, clock."""
    zone_name = draw(st.sampled_from(sorted(DST_DATES)))
    zone = ZoneInfo(zone_name)
    any_date = st.dates(date(2030, 1, 1), date(2031, 12, 31))
    changes = DST_DATES[zone_name]
    start = draw(st.sampled_from(changes) | any_date if changes else any_date)
    start -= timedelta(days=draw(st.integers(0, 2)))
    days = draw(st.integers(0, max_days))
    dates = st.integers(0, days).map(lambda n: start + timedelta(days=n))

    weekly = []
    for _ in range(draw(st.integers(0, 10))):
        first, last = intervals(draw)
        day = draw(st.just(6) | st.integers(0, 6))  # DST changes fall on Sundays
        weekly.append(Window(day, first, last, draw(st.sampled_from([True, True, True, False]))))
    exceptions = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["whole day off", "time off", "extra hours"]))
        first, last = intervals(draw)
        on = start + timedelta(days=draw(st.integers(-15, days)))
        # None: that date alone; forwards: a range; backwards: an empty range.
        until = draw(st.none() | st.integers(-3, 15).map(lambda n, on=on: on + timedelta(days=n)))
        if kind == "whole day off":
            exceptions.append(DateException(on, None, None, False, until))
        else:
            exceptions.append(DateException(on, first, last, kind == "extra hours", until))
    chairs = draw(st.none() | st.integers(0, 4))
    treatment = draw(
        st.none()
        | st.builds(
            Treatment,
            st.sampled_from([20, 30, 45, 60, 90]) | st.integers(5, 180),
            st.sampled_from([0, 0, 5, 10]) | st.integers(0, 30),
            st.sampled_from([0, 0, 10, 15]) | st.integers(0, 30),
        )
    )
    # Half the time `now` lies before the range: a clock inside it hides most starts.
    soon = st.integers(-2 * 1440, 0) | st.integers(-2 * 1440, (days + 1) * 1440)
    return {
        "weekly": weekly,
        "exceptions": exceptions,
        "busy": busy_lists(draw, dates, zone, 10),
        "timezone": zone_name,
        "slot_minutes": draw(st.sampled_from([10, 15, 30, 60]) | st.integers(5, 120)),
        "start": start,
        "end": start + timedelta(days=days),
        "now": datetime.combine(start, time(), UTC) + timedelta(minutes=draw(soon)),
        "min_notice": timedelta(minutes=draw(st.sampled_from([0, 0, 120]) | st.integers(0, 3000))),
        "treatment": treatment,
        "closures": set(draw(st.lists(dates, max_size=2))),
        "chairs": None
        if chairs is None
        else [busy_lists(draw, dates, zone, 8) for _ in range(chairs)],
    }


property_settings = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@property_settings
@given(cases())
def test_matches_brute_force_reference(case: dict[str, Any]) -> None:
    offered = free_slots(**case)
    assert [
        (s.date, s.time, s.starts_at.astimezone(UTC), s.ends_at.astimezone(UTC)) for s in offered
    ] == reference(case)
    zone = ZoneInfo(case["timezone"])
    for slot in offered:
        assert slot.starts_at.tzinfo is zone and slot.ends_at.tzinfo is zone
        assert slot.starts_at.replace(tzinfo=None) == datetime.combine(slot.date, slot.time)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(max_days=1), st.data())
def test_is_free_agrees_with_free_slots(case: dict[str, Any], data: st.DataObject) -> None:
    offered = {(slot.date, slot.time) for slot in free_slots(**case)}
    args = {k: v for k, v in case.items() if k not in ("start", "end")}
    on = case["start"]
    while on <= case["end"]:
        candidates = {clock(m) for m in range(0, 1440, case["slot_minutes"])}
        candidates |= set(data.draw(st.lists(st.integers(0, 1439).map(clock), max_size=5)))
        for wall in candidates:
            assert is_free(**args, on=on, at=wall) == ((on, wall) in offered)
        on += timedelta(days=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(max_days=2), st.data())
def test_a_booked_slot_is_gone_and_clashes_with_no_other_offer(
    case: dict[str, Any], data: st.DataObject
) -> None:
    offered = free_slots(**case)
    if not offered:
        return
    treatment = case["treatment"] or Treatment(case["slot_minutes"])
    taken = data.draw(st.sampled_from(offered))
    interval = occupied(taken.starts_at, taken.ends_at, treatment)
    lead = timedelta(minutes=treatment.buffer_before_minutes)
    trail = timedelta(minutes=treatment.buffer_after_minutes)
    assert elapsed(interval.starts_at, taken.starts_at) == lead
    assert elapsed(taken.ends_at, interval.ends_at) == trail
    # On the dentist: that slot and every slot overlapping it are gone, nothing else is.
    after = free_slots(**{**case, "busy": [*case["busy"], interval]})

    def blocked(slot: Slot) -> bool:
        other = occupied(slot.starts_at, slot.ends_at, treatment)
        return clash(other.starts_at, other.ends_at, interval)

    expected = [s for s in offered if not blocked(s)]
    assert after == expected
    assert taken not in after
