"""The front desk's day and the clinic's appointment detail, in a browser (issue 15):
a phone booking by the front desk appears live on the dentist's page, checking a patient
in shows "waiting" there, and the dentist sees the patient's allergy on the detail page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.fixtures.rows import DEFAULT_PASSWORD, make_appointment, make_user
from tests.fixtures.servers import RunningServer
from tests.web.support import Clinic, log_in, screenshot, wait_live
from tests.web.test_accessibility import _check


def _front_desk(clinic: Clinic) -> dict[str, str]:
    desk = clinic.db.call(make_user, role="front_desk", full_name="Rita Reception")
    return {"email": desk["email"], "id": str(desk["id"])}


def test_a_phone_booking_by_the_front_desk_appears_live_on_the_dentists_page(
    clinic: Clinic, open_page: Callable[..., Page], server: RunningServer
) -> None:
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    expect(dentist).to_have_url(re.compile(r"/dentist$"))
    wait_live(dentist)

    desk = _front_desk(clinic)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        token = http.post(
            "/api/auth/login", json={"email": desk["email"], "password": DEFAULT_PASSWORD}
        ).json()["access_token"]
        booked = http.post(
            "/api/appointments",
            json={
                "dentist_id": clinic.dentist_id,
                "appointment_date": tomorrow.isoformat(),
                "appointment_time": "15:00",
                "patient_name": "Carl Caller",
                "patient_email": "carl.caller@example.com",
                "patient_phone": "+1 555 0177",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    assert booked.status_code == 201, booked.text
    assert booked.json()["booking_source"] == "front_desk"
    row = dentist.locator(f'[data-testid=appointment-row][data-id="{booked.json()["id"]}"]')
    expect(row).to_contain_text("Carl Caller")
    expect(row).to_contain_text("Front desk")


def test_checking_in_shows_waiting_on_the_dentists_page(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    today = datetime.now(UTC).date()
    appt = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=today,
        at=time(23, 0),
        patient_name="Wendy Waiting",
        status="confirmed",
    )
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    wait_live(dentist)
    row = dentist.locator(f'[data-testid=appointment-row][data-id="{appt["id"]}"]').first
    expect(row).to_be_visible()
    expect(row.get_by_test_id("waiting")).to_have_count(0)

    desk = open_page()
    log_in(desk, _front_desk(clinic)["email"])
    expect(desk).to_have_url(re.compile(r"/admin$"))
    expect(desk.get_by_role("heading", level=1)).to_contain_text("Today")
    wait_live(desk)
    desk_row = desk.locator(f'[data-testid=appointment-row][data-id="{appt["id"]}"]')
    desk_row.get_by_role("button", name="Check in").click()
    expect(desk.get_by_test_id("waiting-room")).to_contain_text("Wendy Waiting")
    screenshot(desk, "front-desk-day")

    expect(row.get_by_test_id("waiting")).to_be_visible()
    assert clinic.db.fetchrow("SELECT arrived_at FROM appointments WHERE id = $1", appt["id"])[
        "arrived_at"
    ]


def test_the_dentist_sees_the_allergy_on_the_appointment_detail(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    appt = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=(datetime.now(UTC) + timedelta(days=2)).date(),
        at=time(10),
        patient_name="Penny Cillin",
        patient_age=54,
        allergies="Severe penicillin allergy (anaphylaxis)",
        medications="Warfarin 5 mg daily",
    )
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    dentist.locator(f'[data-testid=appointment-row][data-id="{appt["id"]}"]').get_by_role(
        "link", name="Penny Cillin"
    ).click()
    expect(dentist).to_have_url(re.compile(rf"/appointments/{appt['id']}$"))
    expect(dentist.get_by_test_id("allergy-alert")).to_contain_text("Severe penicillin allergy")
    expect(dentist.get_by_test_id("medications")).to_have_text("Warfarin 5 mg daily")
    expect(dentist.get_by_test_id("appointment-messages")).to_be_visible()
    screenshot(dentist, "appointment-detail")
    read = clinic.db.fetchrow(
        "SELECT actor_role FROM audit_log WHERE entity_id = $1 AND action = 'read'", appt["id"]
    )
    assert read is not None and read["actor_role"] == "dentist"


def test_the_front_desk_is_refused_admin_pages(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    desk = open_page()
    log_in(desk, _front_desk(clinic)["email"])
    nav = desk.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Clinic set-up")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    for path in ("/admin/clinic", "/admin/audit", "/admin/staff", "/admin/treatments"):
        response = desk.goto(path)
        assert response is not None and response.status == 403, path


def test_the_new_pages_meet_wcag_21_aa(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    appt = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=datetime.now(UTC).date(),
        at=time(23, 30),
        allergies="Latex",
    )
    problems: list[str] = []
    for phone in (False, True):
        admin = open_page(phone=phone)
        log_in(admin, clinic.admin["email"])
        for path in ("/admin/today", "/admin/staff", "/admin/audit", f"/appointments/{appt['id']}"):
            problems += _check(admin, path)
    assert problems == [], "\n".join(problems)
