"""The pure slot engine: worked examples, then properties against a brute-force reference."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dentalcare.availability.slots import (
    Busy,
    DateException,
    Slot,
    Window,
    free_slots,
    is_free,
    working_intervals,
)

MONDAY = date(2031, 6, 2)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
# The zones under test and their DST changes in 2030-2031 (all on Sundays), so that random
# ranges often contain one.
DST_DATES: dict[str, list[date]] = {
    "UTC": [],
    "Asia/Kolkata": [],
    "Europe/London": [date(2030, 3, 31), date(2030, 10, 27), date(2031, 3, 30), date(2031, 10, 26)],
    "America/New_York": [date(2030, 3, 10), date(2030, 11, 3), date(2031, 3, 9), date(2031, 11, 2)],
    "Australia/Lord_Howe": [
        date(2030, 4, 7),
        date(2030, 10, 6),
        date(2031, 4, 6),
        date(2031, 10, 5),
    ],
}


def hm(text: str) -> time:
    """`"09:30"` as a time."""
    return time.fromisoformat(text)


def slots(
    weekly: list[Window],
    *,
    exceptions: list[DateException] | None = None,
    busy: list[Busy] | None = None,
    timezone: str | ZoneInfo = "UTC",
    slot_minutes: int = 30,
    start: date = MONDAY,
    end: date | None = None,
    now: datetime = LONG_AGO,
    min_notice: timedelta = timedelta(0),
) -> list[Slot]:
    """free_slots with defaults suited to examples: one day, no notice, nothing busy."""
    return free_slots(
        weekly=weekly,
        exceptions=exceptions or [],
        busy=busy or [],
        timezone=timezone,
        slot_minutes=slot_minutes,
        start=start,
        end=start if end is None else end,
        now=now,
        min_notice=min_notice,
    )


def times(offered: list[Slot]) -> list[str]:
    """The offered local times as HH:MM."""
    return [slot.time.strftime("%H:%M") for slot in offered]


def everyday(start: str, end: str) -> list[Window]:
    """The same window on all seven days."""
    return [Window(day, hm(start), hm(end)) for day in range(7)]


# --- examples ----------------------------------------------------------------------------


def test_interval_yields_slots_that_end_within_it() -> None:
    assert times(slots([Window(0, hm("09:00"), hm("12:30"))])) == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00",
    ]  # fmt: skip
    assert times(slots([Window(0, hm("09:00"), hm("10:10"))])) == ["09:00", "09:30"]


def test_lunch_break_leaves_a_gap() -> None:
    weekly = [Window(0, hm("13:00"), hm("17:00")), Window(0, hm("09:00"), hm("12:00"))]
    offered = times(slots(weekly))
    assert len(offered) == 14
    assert not [t for t in offered if t.startswith("12:")]
    assert offered[5:7] == ["11:30", "13:00"]


def test_unavailable_windows_are_ignored() -> None:
    assert slots([Window(0, hm("09:00"), hm("12:00"), is_available=False)]) == []


def test_whole_day_time_off() -> None:
    off = [DateException(MONDAY, None, None, is_available=False)]
    offered = slots(everyday("09:00", "10:00"), exceptions=off, end=MONDAY + timedelta(days=1))
    assert [slot.date for slot in offered] == [MONDAY + timedelta(days=1)] * 2


def test_extra_hours_on_a_saturday() -> None:
    saturday = MONDAY + timedelta(days=5)
    weekly = [Window(day, hm("09:00"), hm("17:00")) for day in range(5)]
    extra = [DateException(saturday, hm("10:00"), hm("12:00"), is_available=True)]
    offered = slots(weekly, exceptions=extra, start=saturday, end=saturday + timedelta(days=8))
    assert [(s.date, s.time.strftime("%H:%M")) for s in offered if s.date.weekday() == 5] == [
        (saturday, "10:00"), (saturday, "10:30"), (saturday, "11:00"), (saturday, "11:30"),
    ]  # fmt: skip


def test_partial_time_off_splits_a_window() -> None:
    weekly = [Window(0, hm("09:00"), hm("17:00"))]
    off = [DateException(MONDAY, hm("11:15"), hm("13:00"), is_available=False)]
    assert working_intervals(weekly=weekly, exceptions=off, on=MONDAY) == [
        (hm("09:00"), hm("11:15")), (hm("13:00"), hm("17:00")),
    ]  # fmt: skip
    offered = times(slots(weekly, exceptions=off))
    assert offered[:5] == ["09:00", "09:30", "10:00", "10:30", "13:00"]
    assert len(offered) == 4 + 8


def test_working_intervals_merge_and_order() -> None:
    weekly = [
        Window(0, hm("13:00"), hm("15:00")),
        Window(0, hm("09:00"), hm("11:00")),
        Window(0, hm("10:00"), hm("12:00")),
        Window(0, hm("12:00"), hm("12:30")),
        Window(0, hm("07:00"), hm("08:00"), is_available=False),
        Window(1, hm("06:00"), hm("20:00")),
    ]
    extra = [DateException(MONDAY, hm("15:00"), hm("16:00"), is_available=True)]
    assert working_intervals(weekly=weekly, exceptions=extra, on=MONDAY) == [
        (hm("09:00"), hm("12:30")), (hm("13:00"), hm("16:00")),
    ]  # fmt: skip


def test_time_off_beats_extra_hours() -> None:
    exceptions = [
        DateException(MONDAY, hm("18:00"), hm("20:00"), is_available=True),
        DateException(MONDAY, hm("19:00"), hm("21:00"), is_available=False),
    ]
    weekly = [Window(0, hm("09:00"), hm("10:00"))]
    assert working_intervals(weekly=weekly, exceptions=exceptions, on=MONDAY) == [
        (hm("09:00"), hm("10:00")), (hm("18:00"), hm("19:00")),
    ]  # fmt: skip


def test_range_is_inclusive() -> None:
    weekly = everyday("09:00", "09:30")
    offered = slots(weekly, start=MONDAY, end=MONDAY + timedelta(days=2))
    assert [slot.date for slot in offered] == [MONDAY + timedelta(days=n) for n in range(3)]
    assert len(slots(weekly, start=MONDAY, end=MONDAY)) == 1
    assert slots(weekly, start=MONDAY, end=MONDAY - timedelta(days=1)) == []


def test_busy_is_half_open() -> None:
    weekly = [Window(0, hm("09:00"), hm("11:00"))]
    at = datetime(2031, 6, 2, 9, tzinfo=ZoneInfo("Europe/London"))
    busy = [
        Busy(at, at + timedelta(hours=1)),
        Busy(at + timedelta(minutes=70), at + timedelta(minutes=71)),
    ]
    assert times(slots(weekly, busy=busy, timezone="Europe/London")) == ["10:30"]
    in_utc = [Busy(b.starts_at.astimezone(UTC), b.ends_at.astimezone(UTC)) for b in busy]
    assert times(slots(weekly, busy=in_utc, timezone="Europe/London")) == ["10:30"]


def test_min_notice_boundary_is_inclusive() -> None:
    weekly = [Window(0, hm("09:00"), hm("11:00"))]
    now = datetime(2031, 6, 2, 7, 30, tzinfo=UTC)
    assert times(slots(weekly, now=now, min_notice=timedelta(hours=2)))[0] == "09:30"
    later = now + timedelta(microseconds=1)
    assert times(slots(weekly, now=later, min_notice=timedelta(hours=2)))[0] == "10:00"


@pytest.mark.parametrize(
    ("day", "offered"),
    [
        # Spring forward: 02:00-02:59 does not exist.
        (date(2031, 3, 9), ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]),
        # Fall back: 01:00-01:59 happens twice, so it is ambiguous.
        (date(2031, 11, 2), ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]),
    ],
)
def test_new_york_dst_days_skip_missing_and_ambiguous_times(day: date, offered: list[str]) -> None:
    night = slots(everyday("00:00", "04:00"), timezone="America/New_York", start=day)
    assert times(night) == offered
    for slot in night:
        assert slot.starts_at.tzinfo is NEW_YORK
        assert slot.starts_at.replace(tzinfo=None) == datetime.combine(day, slot.time)
        assert slot.ends_at.astimezone(UTC) - slot.starts_at.astimezone(UTC) == timedelta(
            minutes=30
        )
    instants = [slot.starts_at.astimezone(UTC) for slot in night]
    assert instants == sorted(set(instants))
    office = slots(everyday("09:00", "17:00"), timezone="America/New_York", start=day)
    assert len(office) == 16
    assert times(office)[0] == "09:00" and times(office)[-1] == "16:30"


def test_new_york_slot_before_the_gap_lasts_real_time() -> None:
    (slot,) = slots(everyday("01:30", "02:00"), timezone="America/New_York", start=date(2031, 3, 9))
    assert slot.starts_at.astimezone(UTC) == datetime(2031, 3, 9, 6, 30, tzinfo=UTC)
    assert slot.ends_at.astimezone(UTC) == datetime(2031, 3, 9, 7, tzinfo=UTC)
    assert slot.ends_at.replace(tzinfo=None) == datetime(2031, 3, 9, 3)  # 03:00 EDT
    busy = [Busy(datetime(2031, 3, 9, 6, 45, tzinfo=UTC), datetime(2031, 3, 9, 7, tzinfo=UTC))]
    night = slots(
        everyday("01:00", "04:00"), busy=busy, timezone="America/New_York", start=date(2031, 3, 9)
    )
    assert times(night) == ["01:00", "03:00", "03:30"]


@pytest.mark.parametrize(
    ("day", "offered"),
    [
        (date(2031, 10, 5), ["01:00", "01:30", "02:30", "03:00", "03:30"]),  # 02:00-02:29 missing
        (date(2031, 4, 6), ["01:00", "02:00", "02:30", "03:00", "03:30"]),  # 01:30-01:59 twice
    ],
)
def test_lord_howe_half_hour_dst(day: date, offered: list[str]) -> None:
    zone = ZoneInfo("Australia/Lord_Howe")
    assert times(slots(everyday("01:00", "04:00"), timezone=zone, start=day)) == offered


def test_is_free_examples() -> None:
    kwargs: dict[str, Any] = {
        "weekly": [Window(0, hm("09:00"), hm("11:00"))],
        "exceptions": [],
        "busy": [
            Busy(datetime(2031, 6, 2, 10, tzinfo=UTC), datetime(2031, 6, 2, 10, 30, tzinfo=UTC))
        ],
        "timezone": "UTC",
        "slot_minutes": 30,
        "on": MONDAY,
        "now": LONG_AGO,
        "min_notice": timedelta(0),
    }
    assert is_free(**kwargs, at=hm("09:30"))
    assert not is_free(**kwargs, at=hm("10:00"))  # busy
    assert not is_free(**kwargs, at=hm("09:15"))  # not on the grid
    assert not is_free(**kwargs, at=hm("11:00"))  # would end after the window
    assert not is_free(**{**kwargs, "on": MONDAY + timedelta(days=1)}, at=hm("09:30"))


def test_rejects_naive_instants_and_bad_slot_length() -> None:
    weekly = [Window(0, hm("09:00"), hm("11:00"))]
    with pytest.raises(ValueError, match="now"):
        slots(weekly, now=datetime(2031, 1, 1))
    with pytest.raises(ValueError, match="Busy"):
        slots(weekly, busy=[Busy(datetime(2031, 6, 2, 9), datetime(2031, 6, 2, 10))])
    with pytest.raises(ValueError, match="slot_minutes"):
        slots(weekly, slot_minutes=0)


# --- properties --------------------------------------------------------------------------
#
# Times are whole minutes so that a day can be modelled as 1440 booleans; the reference
# below recomputes everything by brute force, deciding DST validity by round trips
# rather than by comparing folds as the engine does.


def minutes(t: time) -> int:
    """Minutes since midnight."""
    return t.hour * 60 + t.minute


def at_minute(m: int) -> time:
    """The time `m` minutes after midnight."""
    return time(m // 60, m % 60)


def working_minutes(weekly: list[Window], exceptions: list[DateException], on: date) -> list[bool]:
    """Which minutes of `on` are worked."""
    worked = [False] * 1440
    for window in weekly:
        if window.is_available and window.day_of_week == on.weekday():
            worked[minutes(window.start) : minutes(window.end)] = [True] * (
                minutes(window.end) - minutes(window.start)
            )
    todays = [e for e in exceptions if e.date == on]
    for e in todays:
        if e.is_available and e.start is not None and e.end is not None:
            for m in range(minutes(e.start), minutes(e.end)):
                worked[m] = True
    for e in todays:
        if not e.is_available:
            if e.start is None or e.end is None:
                return [False] * 1440
            for m in range(minutes(e.start), minutes(e.end)):
                worked[m] = False
    return worked


def runs(worked: list[bool]) -> list[tuple[int, int]]:
    """Maximal runs of worked minutes as (start, end) minute pairs."""
    found: list[tuple[int, int]] = []
    for m, on_duty in enumerate(worked):
        if on_duty and found and found[-1][1] == m:
            found[-1] = (found[-1][0], m + 1)
        elif on_duty:
            found.append((m, m + 1))
    return found


def unambiguous(on: date, wall: time, zone: ZoneInfo) -> bool:
    """The local time exists (round-trips) and names a single instant."""
    early = datetime.combine(on, wall, zone)
    late = early.replace(fold=1)
    exists = early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == early.replace(
        tzinfo=None
    )
    return exists and early.astimezone(UTC) == late.astimezone(UTC)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open overlap of non-empty intervals, in UTC (same-tzinfo comparisons use wall
    clocks); like PostgreSQL's `&&` on `[)` ranges."""
    a_start, a_end, b_start, b_end = (d.astimezone(UTC) for d in (a_start, a_end, b_start, b_end))
    return a_start < a_end and b_start < b_end and a_start < b_end and b_start < a_end


