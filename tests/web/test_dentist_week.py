"""The dentist's week (issue 12 item 7): each visit one block as long as it lasts, with
its treatment and chair; time off (a date range too) and the clinic's closed days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import (
    Clinic,
    add_chair,
    add_treatment,
    log_in,
    next_monday,
    screenshot,
)

BOXES = """(ids) => ids.map((id) => {
  const r = document.querySelector(`[data-testid=calendar-item][data-id="${id}"]`)
    .getBoundingClientRect();
  return { x: r.x, y: r.y, width: r.width, height: r.height };
})"""


def _boxes(page: Page, *ids: Any) -> list[dict[str, float]]:
    """The calendar blocks' boxes, measured in one go."""
    boxes: list[dict[str, float]] = page.evaluate(BOXES, [str(i) for i in ids])
    return boxes


def test_a_ninety_minute_visit_is_one_long_block(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    monday = next_monday()
    root = add_treatment(clinic.db, "Root canal", 90, dentists=[clinic.dentist])
    chair = add_chair(clinic.db, "Surgery 2")
    long_visit = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=monday,
        at=time(10),
        duration_minutes=90,
        treatment_type_id=root["id"],
        chair_id=chair["id"],
        patient_name="Rita Root",
        status="confirmed",
    )
    short_visit = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=monday,
        at=time(14),
        patient_name="Cheryl Check",
    )
    # A week away from Wednesday to Friday, an afternoon off on Tuesday, and the clinic
    # closed on Sunday.
    wednesday, friday = monday + timedelta(days=2), monday + timedelta(days=4)
    clinic.db.execute(
        """INSERT INTO availability_exceptions (dentist_id, date, until, is_available, reason)
           VALUES ($1, $2, $3, false, 'Conference')""",
        clinic.dentist["id"],
        wednesday,
        friday,
    )
    clinic.db.execute(
        """INSERT INTO availability_exceptions
               (dentist_id, date, start_time, end_time, is_available, reason)
           VALUES ($1, $2, '13:00', '18:00', false, 'Training')""",
        clinic.dentist["id"],
        monday + timedelta(days=1),
    )
    clinic.db.execute(
        "INSERT INTO clinic_closures (date, reason) VALUES ($1, 'Bank holiday')",
        monday + timedelta(days=6),
    )

    page = open_page()
    log_in(page, clinic.dentist_user["email"], then=f"/dentist?week={monday.isoformat()}")
    week = page.get_by_test_id("week-calendar")
    long_block = week.locator(f'[data-testid=calendar-item][data-id="{long_visit["id"]}"]')
    short_block = week.locator(f'[data-testid=calendar-item][data-id="{short_visit["id"]}"]')
    expect(long_block).to_contain_text("10:00–11:30")
    expect(long_block).to_contain_text("Rita Root")
    expect(long_block).to_contain_text("Root canal")
    expect(long_block.get_by_test_id("calendar-chair")).to_have_text("Surgery 2")
    expect(long_block).to_have_attribute("data-minutes", "90")
    expect(short_block).to_be_visible()
    expect(short_block).to_contain_text("14:00–14:30")
    # Both measured at once: the live board may redraw itself between two calls.
    tall, short = _boxes(page, long_visit["id"], short_visit["id"])
    # One block three times as tall as a 30-minute one (give or take its margins), and
    # lower on the page by the four hours between them.
    assert 2.8 < tall["height"] / short["height"] < 3.2, (tall, short)
    hour = (short["y"] - tall["y"]) / 4
    assert abs(tall["height"] - 1.5 * hour) < 4, (tall, short)
    screenshot(page, "dentist-week-long-block")

    days = page.get_by_test_id("calendar-day")
    for offset in (2, 3, 4):
        note = days.nth(offset).get_by_test_id("day-note")
        expect(note).to_contain_text("Time off until")
        expect(note).to_contain_text("Conference")
    expect(days.nth(5).get_by_test_id("day-note")).to_have_count(0)
    expect(days.nth(1).get_by_test_id("calendar-time-off")).to_contain_text("13:00–18:00")
    expect(days.nth(1).get_by_test_id("calendar-time-off")).to_contain_text("Training")
    expect(days.nth(6).get_by_test_id("day-note")).to_have_text("Clinic closed: Bank holiday")

    phone = open_page(phone=True)
    log_in(phone, clinic.dentist_user["email"], then=f"/dentist?week={monday.isoformat()}")
    phone_block = phone.locator(f'[data-testid=calendar-item][data-id="{long_visit["id"]}"]')
    expect(phone_block).to_contain_text("10:00–11:30")
    expect(phone_block).to_be_visible()
    (box,) = _boxes(phone, long_visit["id"])
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    screenshot(phone, "dentist-week-phone")
