"""The pages behind the links in messages, in Chromium: a manage link confirms (and the
dentist's board shows it live) or cancels; a forgotten password is reset from the e-mail."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
from playwright.sync_api import Page, expect

from dentalcare.links import service as links
from dentalcare.outbox.rendering import render
from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, log_in, wait_live

LINK = re.compile(r"https?://[^\s\"<>]+")


def context_of(message: Any) -> dict[str, Any]:
    """A message row's context (jsonb: decoded already, or text)."""
    value = message["context"]
    return value if isinstance(value, dict) else json.loads(value)


async def _manage_links(conn: asyncpg.Connection, *, appointment: Any) -> dict[str, str]:
    return links.manage_links(appointment)  # signed: nothing is written


def book_tomorrow(clinic: Clinic, at: int = 10) -> Any:
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    return clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=day,
        at=time(at),
        patient_name="Gus Guest",
        patient_email="gus@example.com",
    )


def path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_a_confirm_link_confirms_and_the_board_shows_it_live(
    clinic: Clinic, open_page: Any
) -> None:
    appointment = book_tomorrow(clinic)
    urls = clinic.db.call(_manage_links, appointment=appointment)
    dentist: Page = open_page()
    log_in(dentist, clinic.dentist_user["email"], then="/dentist")
    wait_live(dentist)
    row = dentist.locator(f"[data-testid='appointment-row'][data-id='{appointment['id']}']").first
    expect(row).to_be_visible()
    expect(row.get_by_test_id("attendance-confirmed")).to_have_count(0)

    patient: Page = open_page(phone=True)
    patient.goto(path(urls["confirm"]))
    expect(patient.get_by_role("heading", name="Confirm I will come")).to_be_visible()
    patient.get_by_role("button", name="Confirm I will come").click()
    expect(patient.get_by_role("heading", name="Thank you — see you then")).to_be_visible()
    expect(row.get_by_test_id("attendance-confirmed")).to_be_visible(timeout=15_000)

    patient.goto(path(urls["confirm"]))
    expect(patient.get_by_role("heading", name="This link no longer works")).to_be_visible()


def test_a_cancel_link_cancels(clinic: Clinic, open_page: Any) -> None:
    appointment = book_tomorrow(clinic, at=11)
    clinic.db.execute("UPDATE clinic_settings SET cancellation_notice_hours = 1")
    urls = clinic.db.call(_manage_links, appointment=appointment)
    page: Page = open_page(phone=True)
    page.goto(path(urls["cancel"]))
    page.get_by_role("button", name="Cancel this appointment").click()
    expect(page.get_by_role("heading", name="Your appointment is cancelled")).to_be_visible()
    row = clinic.db.fetchrow("SELECT status FROM appointments WHERE id = $1", appointment["id"])
    assert row is not None and row["status"] == "cancelled"


def test_a_forgotten_password_is_reset_from_the_email(clinic: Clinic, open_page: Any) -> None:
    email = clinic.patient["email"]
    page: Page = open_page()
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    message = clinic.db.fetchrow(
        "SELECT kind, context FROM messages WHERE kind = 'password_reset' AND to_address = $1",
        email,
    )
    assert message is not None
    [url] = LINK.findall(render("password_reset", context_of(message)).text)
    page.goto(path(url))
    page.get_by_label("New password").fill("brand-new-secret")
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(re.compile(r"/login"))
    log_in(page, email, "brand-new-secret")