def reference(case: dict[str, Any]) -> list[tuple[date, time, datetime, datetime]]:
    """(date, time, UTC start, UTC end) of every slot free_slots should offer."""
    zone = ZoneInfo(case["timezone"])
    length = timedelta(minutes=case["slot_minutes"])
    earliest = case["now"] + case["min_notice"]
    offered = []
    on = case["start"]
    while on <= case["end"]:
        for first, last in runs(working_minutes(case["weekly"], case["exceptions"], on)):
            for m in range(first, last - case["slot_minutes"] + 1, case["slot_minutes"]):
                if not unambiguous(on, at_minute(m), zone):
                    continue
                starts = datetime.combine(on, at_minute(m), zone).astimezone(UTC)
                ends = starts + length
                clash = any(overlaps(starts, ends, b.starts_at, b.ends_at) for b in case["busy"])
                if starts >= earliest and not clash:
                    offered.append((on, at_minute(m), starts, ends))
        on += timedelta(days=1)
    return offered


def spans(draw: st.DrawFn) -> tuple[time, time]:
    """A random non-empty (start, end) pair of whole-minute times, often in the small hours."""
    minute = st.integers(0, 1439) | st.integers(0, 240)  # DST changes happen at night
    first, last = sorted(draw(st.lists(minute, min_size=2, max_size=2, unique=True)))
    return at_minute(first), at_minute(last)


