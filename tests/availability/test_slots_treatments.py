"""The slot engine for treatments: lengths, buffers, chairs, closures, date-range time off.

Worked examples; the properties against a brute-force reference are in
test_slots_reference.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dentalcare.availability.slots import (
    Busy,
    DateException,
    Slot,
    Treatment,
    Window,
    free_slots,
    is_free,
    occupied,
    working_intervals,
)

MONDAY = date(2031, 6, 2)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
ROOT_CANAL = Treatment(90)
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
UTC_ZONE = ZoneInfo("UTC")


def hm(text: str) -> time:
    """`"09:30"` as a time."""
    return time.fromisoformat(text)


def at(on: date, text: str, zone: ZoneInfo = UTC_ZONE) -> datetime:
    """That local date and time as an aware datetime."""
    return datetime.combine(on, hm(text), zone)


def booked(on: date, start: str, end: str, zone: ZoneInfo = UTC_ZONE) -> Busy:
    """An occupied interval between two local times of one date."""
    return Busy(at(on, start, zone), at(on, end, zone))


def slots(
    weekly: list[Window],
    *,
    exceptions: Sequence[DateException] = (),
    busy: Sequence[Busy] = (),
    timezone: str | ZoneInfo = "UTC",
    slot_minutes: int = 30,
    start: date = MONDAY,
    end: date | None = None,
    treatment: Treatment | None = None,
    closures: Sequence[date] = (),
    chairs: Sequence[Sequence[Busy]] | None = None,
) -> list[Slot]:
    """free_slots with defaults suited to examples: one day, no notice, nothing busy."""
    return free_slots(
        weekly=weekly,
        exceptions=exceptions,
        busy=busy,
        timezone=timezone,
        slot_minutes=slot_minutes,
        start=start,
        end=start if end is None else end,
        now=LONG_AGO,
        min_notice=timedelta(0),
        treatment=treatment,
        closures=closures,
        chairs=chairs,
    )


def times(offered: list[Slot]) -> list[str]:
    """The offered local times as HH:MM."""
    return [slot.time.strftime("%H:%M") for slot in offered]


def everyday(start: str, end: str) -> list[Window]:
    """The same window on all seven days."""
    return [Window(day, hm(start), hm(end)) for day in range(7)]


def elapsed(a: datetime, b: datetime) -> timedelta:
    """Real time from a to b."""
    return b.astimezone(UTC) - a.astimezone(UTC)


# --- lengths and buffers -----------------------------------------------------------------


def test_a_root_canal_must_end_within_the_window() -> None:
    offered = slots(everyday("09:00", "12:00"), treatment=ROOT_CANAL)
    assert times(offered) == ["09:00", "09:30", "10:00", "10:30"]
    assert [elapsed(s.starts_at, s.ends_at) for s in offered] == [timedelta(minutes=90)] * 4
    assert offered[-1].ends_at == at(MONDAY, "12:00")
    # The same window in plain 30-minute slots, as before treatments.
    assert len(slots(everyday("09:00", "12:00"))) == 6


def test_buffers_move_the_first_start_along_the_grid() -> None:
    cleaned = Treatment(90, buffer_before_minutes=10, buffer_after_minutes=15)
    # 09:00 would need the chair from 08:50; the grid stays anchored at 09:00, so 09:30.
    # The last start leaves 90 + 15 minutes before 12:00: 10:15, so 10:00 on the grid.
    assert times(slots(everyday("09:00", "12:00"), treatment=cleaned)) == ["09:30", "10:00"]
    # A 10-minute grid finds 09:10 and 10:10.
    offered = slots(everyday("09:00", "12:00"), treatment=cleaned, slot_minutes=10)
    assert times(offered)[0] == "09:10" and times(offered)[-1] == "10:10"


def test_buffers_may_not_reach_into_a_booking() -> None:
    busy = [booked(MONDAY, "11:00", "11:30")]
    plain = Treatment(30)
    assert times(slots(everyday("09:00", "12:00"), busy=busy, treatment=plain)) == [
        "09:00", "09:30", "10:00", "10:30", "11:30",
    ]  # fmt: skip
    # 15 minutes after: 10:30 runs into 11:00, and 11:30 past 12:00. 10 before: 09:00 would
    # start before the window.
    buffered = Treatment(30, buffer_before_minutes=10, buffer_after_minutes=15)
    assert times(slots(everyday("09:00", "12:00"), busy=busy, treatment=buffered)) == [
        "09:30", "10:00",
    ]  # fmt: skip
    # A booking ending exactly when the before-buffer starts is fine (half-open).
    busy = [booked(MONDAY, "09:00", "09:50")]
    assert times(slots(everyday("09:00", "11:00"), busy=busy, treatment=buffered)) == [
        "10:00",
    ]  # fmt: skip


def test_buffers_must_fit_in_one_working_interval() -> None:
    # 09:00-10:00 and 10:00-11:00 merge; 09:00-10:00 and 10:05-11:00 do not.
    buffered = Treatment(50, buffer_before_minutes=5, buffer_after_minutes=5)
    joined = [Window(0, hm("09:00"), hm("10:00")), Window(0, hm("10:00"), hm("11:00"))]
    assert times(slots(joined, treatment=buffered, slot_minutes=15)) == [
        "09:15", "09:30", "09:45", "10:00",
    ]  # fmt: skip
    split = [Window(0, hm("09:00"), hm("10:00")), Window(0, hm("10:05"), hm("11:00"))]
    # 10:05's grid: the first start is 10:20, which would end its after-buffer at 11:15.
    assert slots(split, treatment=buffered, slot_minutes=15) == []


def test_a_longer_booking_frees_later_starts_only_after_its_end() -> None:
    # The sweep must remember a long booking that began before a shorter one.
    busy = [booked(MONDAY, "09:00", "12:00"), booked(MONDAY, "09:30", "10:00")]
    offered = slots(everyday("08:00", "14:00"), busy=busy, treatment=Treatment(60))
    assert times(offered) == ["08:00", "12:00", "12:30", "13:00"]


# --- chairs ------------------------------------------------------------------------------


def test_a_start_needs_one_free_chair() -> None:
    weekly = everyday("09:00", "11:00")
    ten = booked(MONDAY, "10:00", "10:30")
    both_busy = [[ten], [booked(MONDAY, "09:45", "10:15")]]
    assert times(slots(weekly, treatment=Treatment(30), chairs=both_busy)) == [
        "09:00", "09:30", "10:30",
    ]  # fmt: skip
    one_free = [[ten], [booked(MONDAY, "09:00", "09:30")]]
    assert times(slots(weekly, treatment=Treatment(30), chairs=one_free)) == [
        "09:00", "09:30", "10:00", "10:30",
    ]  # fmt: skip
    # The dentist's own bookings still count when a chair is free.
    assert times(slots(weekly, busy=[ten], treatment=Treatment(30), chairs=one_free)) == [
        "09:00", "09:30", "10:30",
    ]  # fmt: skip


def test_chairs_busy_at_different_times_share_the_day() -> None:
    # Neither chair alone is free all morning; together every start is covered.
    weekly = everyday("09:00", "12:00")
    chairs = [
        [booked(MONDAY, "09:00", "10:00"), booked(MONDAY, "11:00", "12:00")],
        [booked(MONDAY, "10:00", "11:00")],
    ]
    assert times(slots(weekly, treatment=Treatment(60), chairs=chairs, slot_minutes=60)) == [
        "09:00", "10:00", "11:00",
    ]  # fmt: skip
    # On a 30-minute grid, 09:30 and 10:30 straddle both chairs' bookings and fit neither.
    assert times(slots(weekly, treatment=Treatment(60), chairs=chairs)) == [
        "09:00", "10:00", "11:00",
    ]  # fmt: skip


def test_chair_buffers_count_on_the_chair() -> None:
    weekly = everyday("09:00", "11:30")
    chairs = [[booked(MONDAY, "10:00", "10:30")]]
    buffered = Treatment(30, buffer_after_minutes=10)
    assert times(slots(weekly, treatment=buffered, chairs=chairs)) == ["09:00", "10:30"]
    assert times(slots(weekly, treatment=Treatment(30), chairs=chairs)) == [
        "09:00", "09:30", "10:30", "11:00",
    ]  # fmt: skip


def test_no_chairs_given_means_dentist_only_and_an_empty_list_means_none_free() -> None:
    weekly = everyday("09:00", "10:00")
    assert times(slots(weekly, chairs=None)) == ["09:00", "09:30"]
    assert slots(weekly, chairs=[]) == []
    assert times(slots(weekly, chairs=[[]])) == ["09:00", "09:30"]


# --- closures and date ranges ------------------------------------------------------------


def test_a_closure_shuts_the_whole_day() -> None:
    weekly = everyday("09:00", "10:00")
    extra = [DateException(MONDAY, hm("18:00"), hm("19:00"), is_available=True)]
    offered = slots(
        weekly, exceptions=extra, start=MONDAY, end=MONDAY + timedelta(days=2), closures=[MONDAY]
    )
    assert {s.date for s in offered} == {MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)}
    assert len(offered) == 4
    # Closures as a set, and closures outside the range, change nothing else.
    outside = {MONDAY - timedelta(days=1)}
    assert len(slots(weekly, closures=outside)) == 2


def test_a_two_week_holiday_is_one_entry() -> None:
    weekly = everyday("09:00", "10:00")
    first, last = MONDAY + timedelta(days=3), MONDAY + timedelta(days=16)
    holiday = [DateException(first, None, None, is_available=False, until=last)]
    offered = slots(weekly, exceptions=holiday, start=MONDAY, end=MONDAY + timedelta(days=20))
    dates = sorted({s.date for s in offered})
    assert dates == [MONDAY + timedelta(days=n) for n in (0, 1, 2, 17, 18, 19, 20)]
    # A request that starts inside the holiday sees it too.
    inside = slots(weekly, exceptions=holiday, start=first + timedelta(days=5), end=last)
    assert inside == []
    assert working_intervals(weekly=weekly, exceptions=holiday, on=last) == []
    assert working_intervals(weekly=weekly, exceptions=holiday, on=last + timedelta(days=1)) == [
        (hm("09:00"), hm("10:00"))
    ]


def test_range_time_off_for_some_hours_applies_each_day() -> None:
    weekly = everyday("09:00", "17:00")
    last = MONDAY + timedelta(days=4)
    afternoons = [DateException(MONDAY, hm("12:00"), hm("17:00"), is_available=False, until=last)]
    offered = slots(weekly, exceptions=afternoons, start=MONDAY, end=last + timedelta(days=1))
    by_date: dict[date, list[Slot]] = {}
    for slot in offered:
        by_date.setdefault(slot.date, []).append(slot)
    for n in range(5):
        assert times(by_date[MONDAY + timedelta(days=n)])[-1] == "11:30"
        assert len(by_date[MONDAY + timedelta(days=n)]) == 6
    assert len(by_date[last + timedelta(days=1)]) == 16


def test_range_extra_hours_apply_each_day() -> None:
    saturday = MONDAY + timedelta(days=5)
    weekly = [Window(day, hm("09:00"), hm("10:00")) for day in range(5)]
    weekends = [
        DateException(saturday, hm("10:00"), hm("11:00"), True, until=saturday + timedelta(1))
    ]
    offered = slots(weekly, exceptions=weekends, start=saturday, end=saturday + timedelta(days=2))
    assert [(s.date.weekday(), s.time.strftime("%H:%M")) for s in offered] == [
        (5, "10:00"), (5, "10:30"), (6, "10:00"), (6, "10:30"), (0, "09:00"), (0, "09:30"),
    ]  # fmt: skip


def test_a_range_ending_before_it_starts_covers_nothing() -> None:
    # Like an interval with start >= end: empty, not "just the first date".
    weekly = everyday("09:00", "10:00")
    backwards = [DateException(MONDAY, None, None, False, until=MONDAY - timedelta(days=1))]
    assert len(slots(weekly, exceptions=backwards)) == 2


def test_an_open_ended_leave_costs_only_the_requested_days() -> None:
    weekly = everyday("09:00", "10:00")
    leave = [DateException(MONDAY, None, None, False, until=date.max)]
    assert slots(weekly, exceptions=leave, end=MONDAY + timedelta(days=30)) == []
    assert working_intervals(weekly=weekly, exceptions=leave, on=date.max) == []


# --- time zones --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "offered"),
    [
        # Spring forward: 02:00-02:59 does not exist in New York, 01:00-01:59 in London.
        (NEW_YORK, date(2031, 3, 9), ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]),
        (LONDON, date(2031, 3, 30), ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]),
        # Fall back: 01:00-01:59 happens twice in both, so it is ambiguous.
        (NEW_YORK, date(2031, 11, 2), ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]),
        (LONDON, date(2031, 10, 26), ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]),
    ],
)
def test_root_canals_on_dst_days(zone: ZoneInfo, day: date, offered: list[str]) -> None:
    night = slots(everyday("00:00", "05:00"), timezone=zone, start=day, treatment=ROOT_CANAL)
    assert times(night) == offered
    for slot in night:
        assert slot.starts_at.tzinfo is zone and slot.ends_at.tzinfo is zone
        assert slot.starts_at.replace(tzinfo=None) == datetime.combine(day, slot.time)
        assert elapsed(slot.starts_at, slot.ends_at) == timedelta(minutes=90)
        # ends_at names its instant: a round trip through UTC changes nothing, fold included.
        back = slot.ends_at.astimezone(UTC).astimezone(zone)
        assert (back.replace(tzinfo=None), back.fold) == (
            slot.ends_at.replace(tzinfo=None),
            slot.ends_at.fold,
        )
    instants = [slot.starts_at.astimezone(UTC) for slot in night]
    assert instants == sorted(set(instants))


def test_a_root_canal_across_spring_forward_ends_in_real_time() -> None:
    day = date(2031, 3, 9)
    weekly = everyday("01:00", "03:00")
    one, half_past = slots(weekly, timezone=NEW_YORK, start=day, treatment=ROOT_CANAL)
    # 01:00 EST + 90 minutes is 07:30 UTC, 03:30 EDT on the wall. The window is checked on
    # the wall clock (01:00 + 90 = 02:30 <= 03:00), as plain slots always were (see
    # test_new_york_slot_before_the_gap_lasts_real_time), so both run past 03:00 EDT.
    assert (one.time, half_past.time) == (hm("01:00"), hm("01:30"))
    assert one.ends_at.replace(tzinfo=None) == datetime(2031, 3, 9, 3, 30)
    assert half_past.ends_at.astimezone(UTC) == datetime(2031, 3, 9, 8, tzinfo=UTC)
    # A booking at 03:00-03:30 EDT (07:00-07:30 UTC) overlaps both in real time.
    busy = [Busy(datetime(2031, 3, 9, 7, tzinfo=UTC), datetime(2031, 3, 9, 7, 30, tzinfo=UTC))]
    assert slots(weekly, busy=busy, timezone=NEW_YORK, start=day, treatment=ROOT_CANAL) == []
    # One that ends at 03:00 EDT blocks both night starts but not 03:00 itself.
    busy = [Busy(datetime(2031, 3, 9, 6, 45, tzinfo=UTC), datetime(2031, 3, 9, 7, tzinfo=UTC))]
    later = slots(
        everyday("01:00", "05:00"), busy=busy, timezone=NEW_YORK, start=day, treatment=ROOT_CANAL
    )
    assert times(later) == ["03:00", "03:30"]


def test_a_root_canal_into_the_fall_back_fold_ends_on_the_first_pass() -> None:
    day = date(2031, 10, 26)
    offered = slots(everyday("00:00", "03:00"), timezone=LONDON, start=day, treatment=ROOT_CANAL)
    assert times(offered) == ["00:00", "00:30"]
    # 00:30 BST + 90 minutes = 01:00 GMT: the second 01:00 of the night (fold=1).
    late = offered[1].ends_at
    assert (late.replace(tzinfo=None), late.fold) == (datetime(2031, 10, 26, 1), 1)
    assert late.astimezone(UTC) == datetime(2031, 10, 26, 1, tzinfo=UTC)
    early = offered[0].ends_at
    assert (early.replace(tzinfo=None), early.fold) == (datetime(2031, 10, 26, 1, 30), 0)


def test_buffers_across_a_dst_change_are_real_minutes() -> None:
    # New York's fall-back night: 01:00-01:59 happens twice (EDT, then EST). An hour's
    # before-buffer of a 02:00 EST start (07:00 UTC) begins at the second 01:00 (06:00 UTC),
    # not at the first (05:00 UTC) as wall-clock arithmetic would say.
    day = date(2031, 11, 2)
    prepared = Treatment(30, buffer_before_minutes=60)

    def offered(hour_utc: int) -> list[str]:
        starts = datetime(2031, 11, 2, hour_utc, tzinfo=UTC)
        busy = [Busy(starts, starts + timedelta(minutes=30))]
        weekly = everyday("00:00", "04:00")
        return times(slots(weekly, busy=busy, timezone=NEW_YORK, start=day, treatment=prepared))

    assert offered(5) == ["02:00", "02:30", "03:00", "03:30"]  # 01:00-01:30 EDT
    assert offered(6) == ["02:30", "03:00", "03:30"]  # 01:00-01:30 EST


# --- occupied, is_free, validation -------------------------------------------------------


def test_occupied_adds_the_buffers_in_real_time() -> None:
    treatment = Treatment(90, buffer_before_minutes=10, buffer_after_minutes=15)
    starts, ends = at(MONDAY, "10:00", LONDON), at(MONDAY, "11:30", LONDON)
    assert occupied(starts, ends, treatment) == Busy(
        at(MONDAY, "09:50", LONDON), at(MONDAY, "11:45", LONDON)
    )
    # Across spring forward: 03:00 EDT minus 70 minutes is 00:50 EST (wall arithmetic would
    # say 01:50), and the result keeps the zone.
    starts = datetime(2031, 3, 9, 3, tzinfo=NEW_YORK)
    interval = occupied(starts, starts, Treatment(5, buffer_before_minutes=70))
    assert interval.starts_at.tzinfo is NEW_YORK
    assert interval.starts_at.replace(tzinfo=None) == datetime(2031, 3, 9, 0, 50)
    assert elapsed(interval.starts_at, starts) == timedelta(minutes=70)
    with pytest.raises(ValueError, match="slot_starts_at"):
        occupied(datetime(2031, 1, 1), starts, treatment)


def test_is_free_knows_treatments_chairs_and_closures() -> None:
    kwargs: dict[str, Any] = {
        "weekly": everyday("09:00", "12:00"),
        "exceptions": [],
        "busy": [],
        "timezone": "UTC",
        "slot_minutes": 30,
        "on": MONDAY,
        "now": LONG_AGO,
        "min_notice": timedelta(0),
    }
    assert is_free(**kwargs, at=hm("11:00"))
    assert not is_free(**kwargs, at=hm("11:00"), treatment=ROOT_CANAL)
    assert is_free(**kwargs, at=hm("10:30"), treatment=ROOT_CANAL)
    assert not is_free(**kwargs, at=hm("10:30"), closures=[MONDAY])
    chairs = [[booked(MONDAY, "11:00", "11:30")]]
    assert not is_free(**kwargs, at=hm("10:30"), treatment=ROOT_CANAL, chairs=chairs)
    assert is_free(**kwargs, at=hm("10:30"), treatment=ROOT_CANAL, chairs=[*chairs, []])
    assert not is_free(**kwargs, at=hm("09:00"), chairs=[])


@pytest.mark.parametrize(
    ("treatment", "message"),
    [
        (Treatment(0), "duration_minutes"),
        (Treatment(30, buffer_before_minutes=-1), "buffers"),
        (Treatment(30, buffer_after_minutes=-5), "buffers"),
    ],
)
def test_rejects_impossible_treatments(treatment: Treatment, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        slots(everyday("09:00", "12:00"), treatment=treatment)


def test_rejects_naive_chair_bookings() -> None:
    naive = Busy(datetime(2031, 6, 2, 9), datetime(2031, 6, 2, 10))
    with pytest.raises(ValueError, match="chairs Busy.starts_at"):
        slots(everyday("09:00", "12:00"), chairs=[[], [naive]])
