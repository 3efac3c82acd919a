"""Every other page: forms with errors at the field, accounts, find-my-booking, admin tools,
the sync monitor, and the phone layout. Each page is saved as a screenshot."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, log_in, next_monday, next_week, screenshot, wait_live


def test_booking_form_shows_errors_at_the_fields(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Missing time, bad e-mail and phone are reported next to their fields; a taken slot
    offers the next free times."""
    patient = open_page()
    patient.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(patient)
    patient.get_by_label("E-mail").fill("not-an-email")
    patient.get_by_label("Phone").fill("call me")
    patient.get_by_role("button", name="Book appointment").click()
    form = patient.locator("#booking-form")
    expect(form.locator("#err-appointment_time")).to_contain_text("Choose a free time")
    expect(form.locator("#err-patient_name")).to_contain_text("full name")
    expect(form.locator("#err-patient_email")).to_contain_text("valid e-mail")
    expect(form.locator("#err-patient_phone")).to_contain_text("phone number")
    expect(patient.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    screenshot(patient, "patient-booking-errors")

    monday = next_monday()
    clinic.db.call(make_appointment, dentist_id=clinic.dentist["id"], on=monday, at=time(9))
    token = patient.locator("meta[name=csrf-token]").get_attribute("content") or ""
    taken = patient.request.post(
        f"/dentists/{clinic.dentist_id}/book",
        form={
            "appointment_date": monday.isoformat(),
            "appointment_time": "09:00",
            "patient_name": "Late Larry",
            "patient_email": "larry@example.com",
            "patient_phone": "+1 555 0111",
        },
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert taken.status == 422
    assert "already booked" in taken.text()
    assert taken.text().count('data-testid="alt-slot"') == 5


def test_accounts_and_finding_a_booking(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """Register (after a too-short password), log out, log in wrong, find a guest booking."""
    page = open_page()
    page.goto("/register")
    page.get_by_label("Full name").fill("Bob Wilson")
    page.get_by_label("E-mail").fill("bob@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#err-password")).to_contain_text("at least 8 characters")
    screenshot(page, "patient-register")
    page.get_by_label("Password").fill("a-good-long-password")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/my/appointments$"))
    expect(page.get_by_test_id("toast").filter(has_text="Welcome, Bob Wilson")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_test_id("toast").filter(has_text="logged out")).to_be_visible()

    page.goto("/login")
    page.get_by_label("E-mail").fill("bob@example.com")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail address or password.")
    screenshot(page, "login")

    guest = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=next_week(4),
        at=time(16),
        patient_email="guest@example.com",
        patient_name="Gina Guest",
    )
    page.goto("/bookings/find")
    page.get_by_label("Booking reference").fill(guest["booking_reference"])
    page.get_by_label("E-mail").fill("someone-else@example.com")
    page.get_by_role("button", name="Find booking").click()
    expect(page.get_by_role("alert")).to_contain_text("No booking matches")
    screenshot(page, "patient-find-booking")
    page.get_by_label("E-mail").fill("guest@example.com")
    page.get_by_role("button", name="Find booking").click()
    expect(page.get_by_test_id("booking-reference")).to_have_text(guest["booking_reference"])
    page.get_by_text("Cancel this booking…").click()
    page.get_by_role("button", name="Yes, cancel my appointment").click()
    expect(page.get_by_test_id("confirmation")).to_have_attribute("data-status", "cancelled")

    page.goto("/dentists/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    screenshot(page, "not-found")


def test_admin_edits_a_dentist_and_watches_sync(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Edit a profile (errors at the field first); the sync monitor shows live figures."""
    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/dentists")
    row = admin.get_by_test_id("dentist-row").filter(has_text="Dr Sarah Smith")
    row.get_by_role("link", name="Edit").click()
    admin.get_by_label("Slot length (min)").fill("2")
    admin.get_by_role("button", name="Save changes").click()
    expect(admin.locator("#err-slot_minutes")).to_contain_text("between 5 and 240")
    screenshot(admin, "admin-edit-dentist")
    admin.get_by_label("Slot length (min)").fill("30")
    admin.get_by_label("Specialty").fill("Cosmetic Dentistry")
    admin.get_by_role("button", name="Save changes").click()
    expect(admin.get_by_test_id("toast").filter(has_text="saved")).to_be_visible()
    expect(admin.get_by_test_id("dentist-row")).to_contain_text("Cosmetic Dentistry")

    visitor = open_page()
    visitor.goto("/?specialty=Cosmetic+Dentistry")
    wait_live(visitor)
    expect(visitor.get_by_test_id("dentist-card")).to_have_count(1)

    admin.get_by_role("link", name="Sync monitor").click()
    monitor = admin.locator("#sync-monitor")
    expect(monitor).to_have_attribute("data-polled", re.compile(r"^([3-9]|\d\d+)$"))
    expect(admin.locator("[data-stat=connections]")).not_to_have_text("0")
    expect(admin.locator("[data-channel-table]")).to_contain_text("dentists")
    screenshot(admin, "admin-sync-monitor")


def test_phone_layout(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """At 390 px every portal fits the screen: nothing scrolls sideways."""
    clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        patient_id=clinic.patient["id"],
        patient_email=clinic.patient["email"],
        patient_name="Alice Brown",
        on=next_week(1),
        at=time(10),
        chief_complaint="Check-up",
    )
    shots = [
        (None, "/", "phone-directory"),
        (None, f"/dentists/{clinic.dentist_id}", "phone-dentist-profile"),
        (clinic.patient["email"], "/my/appointments", "phone-my-appointments"),
        (clinic.dentist_user["email"], "/dentist", "phone-dentist-board"),
        (clinic.dentist_user["email"], "/dentist/availability", "phone-dentist-availability"),
        (clinic.admin["email"], "/admin/appointments", "phone-admin-appointments"),
        (clinic.admin["email"], "/admin", "phone-admin-day"),
        (clinic.admin["email"], "/admin/dentists", "phone-admin-dentists"),
    ]
    pages: dict[str | None, Page] = {}
    for who, path, name in shots:
        if who not in pages:
            pages[who] = open_page(phone=True)
            if who:
                log_in(pages[who], who)
        page = pages[who]
        page.goto(path)
        screenshot(page, name)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px too wide on a phone"


def test_the_booking_assistant_opens_on_the_patient_site(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The chat widget sits on the patient pages (not in the portals) and greets the visitor."""
    visitor = open_page()
    visitor.goto("/")
    visitor.get_by_role("button", name="Book with our assistant").click()
    expect(visitor.locator(".dcchat-msg.dcchat-assistant").first).to_be_visible()
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    expect(dentist.get_by_role("button", name="Book with our assistant")).to_have_count(0)
