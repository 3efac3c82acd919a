"""Admins add and remove dentists; logins, the directory and open pages follow."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, add_dentist, log_in, next_week, screenshot, wait_live


def test_admin_adds_a_dentist_who_then_logs_in(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The initial password is shown once; the new dentist logs in with it and is listed."""
    visitor = open_page()
    visitor.goto("/")
    wait_live(visitor)
    admin = open_page()
    log_in(admin, clinic.admin["email"])
    expect(admin).to_have_url(re.compile(r"/admin$"))
    # An admin lands on the day, as the front desk does; the dentists are one link away.
    expect(admin.get_by_test_id("waiting-room")).to_be_visible()
    admin.get_by_role("navigation", name="Main").get_by_role("link", name="Dentists").click()
    expect(admin).to_have_url(re.compile(r"/admin/dentists$"))
    wait_live(admin)

    form = admin.get_by_test_id("add-dentist-form")
    form.get_by_label("Name").fill("Dr Nadia Novak")
    form.get_by_label("E-mail (their login)").fill("nadia.novak@example.com")
    form.get_by_label("Specialty").fill("Periodontics")
    form.get_by_label("Years of experience").fill("8")
    form.get_by_role("button", name="Add dentist").click()
    password = admin.get_by_test_id("initial-password")
    expect(password).to_have_text(re.compile(r"\S{12,}"))
    expect(admin.get_by_test_id("dentist-row").filter(has_text="Dr Nadia Novak")).to_be_visible()
    screenshot(admin, "admin-dentists")
    initial = password.inner_text()
    expect(visitor.get_by_test_id("dentist-card").filter(has_text="Dr Nadia Novak")).to_be_visible()

    dentist = open_page()
    log_in(dentist, "nadia.novak@example.com", initial)
    expect(dentist).to_have_url(re.compile(r"/dentist$"))
    expect(dentist.get_by_role("heading", level=1)).to_contain_text("Dr Nadia Novak")

    admin.reload()
    expect(admin.get_by_test_id("initial-password")).to_have_count(0)


def test_admin_removes_a_dentist(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """Removed: login fails, the open directory drops the card, patients see the cancellation."""
    other = add_dentist(clinic.db, name="Dr Oscar Other")
    booked = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        patient_id=clinic.patient["id"],
        patient_email=clinic.patient["email"],
        on=next_week(2),
        at=time(9),
    )
    visitor = open_page()
    visitor.goto("/")
    wait_live(visitor)
    card = visitor.get_by_test_id("dentist-card").filter(has_text="Dr Sarah Smith")
    expect(card).to_be_visible()
    patient = open_page()
    log_in(patient, clinic.patient["email"])
    wait_live(patient)
    mine = patient.locator(f'[data-testid=appointment-row][data-id="{booked["id"]}"]')
    expect(mine).to_have_attribute("data-status", "pending")

    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/dentists")
    row = admin.get_by_test_id("dentist-row").filter(has_text="Dr Sarah Smith")
    row.get_by_role("link", name="Remove").click()
    screenshot(admin, "admin-remove-dentist")
    admin.get_by_test_id("confirm-remove").click()
    expect(admin.get_by_test_id("toast").filter(has_text="was removed")).to_be_visible()
    expect(admin.get_by_test_id("dentist-row")).to_have_count(1)

    expect(card).to_have_count(0)
    expect(
        visitor.get_by_test_id("dentist-card").filter(has_text=str(other["name"]))
    ).to_be_visible()
    expect(mine).to_have_attribute("data-status", "cancelled")
    # The service writes "dentist removed"; the patient reads it as a sentence.
    expect(mine).to_contain_text("The dentist no longer takes bookings at the clinic.")

    former = open_page()
    former.goto("/login")
    former.get_by_label("E-mail").fill(clinic.dentist_user["email"])
    former.get_by_label("Password").fill("correct-horse-battery")
    former.get_by_role("button", name="Log in", exact=True).click()
    expect(former.get_by_role("alert")).to_have_text("Wrong e-mail address or password.")
    former.goto(f"/dentists/{clinic.dentist_id}")
    expect(former.get_by_role("heading", level=1)).to_have_text("Not found")
