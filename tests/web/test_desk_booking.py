"""Staff book for a caller and move or cancel appointments, in a browser (issue 15, item 1):
the front desk books a phone caller through /admin/appointments/new and it appears on the
dentist's day; staff move an appointment to another dentist from its detail page, whose
message log lists the booking's messages; staff cancel with a reason there."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment, make_user
from tests.web.support import Clinic, add_dentist, log_in, screenshot, wait_live


def _front_desk(clinic: Clinic) -> str:
    return str(clinic.db.call(make_user, role="front_desk", full_name="Rita Reception")["email"])


def test_the_front_desk_books_a_phone_caller_who_appears_on_the_dentists_day(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    expect(dentist).to_have_url(re.compile(r"/dentist$"))
    wait_live(dentist)

    desk = open_page(phone=True, javascript=False)  # plain forms, on a phone
    log_in(desk, _front_desk(clinic))
    expect(desk).to_have_url(re.compile(r"/admin$"))
    desk.get_by_test_id("new-appointment").click()
    expect(desk).to_have_url(re.compile(r"/admin/appointments/new$"))

    # Finding a registered patient fills the caller's details in.
    desk.get_by_label("Search patients").fill("Alice")
    desk.get_by_role("button", name="Search", exact=True).click()
    expect(desk.get_by_test_id("patient-result")).to_have_count(1)
    desk.get_by_role("link", name=re.compile("^Choose Alice Brown")).click()
    expect(desk.get_by_label("Caller's name")).to_have_value("Alice Brown")
    expect(desk.get_by_label("Caller's e-mail")).to_have_value(clinic.patient["email"])
    desk.get_by_label("Search patients").fill("Nobody Known")
    desk.get_by_role("button", name="Search", exact=True).click()
    expect(desk.get_by_test_id("no-patient-results")).to_be_visible()

    # A new caller, typed in.
    on = (datetime.now(UTC) + timedelta(days=2)).date()
    desk.get_by_label("Caller's name").fill("Carl Caller")
    desk.get_by_label("Caller's e-mail").fill("carl.caller@example.com")
    desk.get_by_label("Caller's phone").fill("+1 555 0177")
    desk.get_by_label("Dentist", exact=True).select_option(label="Dr Sarah Smith")
    desk.get_by_label("Appointment day").fill(on.isoformat())
    desk.get_by_role("button", name="Show free times").click()
    desk.get_by_role("radio", name="15:00").check()
    # On a 390 px phone the page does not scroll sideways.
    assert desk.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(desk, "front-desk-new-appointment")
    desk.get_by_role("button", name="Book appointment").click()

    expect(desk).to_have_url(re.compile(r"/appointments/[0-9a-f-]{36}$"))
    expect(desk.get_by_role("heading", level=1)).to_have_text("Carl Caller")
    appointment_id = desk.url.rsplit("/", 1)[1]
    row = clinic.db.fetchrow(
        "SELECT booking_source, patient_email, appointment_date, appointment_time, dentist_id "
        "FROM appointments WHERE id = $1",
        appointment_id,
    )
    assert row is not None
    assert row["booking_source"] == "front_desk"
    assert row["patient_email"] == "carl.caller@example.com"
    assert (row["appointment_date"], row["appointment_time"]) == (on, time(15))
    assert row["dentist_id"] == clinic.dentist["id"]
    # The booking's own message is in the detail page's log.
    expect(desk.get_by_test_id("appointment-messages")).to_contain_text("Booking")
    expect(desk.get_by_test_id("appointment-messages")).to_contain_text("carl.caller@example.com")

    on_day = dentist.locator(f'[data-testid=appointment-row][data-id="{appointment_id}"]')
    expect(on_day).to_contain_text("Carl Caller")
    expect(on_day).to_contain_text("Front desk")


def test_a_taken_time_is_refused_and_nothing_is_written(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    on = (datetime.now(UTC) + timedelta(days=3)).date()
    desk = open_page()
    log_in(desk, _front_desk(clinic))
    desk.goto(
        "/admin/appointments/new?patient_name=Tina+Taken&patient_email=tina%40example.com"
        "&patient_phone=%2B1+555+0188"
        f"&dentist_id={clinic.dentist_id}&appointment_date={on.isoformat()}"
    )
    desk.get_by_role("radio", name="09:00").check()
    # Someone else takes 09:00 meanwhile.
    clinic.db.call(make_appointment, dentist_id=clinic.dentist["id"], on=on, at=time(9))
    desk.get_by_role("button", name="Book appointment").click()
    expect(desk.locator("#err-appointment_time")).to_contain_text("choose another time")
    # Without a phone number, the caller's details are asked for again.
    desk.get_by_label("Caller's phone").fill("")
    desk.get_by_role("button", name="Show free times").click()
    desk.get_by_role("radio", name="10:00").check()
    desk.get_by_role("button", name="Book appointment").click()
    expect(desk.get_by_test_id("caller-errors")).to_be_visible()
    expect(desk.locator("#err-patient_phone")).to_be_visible()
    taken = clinic.db.fetchrow(
        "SELECT count(*) AS n FROM appointments WHERE patient_email = 'tina@example.com'"
    )
    assert taken is not None and taken["n"] == 0


def test_staff_move_an_appointment_to_another_dentist_from_its_detail_page(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    other = add_dentist(clinic.db, name="Dr Oscar Other")
    on = (datetime.now(UTC) + timedelta(days=2)).date()
    appt = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=on,
        at=time(10),
        patient_name="Maya Mover",
        status="confirmed",
    )
    other_day = open_page()
    other_user = clinic.db.fetchrow("SELECT email FROM users WHERE id = $1", other["user_id"])
    assert other_user is not None
    log_in(other_day, other_user["email"])
    wait_live(other_day)

    admin = open_page()
    log_in(admin, clinic.admin["email"])
    admin.goto(f"/appointments/{appt['id']}")
    expect(admin.get_by_test_id("appointment-messages")).to_contain_text("No messages yet")
    admin.get_by_label("New dentist").select_option(label="Dr Oscar Other")
    admin.get_by_label("New day").fill(on.isoformat())
    admin.get_by_role("button", name="Show free times").click()
    expect(admin.get_by_test_id("move-form")).to_contain_text("Dr Oscar Other")
    admin.get_by_role("radio", name="11:30").check()
    admin.get_by_role("button", name="Move appointment").click()

    expect(admin).to_have_url(re.compile(rf"/appointments/{appt['id']}$"))
    expect(admin.get_by_role("status").first).to_contain_text("Moved to Dr Oscar Other")
    moved = clinic.db.fetchrow(
        "SELECT dentist_id, appointment_time FROM appointments WHERE id = $1", appt["id"]
    )
    assert moved is not None
    assert (moved["dentist_id"], moved["appointment_time"]) == (other["id"], time(11, 30))
    expect(admin.get_by_test_id("appointment-messages")).to_contain_text("Booking rescheduled")
    row = other_day.locator(f'[data-testid=appointment-row][data-id="{appt["id"]}"]')
    expect(row).to_contain_text("Maya Mover")
    # The new dentist reads the same message log, and has no staff forms.
    other_day.goto(f"/appointments/{appt['id']}")
    expect(other_day.get_by_test_id("appointment-messages")).to_contain_text("Booking rescheduled")
    expect(other_day.get_by_test_id("move-appointment")).to_have_count(0)


def test_dentists_and_patients_are_refused_the_staff_booking_page(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    for email in (clinic.dentist_user["email"], clinic.patient["email"]):
        visitor = open_page()
        log_in(visitor, email)
        response = visitor.goto("/admin/appointments/new")
        assert response is not None and response.status == 403, email


def test_the_front_desk_cancels_with_a_reason_from_the_detail_page(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    appt = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=(datetime.now(UTC) + timedelta(days=4)).date(),
        at=time(14),
        patient_name="Carla Cancel",
    )
    desk = open_page(phone=True)
    log_in(desk, _front_desk(clinic))
    desk.goto(f"/appointments/{appt['id']}")
    assert desk.evaluate("document.documentElement.scrollWidth") <= 390
    desk.get_by_text("Cancel appointment…").click()
    desk.get_by_label("Cancellation reason").fill("Called in sick")
    desk.locator("[data-action=cancel]").click()
    expect(desk).to_have_url(re.compile(rf"/appointments/{appt['id']}$"))
    expect(desk.get_by_test_id("detail-status")).to_contain_text("Cancelled")
    expect(desk.get_by_test_id("move-appointment")).to_have_count(0)
    row = clinic.db.fetchrow(
        "SELECT status, cancellation_reason FROM appointments WHERE id = $1", appt["id"]
    )
    assert row is not None
    assert (row["status"], row["cancellation_reason"]) == ("cancelled", "Called in sick")
