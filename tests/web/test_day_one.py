"""What a clinic sees on day one, issue 18 items 9 and 10, in Chromium and over HTTP.

This module's server is a clinic in New York: its phone numbers are read as US ones and
its dentists' times are labelled EST or EDT.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.clinic import login_of
from tests.fixtures.rows import add_weekly_hours, make_appointment, make_dentist
from tests.fixtures.servers import RunningServer, serve
from tests.fixtures.tokens import user_headers
from tests.web.conftest import CSP_REPORTER
from tests.web.support import (
    Clinic,
    Database,
    add_dentist,
    log_in,
    next_week,
    screenshot,
    wait_live,
)

NEW_YORK = "America/New_York"


@pytest.fixture(scope="module")
def server(web_db: Database, database_url: str) -> Iterator[RunningServer]:
    """A server of this module's own, for a clinic in New York."""
    with serve(database_url, clinic_timezone=NEW_YORK) as running:
        yield running


def zone_name(day: date, at: time, zone: str = NEW_YORK) -> str:
    """What the zone is called at that local moment, as tzdata says (EST or EDT)."""
    return datetime.combine(day, at, ZoneInfo(zone)).tzname() or ""


def ny_dentist(clinic: Clinic, name: str = "Dr Nora York") -> Any:
    """A dentist working in New York every day 08:00-18:00 local time, with a login."""
    return add_dentist(clinic.db, name=name, timezone=NEW_YORK)


def booking(dentist_id: Any, on: date, at: str, **fields: Any) -> dict[str, Any]:
    """An API booking body."""
    return {
        "dentist_id": str(dentist_id),
        "appointment_date": on.isoformat(),
        "appointment_time": at,
        "patient_name": "Gus Guest",
        "patient_email": "gus@example.com",
        "patient_phone": "+1 212 555 0100",
        **fields,
    }


# ---------------------------------------------------------------------------- item 9