@st.composite
def cases(draw: st.DrawFn, max_days: int = 6) -> dict[str, Any]:
    """A random schedule, exceptions, busy set, zone, range, clock and notice."""
    zone_name = draw(st.sampled_from(sorted(DST_DATES)))
    zone = ZoneInfo(zone_name)
    any_date = st.dates(date(2030, 1, 1), date(2031, 12, 31))
    start = draw(
        st.sampled_from(DST_DATES[zone_name]) | any_date if DST_DATES[zone_name] else any_date
    )
    start -= timedelta(days=draw(st.integers(0, 2)))
    days = draw(st.integers(0, max_days))
    dates = st.integers(0, days).map(lambda n: start + timedelta(days=n))

    weekly = []
    for _ in range(draw(st.integers(0, 10))):
        first, last = spans(draw)
        available = draw(st.sampled_from([True, True, True, False]))
        sunday_or_any = st.just(6) | st.integers(0, 6)  # DST changes fall on Sundays
        weekly.append(Window(draw(sunday_or_any), first, last, available))
    exceptions = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["whole day off", "time off", "extra hours"]))
        first, last = spans(draw)
        if kind == "whole day off":
            exceptions.append(DateException(draw(dates), None, None, is_available=False))
        else:
            exceptions.append(DateException(draw(dates), first, last, kind == "extra hours"))
    busy = []
    durations = st.sampled_from([0, 30, 60]) | st.integers(0, 240)  # 0: empty, blocks nothing
    for _ in range(draw(st.integers(0, 12))):
        local = datetime.combine(draw(dates), at_minute(draw(st.integers(0, 1439))), zone)
        local = local.replace(fold=draw(st.integers(0, 1)))
        if draw(st.booleans()):
            local = local.astimezone(UTC)
        # In the dentist's zone `+` is wall-clock arithmetic, so across a DST change some
        # intervals come out longer, shorter or even inverted (which block nothing).
        busy.append(Busy(local, local + timedelta(minutes=draw(durations))))
    now = datetime.combine(start, time(), UTC) + timedelta(
        minutes=draw(st.integers(-2 * 1440, (days + 1) * 1440))
    )
    return {
        "weekly": weekly,
        "exceptions": exceptions,
        "busy": busy,
        "timezone": zone_name,
        "slot_minutes": draw(st.sampled_from([15, 30, 60]) | st.integers(5, 240)),
        "start": start,
        "end": start + timedelta(days=days),
        "now": now,
        "min_notice": timedelta(minutes=draw(st.sampled_from([0, 0, 120]) | st.integers(0, 3000))),
    }


