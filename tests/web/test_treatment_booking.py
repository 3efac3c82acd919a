"""Booking treatment first (issue 12 item 7): the treatment, then the dentists who perform
it and their free starts; picking a start holds it, and other browsers grey it out live;
booking converts the hold; a lapsed hold frees the start for everyone. The same path
works with JavaScript off (issue 18 item 8)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.web.support import (
    Clinic,
    add_treatment,
    next_week,
    screenshot,
    wait_live,
)

STANDARD = "00000000-0000-4000-8000-000000000001"


def _slot(page: Page, day: str, at: str) -> Locator:
    return page.locator(f'#booking-picker [data-testid=slot][data-date="{day}"][data-time="{at}"]')


def _fill(page: Page, name: str, email: str) -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Phone").fill("+1 555 0199")


def _root_canal(clinic: Clinic, **extra: Any) -> dict[str, Any]:
    row = add_treatment(clinic.db, "Root canal", 90, dentists=[clinic.dentist], price=700, **extra)
    return dict(row)


def test_treatment_first_hold_greys_the_time_out_elsewhere_then_books(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    root = _root_canal(clinic)
    day = next_week(2).isoformat()
    # Someone else is looking at the same dentist's 30-minute check-ups that week.
    other = open_page()
    other.goto(f"/dentists/{clinic.dentist_id}?treatment={STANDARD}&week={day}")
    wait_live(other)
    for at in ("09:30", "10:00", "11:00", "11:30", "14:00"):
        expect(_slot(other, day, at)).to_be_enabled()

    patient = open_page()
    patient.goto("/book")
    card = patient.get_by_test_id("treatment-card").filter(has_text="Root canal")
    expect(card.get_by_test_id("treatment-duration")).to_have_text("90 minutes")
    expect(card.get_by_test_id("treatment-price")).to_have_text("700")
    screenshot(patient, "booking-treatments")
    card.get_by_role("link", name="Root canal").click()
    dentist_card = patient.get_by_test_id("treatment-dentist").filter(has_text="Dr Sarah Smith")
    expect(dentist_card).to_contain_text("90-minute visit")
    screenshot(patient, "booking-treatment-dentists")
    dentist_card.get_by_role("link", name="All free times with Dr Sarah Smith").click()
    expect(patient.get_by_label("Treatment")).to_have_value(str(root["id"]))
    wait_live(patient)
    patient.get_by_role("link", name="Next 7 days").click()
    ten = _slot(patient, day, "10:00")
    expect(ten).to_have_accessible_name(re.compile(r"at 10:00 UTC, 90 minutes"))
    ten.click()

    held = patient.get_by_test_id("hold-note")
    expect(held).to_contain_text("Held for you until")
    expect(held).to_contain_text(re.compile(r"\(\d:\d\d left\)"))
    expect(ten).to_have_attribute("aria-pressed", "true")
    expect(patient.get_by_test_id("selected-time")).to_contain_text("at 10:00")
    # The 90 minutes from 10:00 are nobody else's now, whatever they book.
    for at in ("10:00", "10:30", "11:00"):
        expect(_slot(other, day, at)).to_be_disabled()
    for at in ("09:30", "11:30"):
        expect(_slot(other, day, at)).to_be_enabled()
    screenshot(other, "booking-held-elsewhere")

    # Picking another start gives the first one back.
    with patient.expect_response(lambda r: "/free-times?" in r.url):
        _slot(patient, day, "14:00").click()  # the page asks again after its own hold
    expect(patient.get_by_test_id("selected-time")).to_contain_text("at 14:00")
    expect(_slot(other, day, "10:00")).to_be_enabled()
    expect(_slot(other, day, "14:00")).to_be_disabled()
    expect(ten).to_have_attribute("aria-pressed", "false")
    # The holder's own page looks past its hold: 13:30 overlaps it, yet can be picked.
    _slot(patient, day, "13:30").click()
    expect(patient.get_by_test_id("selected-time")).to_contain_text("at 13:30")
    expect(_slot(other, day, "14:30")).to_be_disabled()
    _slot(patient, day, "14:00").click()
    expect(patient.get_by_test_id("selected-time")).to_contain_text("at 14:00")
    expect(_slot(other, day, "13:30")).to_be_enabled()

    _fill(patient, "Jane Guest", "jane@example.com")
    screenshot(patient, "booking-held")
    patient.get_by_role("button", name="Book appointment").click()
    expect(patient.get_by_test_id("booking-reference")).to_have_text(re.compile(r"^DC-"))
    expect(patient.get_by_test_id("confirmation")).to_contain_text("Root canal")
    expect(patient.get_by_test_id("confirmation")).to_contain_text("90 minutes")
    booked = clinic.db.fetchrow(
        "SELECT duration_minutes, treatment_type_id, hold_id, appointment_time::text AS at"
        " FROM appointments"
    )
    assert booked is not None
    assert (booked["duration_minutes"], booked["treatment_type_id"], booked["at"]) == (
        90,
        root["id"],
        "14:00:00",
    )
    assert booked["hold_id"] is not None  # booked with the hold, which is gone now
    assert clinic.db.fetchrow("SELECT count(*) AS n FROM holds")["n"] == 0  # type: ignore[index]
    for at, free in (("14:00", False), ("15:00", False), ("15:30", True)):
        expect(_slot(other, day, at)).to_be_enabled(enabled=free)


def test_a_lapsed_hold_frees_the_time_for_everyone(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    root = _root_canal(clinic)
    day = next_week(3).isoformat()
    url = f"/dentists/{clinic.dentist_id}?treatment={root['id']}&week={day}"
    other = open_page()
    other.goto(f"/dentists/{clinic.dentist_id}?week={day}")
    wait_live(other)
    # The clinic's default (30 minutes) first; the treatment chosen redraws the week.
    expect(_slot(other, day, "09:00")).to_have_accessible_name(re.compile("30 minutes"))
    other.get_by_label("Treatment").select_option(label="Root canal · 90 min · price 700")
    expect(_slot(other, day, "09:00")).to_have_accessible_name(re.compile("90 minutes"))
    expect(other).to_have_url(re.compile(rf"treatment={root['id']}"))
    expect(other.get_by_role("button", name="Show free times")).to_be_hidden()
    patient = open_page()
    patient.goto(url)
    wait_live(patient)
    _slot(patient, day, "09:00").click()
    expect(patient.get_by_test_id("hold-note")).to_be_visible()
    expect(_slot(other, day, "09:00")).to_be_disabled()

    # The hold runs out (as if its minutes had passed): the sweeper releases it and the
    # other browser offers the time again.
    clinic.db.execute("UPDATE holds SET expires_at = now() - interval '1 second'")
    expect(_slot(other, day, "09:00")).to_be_enabled()

    _fill(patient, "Slow Sam", "sam@example.com")
    patient.get_by_role("button", name="Book appointment").click()
    expect(patient.locator("#err-appointment_time")).to_contain_text("hold on this time has ended")
    assert clinic.db.fetchrow("SELECT count(*) AS n FROM appointments")["n"] == 0  # type: ignore[index]


def test_booking_works_without_javascript(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """Treatment → dentist → a start (a plain form: it holds the time) → the form →
    the confirmation, with scripts off; the week links work too."""
    root = _root_canal(clinic)
    page = open_page(javascript=False)
    page.goto("/book")
    page.get_by_role("link", name="Root canal").click()
    expect(page).to_have_url(re.compile(rf"/book/{root['id']}$"))
    dentist_card = page.get_by_test_id("treatment-dentist").filter(has_text="Dr Sarah Smith")
    dentist_card.get_by_role("link", name="All free times with Dr Sarah Smith").click()
    page.get_by_role("link", name="Next 7 days").click()
    day = next_week(4).isoformat()
    _slot(page, day, "11:00").click()
    # Back on the booking page, with the start held and shown in the form.
    expect(page).to_have_url(re.compile(rf"/dentists/{clinic.dentist_id}\?"))
    expect(page.get_by_test_id("hold-note")).to_contain_text("Held for you until")
    expect(page.get_by_test_id("selected-time")).to_contain_text("at 11:00")
    expect(_slot(page, day, "11:00")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "booking-no-js-held")

    page.get_by_role("button", name="Book appointment").click()  # nothing typed yet
    expect(page.locator("#err-patient_name")).to_contain_text("full name")
    expect(page.get_by_test_id("hold-note")).to_be_visible()  # the hold survives errors
    _fill(page, "Nora Noscript", "nora@example.com")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.get_by_test_id("booking-reference")).to_have_text(re.compile(r"^DC-"))
    expect(page.get_by_test_id("confirmation")).to_contain_text("Root canal")
    booked = clinic.db.fetchrow(
        "SELECT appointment_date::text AS d, duration_minutes FROM appointments"
    )
    assert booked is not None and (booked["d"], booked["duration_minutes"]) == (day, 90)


def test_a_taken_start_without_javascript_offers_the_next_ones(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Two people without scripts pick the same start: the second is told, shown the next
    free starts (each one a button that holds it), and books one of them."""
    root = _root_canal(clinic)
    day = next_week(1).isoformat()
    url = f"/dentists/{clinic.dentist_id}?treatment={root['id']}&week={day}"
    first, second = open_page(javascript=False), open_page(javascript=False)
    first.goto(url)
    second.goto(url)
    _slot(first, day, "13:00").click()
    expect(first.get_by_test_id("hold-note")).to_be_visible()
    _slot(second, day, "13:00").click()
    expect(second.locator("#err-appointment_time")).to_contain_text("not free at 13:00")
    alternatives = second.get_by_test_id("alt-slot")
    expect(alternatives.first).to_be_visible()
    alternatives.first.click()
    expect(second.get_by_test_id("hold-note")).to_be_visible()
    _fill(second, "Second Sue", "sue@example.com")
    second.get_by_role("button", name="Book appointment").click()
    expect(second.get_by_test_id("booking-reference")).to_have_text(re.compile(r"^DC-"))


def test_booking_on_a_phone(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """On a phone: a start picked on the treatment page is held and the form is in view."""
    root = _root_canal(clinic)
    page = open_page(phone=True)
    page.goto(f"/book/{root['id']}")
    first = page.get_by_test_id("treatment-dentist").get_by_test_id("slot").first
    day, at = first.get_attribute("data-date"), first.get_attribute("data-time")
    first.click()
    expect(page.get_by_test_id("hold-note")).to_be_visible()
    expect(page.get_by_test_id("selected-time")).to_contain_text(f"at {at}")
    expect(page.locator("#booking-form")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows
    screenshot(page, "booking-phone-held", full_page=False)
    _fill(page, "Pat Phone", "pat.phone@example.com")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.get_by_test_id("booking-reference")).to_have_text(re.compile(r"^DC-"))
    booked = clinic.db.fetchrow("SELECT appointment_date::text AS d FROM appointments")
    assert booked is not None and booked["d"] == day
