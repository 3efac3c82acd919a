"""The scheduling pages pass axe-core's WCAG 2.1 A and AA rules on a desktop and on a
phone, in the states that matter: a start held on the booking page, a week with a long
visit, time off and a closed day, and the admin's forms with their errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, add_chair, add_treatment, log_in, next_monday
from tests.web.test_accessibility import _check, _violations


def _week_with_everything(clinic: Clinic) -> dict[str, Any]:
    """A 90-minute visit in a chair next Monday, two days off, a closed Saturday."""
    monday = next_monday()
    root = dict(add_treatment(clinic.db, "Root canal", 90, dentists=[clinic.dentist], price=700))
    chair = add_chair(clinic.db, "Surgery 1")
    clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=monday,
        at=time(10),
        duration_minutes=90,
        treatment_type_id=root["id"],
        chair_id=chair["id"],
    )
    clinic.db.execute(
        """INSERT INTO availability_exceptions (dentist_id, date, until, is_available, reason)
           VALUES ($1, $2, $3, false, 'Holiday')""",
        clinic.dentist["id"],
        monday + timedelta(days=2),
        monday + timedelta(days=3),
    )
    clinic.db.execute(
        "INSERT INTO clinic_closures (date, reason) VALUES ($1, 'Bank holiday')",
        monday + timedelta(days=5),
    )
    return root


def test_booking_pages_meet_wcag_21_aa(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    root = _week_with_everything(clinic)
    monday = next_monday().isoformat()
    booking = f"/dentists/{clinic.dentist_id}?treatment={root['id']}&week={monday}"
    problems: list[str] = []
    for phone, at in ((False, "14:00"), (True, "16:00")):  # the first one stays held
        visitor = open_page(phone=phone)
        for path in ("/book", f"/book/{root['id']}", booking):
            problems += _check(visitor, path)
        # A start held: the countdown and the pressed start.
        start = visitor.locator(f'#booking-picker [data-date="{monday}"][data-time="{at}"]')
        start.click()
        expect(visitor.get_by_test_id("hold-note")).to_be_visible()
        # The page's own re-check of that day may land after the hold: wait for the
        # pressed start as it stays (pressed, and not greyed out as someone else's).
        expect(start).to_have_attribute("aria-pressed", "true")
        expect(start).to_be_enabled()
        problems += [f"{booking} (held): {v}" for v in _violations(visitor)]
    assert problems == [], "\n".join(problems)


def test_dentist_week_meets_wcag_21_aa(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    _week_with_everything(clinic)
    problems: list[str] = []
    for phone in (False, True):
        dentist = open_page(phone=phone)
        log_in(dentist, clinic.dentist_user["email"])
        problems += _check(dentist, f"/dentist?week={next_monday().isoformat()}")
    assert problems == [], "\n".join(problems)


def test_admin_scheduling_pages_meet_wcag_21_aa(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    root = _week_with_everything(clinic)
    problems: list[str] = []
    for phone in (False, True):
        admin = open_page(phone=phone)
        log_in(admin, clinic.admin["email"])
        for path in (
            "/admin/treatments",
            f"/admin/treatments/{root['id']}/edit",
            "/admin/chairs",
            "/admin/clinic",
        ):
            problems += _check(admin, path)
        admin.get_by_role("button", name="Save settings").click()
        admin.goto("/admin/treatments")
        admin.get_by_role("button", name="Add treatment").click()  # the errors shown
        expect(admin.locator("#err-name")).to_be_visible()
        problems += [f"/admin/treatments (errors): {v}" for v in _violations(admin)]
    assert problems == [], "\n".join(problems)
