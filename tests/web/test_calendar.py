"""The dentist's week grid (pure): every visit is one block whose rows cover exactly its
minutes, on the grid's hours, and the stylesheet places every row a day can need."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dentalcare.web.calendar import (
    HEADING_ROWS,
    ROW_MINUTES,
    ROWS_PER_DAY,
    clock,
    week_calendar,
)

MONDAY = date(2026, 11, 23)
WEEK_GRID = (
    Path(__file__).resolve().parents[2] / "src/dentalcare/web/static/css/week-grid.css"
).read_text()


def _visit(on: date, start: int, minutes: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{on}-{start}",
        "appointment_date": on.isoformat(),
        "appointment_time": clock(start),
        "duration_minutes": minutes,
        "status": "confirmed",
        **extra,
    }


@st.composite
def days_of_visits(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Up to seven days of non-overlapping visits on a 5-minute grid, any hour of the day."""
    visits = []
    for offset in range(7):
        minute = draw(st.integers(0, 20)) * ROW_MINUTES
        for _ in range(draw(st.integers(0, 5))):
            minutes = draw(st.sampled_from([5, 15, 20, 30, 45, 60, 90, 120]))
            if minute + minutes > 24 * 60:
                break
            visits.append(_visit(MONDAY + timedelta(days=offset), minute, minutes))
            minute += minutes + draw(st.integers(0, 40)) * ROW_MINUTES
    return visits


@given(days_of_visits())
def test_each_visit_is_one_block_covering_its_minutes(visits: list[dict[str, Any]]) -> None:
    week = week_calendar(
        start=MONDAY, today=MONDAY, appointments=visits, weekly=[], exceptions=[], closures=[]
    )
    assert week.first % 60 == 0 and week.last % 60 == 0 and week.first < week.last
    blocks = [b for day in week.days for b in day.visits]
    assert len(blocks) == len(visits)
    for day in week.days:
        for block in day.visits:
            assert block.item is not None
            assert block.item["appointment_date"] == day.iso
            assert week.first <= block.start and block.end <= week.last
            assert block.row == (block.start - week.first) // ROW_MINUTES + 1 + HEADING_ROWS
            assert block.span * ROW_MINUTES == block.minutes == block.item["duration_minutes"]
            assert block.row + block.span - 1 <= week.rows + HEADING_ROWS


def test_the_stylesheet_places_every_row_of_a_day() -> None:
    starts = {int(n) for n in re.findall(r"\.gr(\d+)\{grid-row-start:\1\}", WEEK_GRID)}
    spans = {int(n) for n in re.findall(r"\.gs(\d+)\{grid-row-end:span \1\}", WEEK_GRID)}
    assert starts == set(range(1, ROWS_PER_DAY + HEADING_ROWS + 1))
    assert spans == set(range(1, ROWS_PER_DAY + HEADING_ROWS + 1))


def test_time_off_ranges_closures_and_cancelled_visits() -> None:
    wednesday = MONDAY + timedelta(days=2)
    week = week_calendar(
        start=MONDAY,
        today=MONDAY,
        appointments=[
            _visit(MONDAY, 9 * 60, 30, status="cancelled"),
            _visit(MONDAY, 9 * 60, 90, buffer_after_minutes=15),
        ],
        weekly=[
            {"day_of_week": d, "start_time": "09:00", "end_time": "17:00", "is_available": True}
            for d in range(5)
        ],
        exceptions=[
            {
                "date": wednesday.isoformat(),
                "until": (wednesday + timedelta(days=1)).isoformat(),
                "start_time": None,
                "end_time": None,
                "is_available": False,
                "reason": "Conference",
            },
            {
                "date": MONDAY.isoformat(),
                "until": None,
                "start_time": "14:00",
                "end_time": "15:30",
                "is_available": False,
                "reason": None,
            },
        ],
        closures=[{"date": (MONDAY + timedelta(days=4)).isoformat(), "reason": "Holiday"}],
    )
    monday, _, wed, thu, fri, sat, _ = week.days
    # The cancelled visit's time is free: only the 90-minute one is drawn, with its buffer.
    assert [(b.times, b.minutes) for b in monday.visits] == [("09:00–10:30", 90)]
    assert [b.times for b in monday.blocks if b.kind == "buffer"] == ["10:30–10:45"]
    assert [b.times for b in monday.blocks if b.kind == "time-off"] == ["14:00–15:30"]
    # Monday's hours are 09:00-17:00 less the time off.
    assert [b.times for b in monday.blocks if b.kind == "hours"] == ["09:00–14:00", "15:30–17:00"]
    for day in (wed, thu):
        assert [n["text"] for n in day.notes] == [f"Time off until {thu.label}"]
        assert not [b for b in day.blocks if b.kind == "hours"]
    assert fri.notes == [{"kind": "closure", "text": "Clinic closed", "reason": "Holiday"}]
    assert not [b for b in fri.blocks if b.kind == "hours"]
    assert sat.notes == [] and not sat.blocks
    assert (week.first, week.last) == (8 * 60, 18 * 60)
