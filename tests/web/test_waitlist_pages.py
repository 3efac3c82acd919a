"""Joining the waitlist from the booking pages when nothing suits, as a guest, and the
staff's waitlist page showing the entry."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.web.support import Clinic, log_in

STANDARD = "00000000-0000-4000-8000-000000000001"


def test_a_guest_joins_the_waitlist_from_the_dentist_booking_page(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    page = open_page(phone=True)
    page.goto(f"/dentists/{clinic.dentist_id}?treatment={STANDARD}")
    form = page.get_by_test_id("waitlist-form")
    expect(form.get_by_role("heading")).to_have_text("Tell me if something earlier frees up")
    page.get_by_label("Your name (for the waitlist)").fill("Wendy Waiting")
    page.get_by_label("Address to send the offer to").fill("wendy@example.com")
    page.get_by_label("Mobile number for the offer").fill("+1 555 0177")
    page.get_by_label("Evenings").uncheck()
    form.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_test_id("toast")).to_contain_text("You are on the waitlist")
    row = clinic.db.fetchrow(
        "SELECT patient_name, patient_email, dentist_id, times, status FROM waitlist_entries"
    )
    assert row is not None
    assert row["patient_name"] == "Wendy Waiting" and row["patient_email"] == "wendy@example.com"
    assert str(row["dentist_id"]) == clinic.dentist_id
    assert list(row["times"]) == ["morning", "afternoon"] and row["status"] == "waiting"

    admin = open_page()
    log_in(admin, clinic.admin["email"])
    admin.goto("/admin/waitlist")
    expect(admin.get_by_test_id("waitlist-entries")).to_contain_text("Wendy Waiting")
    expect(admin.get_by_test_id("freed-slots")).to_have_text("0")
