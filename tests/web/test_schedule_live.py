"""The dentist changes the weekly hours; an open slot picker follows without a reload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import asyncpg
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, log_in, next_monday, next_week, screenshot, wait_live

TAKEN_WITHIN_MS = 2_000


def _slot(page: Page, day: str, at: str) -> Locator:
    return page.locator(f'[data-testid=slot][data-date="{day}"][data-time="{at}"]')


def test_narrowed_monday_drops_slots_from_the_open_picker(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Monday 08-18 becomes 08-12 plus 13-15: the picker drops 12:00+ and 15:00+, keeps 13:00."""
    monday = next_monday().isoformat()
    patient = open_page()
    patient.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(patient)
    patient.get_by_role("link", name="Next 7 days").click()
    expect(_slot(patient, monday, "16:00")).to_have_count(1)

    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"], then="/dentist/availability")
    monday_editor = dentist.get_by_test_id("day-0")
    monday_editor.get_by_label("Monday, until").fill("12:00")
    monday_editor.get_by_role("button", name="+ Add hours").click()
    rows = monday_editor.get_by_test_id("window-row")
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_label("Monday, from").fill("13:00")
    rows.nth(1).get_by_label("Monday, until").fill("15:00")
    dentist.get_by_role("button", name="Save weekly hours").click()
    expect(dentist.get_by_test_id("hours-saved")).to_be_visible()
    screenshot(dentist, "dentist-availability")

    expect(_slot(patient, monday, "16:00")).to_have_count(0)
    expect(_slot(patient, monday, "12:00")).to_have_count(0)
    expect(_slot(patient, monday, "11:30")).to_have_count(1)
    expect(_slot(patient, monday, "13:00")).to_have_count(1)
    tuesday = next_week(1).isoformat()
    expect(_slot(patient, tuesday, "16:00")).to_have_count(1)


def test_taken_slot_greys_out_within_a_second(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """A booking made elsewhere greys its starts out at once; the start this browser
    holds stays its own (the database refuses anyone else's booking of it).

    Typically 30-150 ms from commit to the start greying out; the bound is 1 s plus
    head-room for a loaded CI machine.
    """
    monday = next_monday()
    patient = open_page()
    patient.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(patient)
    patient.get_by_role("link", name="Next 7 days").click()
    chosen = _slot(patient, monday.isoformat(), "10:30")
    chosen.click()
    expect(chosen).to_have_attribute("aria-pressed", "true")
    expect(patient.get_by_test_id("hold-note")).to_be_visible()

    clinic.db.call(make_appointment, dentist_id=clinic.dentist["id"], on=monday, at=time(9))
    expect(_slot(patient, monday.isoformat(), "09:00")).to_be_disabled(timeout=TAKEN_WITHIN_MS)
    expect(_slot(patient, monday.isoformat(), "09:30")).to_be_enabled()
    with pytest.raises(asyncpg.ExclusionViolationError):
        clinic.db.call(
            make_appointment, dentist_id=clinic.dentist["id"], on=monday, at=time(10, 30)
        )
    expect(chosen).to_be_enabled()
    expect(chosen).to_have_attribute("aria-pressed", "true")
