"""Script in user input shows as text everywhere and never runs."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Dialog, Page, expect

from tests.web.support import Clinic, log_in, next_week, screenshot, wait_live

PAYLOAD = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def test_script_in_a_name_renders_as_text(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """A patient named <script>alert(1)</script> is shown literally to dentist and admin."""
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    dentist = open_page()
    dentist.on("dialog", record)
    log_in(dentist, clinic.dentist_user["email"])
    wait_live(dentist)
    admin = open_page()
    admin.on("dialog", record)
    log_in(admin, clinic.admin["email"], then="/admin/appointments")
    wait_live(admin)

    patient = open_page()
    patient.on("dialog", record)
    patient.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(patient)
    patient.get_by_role("link", name="Next 7 days").click()
    thursday = next_week(3).isoformat()
    patient.locator(f'[data-testid=slot][data-date="{thursday}"][data-time="14:00"]').click()
    patient.get_by_label("Full name").fill(PAYLOAD)
    patient.get_by_label("E-mail").fill("xss@example.com")
    patient.get_by_label("Phone").fill("+1 555 0100")
    patient.get_by_label("Reason for your visit").fill(IMG)
    patient.get_by_role("button", name="Book appointment").click()
    expect(patient.get_by_test_id("confirmation")).to_contain_text(PAYLOAD)

    for page in (dentist, admin):
        row = page.locator("[data-testid=appointment-row]", has_text=PAYLOAD)
        expect(row.get_by_test_id("patient-name")).to_have_text(PAYLOAD)
        expect(row).to_contain_text(IMG)
        expect(page.get_by_test_id("toast").filter(has_text=PAYLOAD)).to_be_visible()
        assert page.locator("img[src=x]").count() == 0
    screenshot(dentist, "dentist-board-xss")
    assert dialogs == []
