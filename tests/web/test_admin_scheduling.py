"""The admin's scheduling set-up (issue 12 item 7): treatments, chairs and each dentist's
chair, the clinic's settings (which the page chrome shows) and closed days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, log_in, next_week, screenshot


def test_admin_creates_a_treatment_that_patients_can_book(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/treatments")
    form = admin.get_by_test_id("add-treatment-form")
    form.get_by_role("button", name="Add treatment").click()  # nothing filled in
    expect(form.locator("#err-name")).to_contain_text("treatment's name")
    expect(form.locator("#err-duration_minutes")).to_contain_text("between 5 and 480")
    form.get_by_label("Name").fill("Wisdom tooth removal")
    form.get_by_label("What it is").fill("Taking out a wisdom tooth, with local anaesthetic.")
    form.get_by_label("Length (min)").fill("60")
    form.get_by_label("Price").fill("250")
    form.get_by_label("Chair time after (min)").fill("15")
    form.get_by_label("Dr Sarah Smith").check()
    form.get_by_role("button", name="Add treatment").click()
    expect(admin.get_by_test_id("toast")).to_contain_text("Wisdom tooth removal added")
    row = admin.get_by_test_id("treatment-row").filter(has_text="Wisdom tooth removal")
    expect(row).to_contain_text("60 min")
    expect(row).to_contain_text("+15 after")
    expect(row).to_contain_text("250")
    expect(row).to_contain_text("Dr Sarah Smith")
    screenshot(admin, "admin-treatments")

    row.get_by_role("link", name="Edit Wisdom tooth removal").click()
    admin.get_by_label("Length (min)").fill("75")
    admin.get_by_role("button", name="Save changes").click()
    expect(row).to_contain_text("75 min")

    visitor = open_page()
    visitor.goto("/book")
    card = visitor.get_by_test_id("treatment-card").filter(has_text="Wisdom tooth removal")
    expect(card.get_by_test_id("treatment-duration")).to_have_text("75 minutes")

    row.get_by_text("Retire…").click()
    row.get_by_role("button", name="Retire Wisdom tooth removal").click()
    expect(admin.get_by_test_id("toast")).to_contain_text("no longer offered")
    expect(row).to_contain_text("Retired")
    visitor.reload()
    expect(visitor.get_by_test_id("treatment-card").filter(has_text="Wisdom")).to_have_count(0)


def test_admin_adds_chairs_and_gives_a_dentist_one(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/chairs")
    form = admin.get_by_test_id("add-chair-form")
    for name in ("Surgery 1", "Surgery 2"):
        form.get_by_label("Chair name").fill(name)
        form.get_by_role("button", name="Add chair").click()
        expect(admin.get_by_test_id("toast")).to_contain_text(f"{name} added")
    form.get_by_label("Chair name").fill("surgery 1")
    form.get_by_role("button", name="Add chair").click()
    expect(form.locator("#err-name")).to_contain_text("exists already")
    expect(admin.get_by_test_id("chair-row")).to_have_count(2)

    second = admin.get_by_test_id("chair-row").filter(has=admin.locator("input[value='Surgery 2']"))
    second.get_by_label("Name of Surgery 2").fill("Hygiene room")
    second.get_by_role("button", name="Rename Surgery 2").click()
    expect(admin.get_by_test_id("toast")).to_contain_text("Renamed Hygiene room")
    admin.get_by_label("Dr Sarah Smith").select_option(label="Hygiene room")
    admin.get_by_role("button", name="Save chairs").click()
    expect(admin.get_by_test_id("toast")).to_contain_text("1 changed")
    chosen = clinic.db.fetchrow(
        "SELECT c.name FROM dentists d JOIN chairs c ON c.id = d.default_chair_id WHERE d.id = $1",
        clinic.dentist["id"],
    )
    assert chosen is not None and chosen["name"] == "Hygiene room"
    screenshot(admin, "admin-chairs")

    admin.get_by_role("button", name="Take Surgery 1 out of use").click()
    expect(admin.get_by_test_id("toast")).to_contain_text("Surgery 1 is out of use")
    expect(admin.get_by_role("button", name="Put Surgery 1 back in use")).to_be_visible()


def test_clinic_settings_show_on_every_page_and_a_closure_lists_that_days_bookings(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    day = next_week(2)
    clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=day,
        at=time(9, 30),
        patient_name="Bea Booked",
    )
    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/clinic")
    form = admin.get_by_test_id("clinic-form")
    form.get_by_label("Clinic name").fill("Harbour Dental")
    form.get_by_label("Phone").fill("+44 20 7946 0000")
    form.get_by_label("Hold a picked time (minutes)").fill("90")
    form.get_by_role("button", name="Save settings").click()
    expect(form.locator("#err-hold_minutes")).to_contain_text("1 to 60")
    form.get_by_label("Hold a picked time (minutes)").fill("8")
    form.get_by_label("Reminders (hours before)").fill("48, 3")
    form.get_by_role("button", name="Save settings").click()
    expect(admin.get_by_test_id("toast")).to_contain_text("Clinic settings saved")
    settings = clinic.db.fetchrow(
        "SELECT name, phone, hold_minutes, reminder_hours FROM clinic_settings"
    )
    assert settings is not None
    assert (settings["name"], settings["hold_minutes"], list(settings["reminder_hours"])) == (
        "Harbour Dental",
        8,
        [48, 3],
    )

    visitor = open_page()
    visitor.goto("/")
    expect(visitor.get_by_test_id("brand-name")).to_have_text("Harbour Dental")
    expect(visitor.get_by_test_id("clinic-phone")).to_contain_text("+44 20 7946 0000")
    expect(visitor).to_have_title("Find a dentist · Harbour Dental")
    visitor.goto("/no-such-page")
    expect(visitor.get_by_test_id("clinic-phone")).to_contain_text("+44 20 7946 0000")

    closure = admin.get_by_test_id("closure-form")
    closure.get_by_label("Date").fill(day.isoformat())
    closure.get_by_label("Reason").fill("Staff training")
    closure.get_by_role("button", name="Close that day").click()
    expect(admin.get_by_test_id("closure-added")).to_contain_text("1 booking already made")
    expect(admin.get_by_test_id("closure-bookings")).to_contain_text("09:30")
    expect(admin.get_by_test_id("closure-bookings")).to_contain_text("Bea Booked")
    expect(admin.get_by_test_id("closure-row")).to_contain_text("Staff training")
    screenshot(admin, "admin-clinic")
    closure.get_by_label("Date").fill(day.isoformat())
    closure.get_by_role("button", name="Close that day").click()
    expect(closure.locator("#err-date")).to_contain_text("already closed")

    # Nobody can book that day now.
    visitor.goto(f"/dentists/{clinic.dentist_id}?week={day.isoformat()}")
    expect(visitor.locator(f'[data-testid=slot][data-date="{day.isoformat()}"]')).to_have_count(0)
    admin.get_by_role("button", name=f"Open again on {day:%A} {day.day} {day:%B %Y}").click()
    expect(admin.get_by_test_id("toast")).to_contain_text("open that day again")
    visitor.reload()
    expect(
        visitor.locator(f'[data-testid=slot][data-date="{day.isoformat()}"]').first
    ).to_be_visible()
