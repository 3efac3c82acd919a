"""A patient books; the dentist portal and the admin dashboard show it live, and back again."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, log_in, next_week, screenshot, wait_live


def _fill_booking(page: Page, name: str, email: str = "jane@example.com") -> None:
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Phone").fill("+1 555 0199")
    page.get_by_label("Reason for your visit").fill("Check-up and cleaning")


def test_guest_booking_appears_for_dentist_and_admin(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Guest books on the patient site → dentist and admin see it without reload → confirm."""
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    expect(dentist).to_have_url(re.compile(r"/dentist$"))
    wait_live(dentist)
    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/appointments")
    wait_live(admin)

    patient = open_page()
    patient.goto("/")
    wait_live(patient)
    screenshot(patient, "patient-directory")
    patient.get_by_role("link", name="Dr Sarah Smith", exact=True).click()
    wait_live(patient)
    patient.get_by_role("link", name="Next 7 days").click()
    wednesday = next_week(2).isoformat()
    slot = patient.locator(f'[data-testid=slot][data-date="{wednesday}"][data-time="10:30"]')
    slot.click()
    expect(slot).to_have_attribute("aria-pressed", "true")
    _fill_booking(patient, "Jane Guest")
    screenshot(patient, "patient-dentist-profile")
    patient.get_by_role("button", name="Book appointment").click()

    reference = patient.get_by_test_id("booking-reference")
    expect(reference).to_have_text(re.compile(r"^DC-[2-9A-Z]{7}$"))
    screenshot(patient, "patient-confirmation")
    ics = patient.request.get(patient.get_by_test_id("ics-link").get_attribute("href") or "")
    assert ics.ok and ics.headers["content-type"].startswith("text/calendar")
    assert reference.inner_text() in ics.text()

    row = dentist.locator("[data-testid=appointment-row]", has_text="Jane Guest")
    expect(row).to_have_attribute("data-status", "pending")
    expect(row.get_by_test_id("source-badge")).to_have_text("Web")
    expect(dentist.get_by_test_id("toast").filter(has_text="New booking")).to_be_visible()
    screenshot(dentist, "dentist-board")
    admin_row = admin.locator("[data-testid=appointment-row]", has_text="Jane Guest")
    expect(admin_row).to_have_attribute("data-status", "pending")
    screenshot(admin, "admin-appointments")

    row.get_by_role("button", name="Confirm").click()
    expect(row).to_have_attribute("data-status", "confirmed")
    expect(admin_row).to_have_attribute("data-status", "confirmed")
    expect(dentist.get_by_test_id("toast").filter(has_text="Appointment confirmed")).to_be_visible()


def test_chatbot_booking_shows_its_badge(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """A booking made by the chatbot appears live with its source badge."""
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    wait_live(dentist)
    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/appointments")
    wait_live(admin)

    clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=next_week(1),
        at=time(9, 30),
        booking_source="chatbot",
        patient_name="Chat Bot Patient",
        chief_complaint="Throbbing toothache at night",
        urgency="urgent",
    )
    for page in (dentist, admin):
        row = page.locator("[data-testid=appointment-row]", has_text="Chat Bot Patient")
        expect(row.get_by_test_id("source-badge")).to_have_text("Chatbot")
        expect(row).to_contain_text("Urgent")
    expect(dentist.get_by_test_id("toast").filter(has_text="via the chatbot")).to_be_visible()
    screenshot(dentist, "dentist-board-chatbot")
    admin.get_by_label("Source").select_option("chatbot")
    expect(admin.locator("[data-testid=appointment-row]")).to_have_count(1)


def test_patient_follows_status_live_reschedules_and_cancels(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The dentist confirms → the patient's list updates with a toast; reschedule; cancel."""
    day = next_week(3)
    booked = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        patient_id=clinic.patient["id"],
        patient_email=clinic.patient["email"],
        patient_name="Alice Brown",
        on=day,
        at=time(11),
    )
    patient = open_page()
    log_in(patient, clinic.patient["email"])
    expect(patient).to_have_url(re.compile(r"/my/appointments$"))
    wait_live(patient)
    mine = patient.locator(f'[data-testid=appointment-row][data-id="{booked["id"]}"]')
    expect(mine).to_have_attribute("data-status", "pending")

    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    wait_live(dentist)
    theirs = dentist.locator(f'[data-testid=appointment-row][data-id="{booked["id"]}"]')
    theirs.get_by_role("button", name="Confirm").click()

    expect(mine).to_have_attribute("data-status", "confirmed")
    expect(
        patient.get_by_test_id("toast").filter(has_text="confirmed your appointment")
    ).to_be_visible()
    screenshot(patient, "patient-my-appointments")

    mine.get_by_role("link", name="Reschedule").click()
    wait_live(patient)
    new_slot = patient.locator(
        f'[data-testid=slot][data-date="{day.isoformat()}"][data-time="15:00"]'
    )
    new_slot.click()
    screenshot(patient, "patient-reschedule")
    patient.get_by_role("button", name="Move my appointment").click()
    expect(patient.get_by_test_id("toast").filter(has_text="Moved to")).to_be_visible()
    expect(theirs).to_contain_text("15:00")

    wait_live(patient)
    mine.get_by_text("Cancel…").click()
    mine.get_by_role("button", name="Cancel appointment").click()
    expect(mine).to_have_attribute("data-status", "cancelled")
    expect(theirs).to_have_attribute("data-status", "cancelled")
    expect(
        dentist.get_by_test_id("toast").filter(has_text="Cancelled: Alice Brown")
    ).to_be_visible()