def test_every_time_a_patient_sees_says_its_zone(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Booking page (picker, chosen slot), confirmation, my appointments, a live toast, a
    guest's look-up, the dentist's board and the admin's list: "10:30 EST" (or EDT), on a
    phone for the patient."""
    dentist = ny_dentist(clinic)
    day = next_week(2)
    zone = zone_name(day, time(10, 30))

    patient = open_page(phone=True)
    log_in(patient, clinic.patient["email"], then=f"/dentists/{dentist['id']}")
    wait_live(patient)
    patient.get_by_role("link", name="Next 7 days").click()
    heading = patient.get_by_test_id("picker-zone")
    expect(heading).to_contain_text(f"({NEW_YORK})")
    expect(heading).to_contain_text(re.compile("times in (EST|EDT)"))
    slot = patient.locator(f'[data-testid=slot][data-date="{day.isoformat()}"][data-time="10:30"]')
    expect(slot).to_have_attribute("aria-label", re.compile(f"at 10:30 {zone}, 30 minutes$"))
    slot.click()
    chosen = patient.locator("#booking-form [data-selected-text]")
    expect(chosen).to_have_text(re.compile(f"at 10:30 {zone}$"))
    patient.get_by_role("button", name="Book appointment").click()
    expect(patient.get_by_test_id("booking-when")).to_have_text(re.compile(f"at 10:30 {zone}$"))
    screenshot(patient, "zone-confirmation-phone", full_page=False)
    patient.goto("/my/appointments")
    wait_live(patient)
    row = patient.get_by_test_id("appointment-row").filter(has_text="Dr Nora York")
    expect(row).to_contain_text(f"at 10:30 {zone}")

    staff = open_page()
    log_in(staff, clinic.db.call(login_of, dentist=dentist)["email"])
    wait_live(staff)
    theirs = staff.get_by_test_id("appointment-row").filter(has_text="Alice Brown")
    expect(theirs.locator(".appt-time")).to_have_text(f"10:30 {zone}")
    theirs.get_by_role("button", name="Confirm").click()
    # The patient's toast comes from the live record, labelled in the browser (app.js).
    toast = patient.get_by_test_id("toast").filter(has_text="confirmed your appointment")
    expect(toast).to_contain_text(f"at 10:30 {zone}")

    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/appointments")
    wait_live(admin)
    listed = admin.get_by_test_id("appointment-row").filter(has_text="Alice Brown")
    expect(listed.locator(".appt-time")).to_have_text(f"10:30 {zone}")

    guest_booking = clinic.db.call(
        make_appointment,
        dentist_id=dentist["id"],
        on=day,
        at=time(15),
        patient_email="gwen@example.com",
        patient_name="Gwen Guest",
    )
    guest = open_page(phone=True)
    guest.goto("/bookings/find")
    guest.get_by_label("Booking reference").fill(guest_booking["booking_reference"])
    guest.get_by_label("E-mail").fill("gwen@example.com")
    guest.get_by_role("button", name="Find booking").click()
    expect(guest.get_by_test_id("booking-when")).to_have_text(
        re.compile(f"at 15:00 {zone_name(day, time(15))}$")
    )


def test_times_are_typed_24_hour_whatever_the_browsers_language(
    clinic: Clinic, browser: Browser, server: RunningServer
) -> None:
    """In an en-US Chromium, <input type=time> would show 02:30 PM; the hours editor asks
    for HH:MM in text fields instead, reads 13.30 and 9:00, and refuses 25:00 at its row."""
    context = browser.new_context(base_url=server.base_url, locale="en-US", timezone_id="UTC")
    context.add_init_script(CSP_REPORTER)
    try:
        page = context.new_page()
        log_in(page, clinic.dentist_user["email"], then="/dentist/availability")
        assert page.locator("input[type=time]").count() == 0
        monday = page.get_by_test_id("day-0")
        start = monday.locator("input[name=start_time]").first
        end = monday.locator("input[name=end_time]").first
        assert start.get_attribute("pattern") and start.get_attribute("type") == "text"
        expect(start).to_have_value("08:00")
        expect(end).to_have_value("18:00")
        expect(page.locator("#hours-hint")).to_contain_text("24-hour (HH:MM)")
        screenshot(page, "hours-24-hour-en-US")
        end.fill("13.30")
        page.get_by_test_id("save-hours").click()
        expect(page.get_by_test_id("hours-saved")).to_be_visible()
        page.reload()
        expect(page.get_by_test_id("day-0").locator("input[name=end_time]").first).to_have_value(
            "13:30"
        )
        page.get_by_test_id("day-0").locator("input[name=start_time]").first.fill("25:00")
        page.get_by_test_id("save-hours").click()
        expect(page.get_by_test_id("day-0")).to_contain_text("Enter both times as HH:MM")

        page.reload()
        page.get_by_label("Extra hours", exact=True).check()
        page.get_by_label("Date", exact=True).fill((date.today() + timedelta(days=10)).isoformat())
        page.locator("#f-start_time").fill("9:00")
        page.locator("#f-end_time").fill("12.00")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.get_by_test_id("exception-row")).to_contain_text("09:00–12:00")
    finally:
        context.close()


def test_phone_numbers_in_international_formats(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """A US number as dialled locally and a UK one with its code are both taken and shown
    international; a UK number without its code in a US clinic says what to type."""
    page = open_page()
    page.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(page)
    expect(page.locator("#hint-patient_phone")).to_contain_text("(United States)")
    token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
    day = next_week(1)

    def book(at: str, phone: str, email: str) -> str:
        response = page.request.post(
            f"/dentists/{clinic.dentist_id}/book",
            form={
                "appointment_date": day.isoformat(),
                "appointment_time": at,
                "patient_name": "Phil Phone",
                "patient_email": email,
                "patient_phone": phone,
            },
            headers={"X-CSRF-Token": token, "HX-Request": "true"},
        )
        return f"{response.status} {response.text()}"

    assert book("09:00", "(212) 555-0142", "phil@example.com").startswith("204")
    assert book("09:30", "+44 20 7946 0958", "pippa@example.com").startswith("204")
    refused = book("10:00", "020 7946 0958", "percy@example.com")
    assert refused.startswith("422") and "too few or too many digits" in refused
    stored = clinic.db.fetchrow(
        "SELECT array_agg(patient_phone ORDER BY appointment_time) AS phones FROM appointments"
    )
    assert stored is not None and stored["phones"] == ["+1 212-555-0142", "+44 20 7946 0958"]

    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/appointments")
    phones = admin.get_by_test_id("patient-phone")
    expect(phones).to_have_text(["+1 212-555-0142", "+44 20 7946 0958"])

    visitor = open_page()
    visitor.goto("/register")
    visitor.get_by_label("Full name").fill("Rita Register")
    visitor.get_by_label("E-mail").fill("rita@example.com")
    visitor.get_by_label("Phone").fill("212.555.0199")
    visitor.get_by_label("Password").fill("a-long-enough-password")
    visitor.get_by_role("button", name="Create account").click()
    expect(visitor).to_have_url(re.compile(r"/my/appointments$"))
    user = clinic.db.fetchrow("SELECT phone FROM users WHERE email = 'rita@example.com'")
    assert user is not None and user["phone"] == "+1 212-555-0199"


# ---------------------------------------------------------------------------- item 10


def test_a_removed_dentist_takes_no_bookings_anywhere(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The open booking page loses its form at once; the admin sees the profile with no
    form; anyone else gets a page saying the dentist no longer takes bookings."""
    patient = open_page(phone=True)
    patient.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(patient)
    expect(patient.locator("form#booking-form")).to_be_visible()

    admin = open_page()
    log_in(admin, clinic.admin["email"], then=f"/admin/dentists/{clinic.dentist_id}/remove")
    admin.get_by_test_id("confirm-remove").click()
    expect(admin.get_by_test_id("toast").filter(has_text="was removed")).to_be_visible()

    expect(patient.get_by_test_id("booking-closed")).to_contain_text("No longer taking bookings")
    expect(patient.locator("form#booking-form")).to_have_count(0)
    expect(patient.locator("#booking-picker")).to_contain_text("not taking bookings here any more")
    screenshot(patient, "removed-dentist-live-phone", full_page=False)

    admin.goto(f"/dentists/{clinic.dentist_id}")
    expect(admin.get_by_test_id("booking-closed")).to_contain_text(
        "Dr Sarah Smith no longer takes bookings"
    )
    expect(admin.locator("form#booking-form")).to_have_count(0)
    expect(admin.locator("#booking-picker")).to_have_count(0)

    stranger = open_page()
    response = stranger.goto(f"/dentists/{clinic.dentist_id}")
    assert response is not None and response.status == 404
    expect(stranger.locator("#main")).to_contain_text("not taking bookings here any more")
    expect(stranger.locator("form#booking-form")).to_have_count(0)


def test_a_dentist_with_no_hours_is_not_listed_as_taking_bookings(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The directory counts and marks only dentists with hours; the profile has no form
    until hours appear, and then has one without a reload by hand."""
    idle = clinic.db.call(make_dentist, name="Dr Ida Idle")
    page = open_page()
    page.goto("/")
    wait_live(page)
    expect(page.locator(".results-count")).to_have_text(
        "1 dentist taking bookings · 1 not taking online bookings yet"
    )
    card = page.get_by_test_id("dentist-card").filter(has_text="Dr Ida Idle")
    expect(card).to_have_attribute("data-bookable", "false")
    expect(card.get_by_test_id("not-bookable")).to_have_text("Not taking online bookings yet")
    expect(card.get_by_role("link", name=re.compile("See free times"))).to_have_count(0)
    busy = page.get_by_test_id("dentist-card").filter(has_text="Dr Sarah Smith")
    expect(busy).to_have_attribute("data-bookable", "true")
    screenshot(page, "directory-no-hours")

    card.get_by_role("link", name="Dr Ida Idle").click()
    wait_live(page)
    expect(page.get_by_test_id("booking-closed")).to_contain_text("Not taking online bookings yet")
    expect(page.locator("form#booking-form")).to_have_count(0)
    clinic.db.call(add_weekly_hours, dentist_ids=[idle["id"]], start=time(9), end=time(17))
    expect(page.locator("form#booking-form")).to_be_visible()
    expect(page.get_by_test_id("slot").first).to_be_visible()


def test_a_guest_sees_why_their_booking_was_cancelled(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The look-up shows the clinic's reason, and the service's own reasons as sentences."""
    day = next_week(1)
    refs = []
    for at, reason in ((time(9), "Dr Smith is unwell today"), (time(10), "dentist removed")):
        row = clinic.db.call(
            make_appointment,
            dentist_id=clinic.dentist["id"],
            on=day,
            at=at,
            patient_email="cora@example.com",
            status="cancelled",
            cancellation_reason=reason,
        )
        refs.append(row["booking_reference"])
    page = open_page(phone=True)
    for reference, said in zip(
        refs,
        ("Dr Smith is unwell today", "The dentist no longer takes bookings at the clinic."),
        strict=True,
    ):
        page.goto("/bookings/find")
        page.get_by_label("Booking reference").fill(reference)
        page.get_by_label("E-mail").fill("cora@example.com")
        page.get_by_role("button", name="Find booking").click()
        expect(page.get_by_role("heading", name="Booking cancelled")).to_be_visible()
        expect(page.get_by_test_id("cancellation-reason")).to_have_text(said)
    screenshot(page, "guest-cancelled-reason-phone", full_page=False)


def test_field_errors_go_once_the_field_is_fixed(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """After a refused booking, each error disappears as its field becomes valid, and
    not before; the others stay."""
    page = open_page(phone=True)
    page.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(page)
    page.locator("[data-testid=slot]").first.click()
    page.get_by_label("E-mail").fill("not-an-email")
    page.get_by_label("Phone").fill("call me")
    page.get_by_role("button", name="Book appointment").click()
    form = page.locator("#booking-form")
    for name in ("patient_name", "patient_email", "patient_phone"):
        expect(form.locator(f"#err-{name}")).to_be_visible()

    email = page.get_by_label("E-mail")
    email.fill("still-not-an-email@")
    expect(form.locator("#err-patient_email")).to_be_visible()
    email.fill("fixed@example.com")
    expect(form.locator("#err-patient_email")).to_have_count(0)
    expect(email).not_to_have_attribute("aria-invalid", "true")
    phone = page.get_by_label("Phone")
    phone.fill("call you")
    expect(form.locator("#err-patient_phone")).to_be_visible()
    phone.fill("+1 212 555 0142")
    expect(form.locator("#err-patient_phone")).to_have_count(0)
    expect(phone).to_have_attribute("aria-describedby", "hint-patient_phone")
    expect(form.locator("#err-patient_name")).to_be_visible()  # not fixed yet
    page.get_by_label("Full name").fill("Fay Fixed")
    expect(form.locator("#err-patient_name")).to_have_count(0)
    page.get_by_role("button", name="Book appointment").click()
    expect(page.get_by_test_id("booking-reference")).to_be_visible()


def test_one_patient_cannot_be_in_two_chairs_at_once(
    clinic: Clinic, server: RunningServer, open_page: Callable[..., Page]
) -> None:
    """Online, the same account or the same guest e-mail is refused an overlapping time
    with another dentist (409 SlotUnavailable saying so, with later times); an adjacent
    time or a cancelled clash is fine; staff get the booking and a warning."""
    other = add_dentist(clinic.db, name="Dr Omar Other")
    day = next_week(1)
    settings = server.app.state.settings
    account = user_headers(settings, clinic.patient)
    mine = {"patient_email": clinic.patient["email"], "patient_name": "Alice Brown"}
    with httpx.Client(base_url=server.base_url) as http:
        first = http.post(
            "/api/appointments",
            json=booking(clinic.dentist_id, day, "10:00", **mine),
            headers=account,
        )
        assert first.status_code == 201, first.text
        ref = first.json()["booking_reference"]
        clash = http.post(
            "/api/appointments", json=booking(other["id"], day, "10:00", **mine), headers=account
        )
        assert clash.status_code == 409, clash.text
        body = clash.json()
        assert body["error"] == "SlotUnavailable"
        assert body["detail"].startswith("You already have an appointment then: Dr Sarah Smith")
        assert ref in body["detail"]
        assert body["alternatives"] and all(a["time"] >= "10:30" for a in body["alternatives"])
        after = http.post(
            "/api/appointments", json=booking(other["id"], day, "10:30", **mine), headers=account
        )
        assert after.status_code == 201, after.text

        guest = http.post(
            "/api/appointments",
            json=booking(clinic.dentist_id, day, "14:00", patient_email="Gus@Example.com"),
        )
        assert guest.status_code == 201, guest.text
        again = http.post("/api/appointments", json=booking(other["id"], day, "14:00"))
        assert again.status_code == 409
        detail = again.json()["detail"]
        assert detail.startswith("This e-mail address already has an appointment at that time")
        # An e-mail address alone proves nothing: no reference, no dentist in the answer.
        assert guest.json()["booking_reference"] not in detail and "Smith" not in detail
        someone_else = http.post(
            "/api/appointments",
            json=booking(other["id"], day, "14:00", patient_email="gina@example.com"),
        )
        assert someone_else.status_code == 201, someone_else.text
        clinic.db.execute(
            "UPDATE appointments SET status = 'cancelled' WHERE id = $1", guest.json()["id"]
        )
        third = add_dentist(clinic.db, name="Dr Tara Third")
        freed = http.post("/api/appointments", json=booking(third["id"], day, "14:00"))
        assert freed.status_code == 201, freed.text

        staff = http.post(
            "/api/appointments",
            json=booking(third["id"], day, "10:00", patient_email=clinic.patient["email"]),
            headers=user_headers(settings, clinic.admin),
        )
        assert staff.status_code == 201, staff.text
        warnings = staff.json()["warnings"]
        assert [w["warning"] for w in warnings] == ["PatientOverlap"]
        assert warnings[0]["booking_reference"] == ref
        assert "already has an appointment then: Dr Sarah Smith at 10:00" in warnings[0]["detail"]
        clear = http.post(
            "/api/appointments",
            json=booking(third["id"], day, "16:00", patient_email="nobody@example.com"),
            headers=user_headers(settings, clinic.admin),
        )
        assert clear.status_code == 201 and "warnings" not in clear.json()

    page = open_page()
    page.goto(f"/dentists/{other['id']}")
    token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
    booked = page.request.post(
        f"/dentists/{other['id']}/book",
        form={
            "appointment_date": day.isoformat(),
            "appointment_time": "15:00",
            "patient_name": "Gina Guest",
            "patient_email": "gina@example.com",
            "patient_phone": "+1 212 555 0101",
        },
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert booked.status == 204, booked.text()  # 15:00 is free for Gina
    overlap = page.request.post(
        f"/dentists/{third['id']}/book",
        form={
            "appointment_date": day.isoformat(),
            "appointment_time": "15:00",
            "patient_name": "Gina Guest",
            "patient_email": "gina@example.com",
            "patient_phone": "+1 212 555 0101",
        },
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert overlap.status == 422
    assert "already has an appointment at that time" in overlap.text()
    assert 'id="err-appointment_time"' in overlap.text()


@pytest.mark.parametrize("who", ["guest", "account"])
def test_one_patients_simultaneous_bookings_with_several_dentists_let_one_through(
    clinic: Clinic, server: RunningServer, who: str
) -> None:
    """Six requests at once, one guest (or one logged-in patient), one time, six
    dentists: exactly one is booked (the overlap check holds a lock on the patient, so
    none misses another's insert)."""
    dentists = [add_dentist(clinic.db, name=f"Dr Para {n}") for n in range(6)]
    day = next_week(3)
    headers = user_headers(server.app.state.settings, clinic.patient) if who == "account" else {}
    mine = {"patient_email": clinic.patient["email"]} if who == "account" else {}

    def attempt(dentist: Any) -> int:
        with httpx.Client(base_url=server.base_url) as http:
            return http.post(
                "/api/appointments",
                json=booking(dentist["id"], day, "11:00", **mine),
                headers=headers,
            ).status_code

    with ThreadPoolExecutor(len(dentists)) as pool:
        codes = sorted(pool.map(attempt, dentists))
    assert codes == [201] + [409] * (len(dentists) - 1), codes