property_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@property_settings
@given(cases())
def test_matches_brute_force_reference(case: dict[str, Any]) -> None:
    offered = free_slots(**case)
    assert [
        (s.date, s.time, s.starts_at.astimezone(UTC), s.ends_at.astimezone(UTC)) for s in offered
    ] == reference(case)


@property_settings
@given(cases())
def test_offered_slots_are_safe(case: dict[str, Any]) -> None:
    zone = ZoneInfo(case["timezone"])
    length = timedelta(minutes=case["slot_minutes"])
    offered = free_slots(**case)
    for slot in offered:
        # Local fields and instants agree, and the slot lasts exactly its length.
        assert slot.starts_at.tzinfo == zone and slot.ends_at.tzinfo == zone
        assert slot.starts_at.replace(tzinfo=None) == datetime.combine(slot.date, slot.time)
        assert slot.ends_at.astimezone(UTC) - slot.starts_at.astimezone(UTC) == length
        assert case["start"] <= slot.date <= case["end"]
        # Not busy, not too soon.
        assert not any(
            overlaps(slot.starts_at, slot.ends_at, b.starts_at, b.ends_at) for b in case["busy"]
        )
        assert slot.starts_at >= case["now"] + case["min_notice"]
        # Inside one working interval of its date (wall clock), clear of every time off.
        first = minutes(slot.time)
        last = first + case["slot_minutes"]
        intervals = working_intervals(
            weekly=case["weekly"], exceptions=case["exceptions"], on=slot.date
        )
        assert any(minutes(s) <= first and last <= minutes(e) for s, e in intervals)
        for off in case["exceptions"]:
            if off.date == slot.date and not off.is_available:
                assert off.start is not None and off.end is not None
                assert last <= minutes(off.start) or minutes(off.end) <= first
    instants = [slot.starts_at.astimezone(UTC) for slot in offered]
    assert all(a < b for a, b in zip(instants, instants[1:], strict=False))


@property_settings
@given(cases(max_days=10))
def test_working_intervals_are_merged_worked_minutes(case: dict[str, Any]) -> None:
    on = case["start"]
    while on <= case["end"]:
        found = working_intervals(weekly=case["weekly"], exceptions=case["exceptions"], on=on)
        expected = runs(working_minutes(case["weekly"], case["exceptions"], on))
        assert [(minutes(s), minutes(e)) for s, e in found] == expected
        on += timedelta(days=1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(max_days=1), st.data())
def test_is_free_agrees_with_free_slots(case: dict[str, Any], data: st.DataObject) -> None:
    offered = {(slot.date, slot.time) for slot in free_slots(**case)}
    args = {k: v for k, v in case.items() if k not in ("start", "end")}
    on = case["start"]
    while on <= case["end"]:
        candidates = {
            at_minute(m)
            for first, last in runs(working_minutes(case["weekly"], case["exceptions"], on))
            for m in range(first, last, case["slot_minutes"])
        }
        candidates |= set(data.draw(st.lists(st.integers(0, 1439).map(at_minute), max_size=5)))
        for at in candidates:
            assert is_free(**args, on=on, at=at) == ((on, at) in offered)
        on += timedelta(days=1)
