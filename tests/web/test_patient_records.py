"""Patient records in the browser: the admin searches, opens the patient's page; a
patient erases their own account and lands logged out on the home page; the new pages
pass axe on a desktop and a phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, log_in, next_monday
from tests.web.test_accessibility import _check


def test_admin_finds_a_patient_and_opens_their_page(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        patient_id=clinic.patient["id"],
        patient_email=clinic.patient["email"],
        on=next_monday(),
        at=time(10),
        notes="Prefers mornings",
    )
    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/patients")
    admin.get_by_label("Search patients").fill("alice")
    admin.get_by_role("button", name="Search", exact=True).click()
    rows = admin.get_by_test_id("patient-row")
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="Alice Brown").click()
    expect(admin.get_by_test_id("patient-name")).to_have_text("Alice Brown")
    expect(admin.get_by_test_id("patient-appointment")).to_have_count(1)
    expect(admin.get_by_test_id("patient-appointment")).to_contain_text("Prefers mornings")
    expect(admin.get_by_test_id("no-show-count")).to_have_text("0")


def test_patient_erases_their_account_and_is_logged_out(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    patient = open_page(phone=True)
    log_in(patient, clinic.patient["email"], then="/my/appointments")
    patient.get_by_role("link", name="Erase my account…").click()
    expect(patient.get_by_role("heading", name="Erase my account")).to_be_visible()
    patient.get_by_label("I understand that this cannot be undone").check()
    patient.get_by_role("button", name="Erase my account").click()
    expect(patient).to_have_url(re.compile(r"^https?://[^/]+/$"))
    expect(
        patient.get_by_text("Your account and personal details have been erased.")
    ).to_be_visible()
    expect(patient.locator("form[action='/logout']")).to_have_count(0)
    row = clinic.db.fetchrow("SELECT * FROM users WHERE id = $1", clinic.patient["id"])
    assert row is not None and row["full_name"] == "Erased patient" and row["phone"] is None


def test_record_pages_meet_wcag_21_aa(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        patient_id=clinic.patient["id"],
        on=next_monday(),
        at=time(10),
    )
    problems: list[str] = []
    for phone in (False, True):
        admin = open_page(phone=phone)
        log_in(admin, clinic.admin["email"])
        for path in (
            "/admin/patients",
            f"/admin/patients/{clinic.patient['id']}",
            "/admin/reports",
        ):
            problems += _check(admin, path)
        patient = open_page(phone=phone)
        log_in(patient, clinic.patient["email"])
        problems += _check(patient, "/my/data/erase")
    assert problems == [], "\n".join(problems)
