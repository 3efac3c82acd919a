"""A realistic day at the clinic, every portal open at once: the screenshots for the README.

It also checks that the portals agree with each other while things happen live.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment, make_dentist, make_window
from tests.web.support import Clinic, Database, log_in, screenshot, wait_live

TEAM = [
    ("Dr Raj Patel", "Orthodontics", 9, "Braces and clear aligners for all ages."),
    ("Dr Emily Chen", "Pediatric Dentistry", 7, "Gentle care for children and anxious patients."),
    ("Dr Marcus Johnson", "Oral Surgery", 15, "Extractions, wisdom teeth and implants."),
    ("Dr Sofia Garcia", "Endodontics", 10, "Root canal treatment and relief from dental pain."),
]
MORNING, AFTERNOON = (time(9), time(12, 30)), (time(13, 30), time(17, 30))


def _working_week(db: Database, dentist_id: Any) -> None:
    db.execute("DELETE FROM dentist_availability WHERE dentist_id = $1", dentist_id)
    for day in range(6):
        for start, end in (MORNING, AFTERNOON) if day < 5 else (MORNING,):
            db.call(make_window, dentist_id=dentist_id, day_of_week=day, start=start, end=end)


def _book(clinic: Clinic, on: date, at: time, name: str, **fields: Any) -> Any:
    return clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=on,
        at=at,
        patient_name=name,
        patient_email=fields.pop("email", name.split()[0].lower() + "@example.com"),
        **fields,
    )


def _seed(clinic: Clinic) -> None:
    db = clinic.db
    db.execute(
        """UPDATE dentists SET specialization = 'General Dentistry', years_of_experience = 12,
           bio = 'Family dentistry, check-ups, fillings and hygiene. Unhurried and friendly.'
           WHERE id = $1""",
        clinic.dentist["id"],
    )
    _working_week(db, clinic.dentist["id"])
    for name, specialty, years, bio in TEAM:
        row = db.call(make_dentist, name=name, specialization=specialty)
        db.execute(
            "UPDATE dentists SET years_of_experience = $2, bio = $3 WHERE id = $1",
            row["id"],
            years,
            bio,
        )
        _working_week(db, row["id"])
    today = datetime.now(UTC).date()
    _book(clinic, today, time(9), "Maria Lopez", status="completed", chief_complaint="Check-up")
    _book(
        clinic,
        today,
        time(10, 30),
        "James O'Connor",
        status="confirmed",
        chief_complaint="Crown fitting",
        payment_method="insurance",
    )
    _book(
        clinic,
        today,
        time(14),
        "Priya Nair",
        booking_source="chatbot",
        urgency="urgent",
        chief_complaint="Sharp pain when biting, lower left",
    )
    _book(
        clinic,
        today,
        time(15, 30),
        "Tom Becker",
        status="confirmed",
        booking_source="admin",
        chief_complaint="Hygiene appointment",
    )
    plan = [
        (1, time(9, 30), "Hannah Schmidt", "confirmed", "manual", "Filling replacement"),
        (1, time(11), "Alice Brown", "pending", "manual", "Check-up and cleaning"),
        (2, time(13, 30), "Lucas Martin", "pending", "chatbot", "Bleeding gums"),
        (3, time(10), "Sofia Rossi", "confirmed", "manual", "Whitening consultation"),
        (4, time(16), "Noah Williams", "cancelled", "manual", "Check-up"),
        (5, time(9), "Emma Dubois", "pending", "admin", "Child's first visit"),
    ]
    for days, at, name, status, source, complaint in plan:
        extra: dict[str, Any] = {}
        if name == "Alice Brown":
            extra = {"patient_id": clinic.patient["id"], "email": clinic.patient["email"]}
        _book(
            clinic,
            today + timedelta(days=days),
            at,
            name,
            status=status,
            booking_source=source,
            chief_complaint=complaint,
            **extra,
        )


def test_a_day_at_the_clinic(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    """Every portal open side by side while bookings come in; screenshots of each."""
    _seed(clinic)
    visitor = open_page()
    visitor.goto("/")
    wait_live(visitor)
    expect(visitor.get_by_test_id("dentist-card")).to_have_count(5)
    screenshot(visitor, "showcase-directory")

    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    wait_live(dentist)
    expect(dentist.get_by_test_id("today-list").get_by_test_id("appointment-row")).to_have_count(4)
    screenshot(dentist, "showcase-dentist-portal")

    patient = open_page()
    log_in(patient, clinic.patient["email"])
    wait_live(patient)
    patient.get_by_role("link", name="Book a visit").click()
    patient.get_by_role("link", name="Dr Sarah Smith", exact=True).click()
    wait_live(patient)
    slot = patient.get_by_test_id("slot").nth(3)
    slot.click()
    patient.get_by_label("Reason for your visit").fill("Check-up and a clean")
    screenshot(patient, "showcase-booking")
    patient.get_by_role("button", name="Book appointment").click()
    expect(patient.get_by_test_id("booking-reference")).to_be_visible()
    expect(dentist.get_by_test_id("toast").filter(has_text="Alice Brown")).to_be_visible()
    patient.goto("/my/appointments")
    wait_live(patient)
    screenshot(patient, "showcase-my-appointments")

    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/dentists")
    screenshot(admin, "showcase-admin-dentists")
    admin.goto("/admin/appointments")
    wait_live(admin)
    screenshot(admin, "showcase-admin-appointments")

    dentist.goto("/dentist/availability")
    screenshot(dentist, "showcase-dentist-availability")
    dentist.goto("/dentist")
    wait_live(dentist)

    phone = open_page(phone=True)
    phone.goto(f"/dentists/{clinic.dentist_id}")
    wait_live(phone)
    screenshot(phone, "showcase-phone-profile", full_page=False)
    phone.get_by_test_id("slot").nth(5).click()
    screenshot(phone, "showcase-phone-booking")

    admin.goto("/admin/sync")
    monitor = admin.locator("#sync-monitor")
    day = datetime.now(UTC).date() + timedelta(days=6)
    for n in range(10):
        _book(clinic, day, time(9 + n // 2, 30 * (n % 2)), f"Walk-in {n + 1}")
        expect(monitor).to_have_attribute("data-polled", re.compile(rf"^(?:{n + 2}|[1-9]\d+)$"))
    expect(admin.locator("[data-stat=connections]")).to_have_text("4")
    screenshot(admin, "showcase-admin-sync-monitor")
