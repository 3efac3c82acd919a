"""/admin/mail in Chromium: a guest books on the patient site and the dentist confirms; the
module's server delivers the messages with its own outbox worker (no SMTP server, so each
e-mail is captured into its row), and the admin reads the outbox, one message, and the
e-mail's HTML as a mail client would show it — on a desktop and on a phone. Nobody else
opens these pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.fixtures.clinic import login_of
from tests.fixtures.servers import RunningServer, serve
from tests.fixtures.waiting import wait_for
from tests.web.support import (
    Clinic,
    Database,
    add_dentist,
    log_in,
    next_week,
    screenshot,
    wait_live,
)
from tests.web.test_accessibility import _violations as wcag_violations

CLINIC_NAME = "Riverside Dental Care"
NEW_YORK = "America/New_York"
GUEST_NAME = "Marta Oliveira"
GUEST_EMAIL = "marta.oliveira@example.com"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(web_db: Database, database_url: str) -> Iterator[RunningServer]:
    """A server of this module's own that delivers mail: one outbox worker, polling often,
    capturing each e-mail into its row (no SMTP server is configured)."""
    with serve(database_url, outbox_workers=1, outbox_poll_seconds=0.05) as running:
        assert running.app.state.settings.smtp_url is None
        yield running


async def _delivered(conn: asyncpg.Connection, *, kind: str, to: str) -> asyncpg.Record:
    """The message once the worker has sent (here: captured) it."""

    async def sent() -> asyncpg.Record | None:
        row: asyncpg.Record | None = await conn.fetchrow(
            "SELECT id, status, captured FROM messages"
            " WHERE kind = $1 AND to_address = $2 AND status = 'sent'",
            kind,
            to,
        )
        return row

    row: asyncpg.Record = await wait_for(sent, 15, what=f"{kind} to {to} sent")
    return row


def local_when(day: date, at: time) -> str:
    """The dentist's wall clock as the e-mails write it, with the zone and its name."""
    zone = datetime.combine(day, at, ZoneInfo(NEW_YORK)).tzname()
    return f"{day:%A} {day.day} {day:%B %Y}, {at:%H:%M} ({NEW_YORK}, {zone})"


def no_horizontal_overflow(page: Page) -> None:
    """Nothing on the page is wider than the viewport."""
    widths = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] + 1, f"the page is {widths[0]} px wide in {widths[1]} px"


def book_as_guest(page: Page, dentist: Any, day: date) -> str:
    """Book 10:30 on `day` through the dentist's page; the booking reference."""
    page.goto(f"/dentists/{dentist['id']}")
    wait_live(page)
    page.get_by_role("link", name="Next 7 days").click()
    slot = page.locator(f'[data-testid=slot][data-date="{day.isoformat()}"][data-time="10:30"]')
    slot.click()
    expect(slot).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Full name").fill(GUEST_NAME)
    page.get_by_label("E-mail").fill(GUEST_EMAIL)
    page.get_by_label("Phone").fill("+1 212 555 0147")
    page.get_by_label("Reason for your visit").fill("A cracked filling")
    page.get_by_role("button", name="Book appointment").click()
    reference = page.get_by_test_id("booking-reference")
    expect(reference).to_have_text(re.compile(r"^DC-[2-9A-Z]{7}$"))
    return reference.inner_text()


def test_the_admin_reads_the_outbox_and_the_captured_email(
    clinic: Clinic, open_page: Callable[..., Page], browser: Browser, server: RunningServer
) -> None:
    """Booking received and confirmed are delivered (captured), the reminders wait; the
    list, one message and its HTML show what the patient gets, on a desktop and a phone."""
    clinic.db.execute(
        "UPDATE clinic_settings SET name = $1, address = $2, phone = $3",
        CLINIC_NAME,
        "12 Quay Street, Brooklyn, NY 11201",
        "+1 718 555 0100",
    )
    dentist = add_dentist(clinic.db, name="Dr Nora York", timezone=NEW_YORK)
    day = next_week(2)
    when = local_when(day, time(10, 30))

    reference = book_as_guest(open_page(), dentist, day)
    received = clinic.db.call(_delivered, kind="booking_received", to=GUEST_EMAIL)
    assert received["captured"] and reference in received["captured"]

    # The dentist confirms on the board: a second message, delivered the same way.
    board = open_page()
    log_in(board, clinic.db.call(login_of, dentist=dentist)["email"])
    wait_live(board)
    row = board.locator("[data-testid=appointment-row]", has_text=GUEST_NAME).first
    row.get_by_role("button", name="Confirm").click()
    expect(row).to_have_attribute("data-status", "confirmed")
    clinic.db.call(_delivered, kind="booking_confirmed", to=GUEST_EMAIL)

    admin = open_page()
    log_in(admin, clinic.admin["email"], then="/admin/mail")
    expect(admin.get_by_role("heading", name="Mail", exact=True)).to_be_visible()
    rows = admin.get_by_test_id("message-row")
    received_row = rows.and_(admin.locator("[data-kind=booking_received]"))
    expect(received_row).to_have_count(1)
    expect(received_row.locator("td[data-label=To]")).to_have_text(GUEST_EMAIL)
    expect(received_row.locator("td[data-label=Kind]")).to_have_text("booking received")
    expect(received_row.locator("td[data-label=Status]")).to_have_text("sent")
    expect(received_row.locator("td[data-label=Booking]")).to_have_text(reference)
    expect(
        received_row.get_by_role("link", name=re.compile("^Booking request received"))
    ).to_have_text(f"Booking request received: {when} — {CLINIC_NAME}")
    confirmed = rows.and_(admin.locator("[data-kind=booking_confirmed]"))
    expect(confirmed.locator("td[data-label=Status]")).to_have_text("sent")
    reminders = rows.and_(admin.locator("[data-kind=reminder]"))
    expect(reminders).to_have_count(2)  # 24 and 2 hours before (the clinic's reminder_hours)
    for n in range(2):
        expect(reminders.nth(n).locator("td[data-label=Status]")).to_have_text("scheduled")
        expect(reminders.nth(n).locator("td[data-label=To]")).to_have_text(GUEST_EMAIL)
    screenshot(admin, "admin-mail")
    assert wcag_violations(admin) == []

    received_row.get_by_role("link", name=re.compile("^Booking request received")).click()
    expect(admin).to_have_url(re.compile(rf"/admin/mail/{received['id']}$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text(
        f"Booking request received: {when} — {CLINIC_NAME}"
    )
    facts = admin.get_by_test_id("message-facts")
    expect(facts).to_contain_text("booking received")
    expect(facts).to_contain_text(GUEST_EMAIL)
    expect(facts.locator(".badge")).to_have_text("sent")
    expect(facts.get_by_role("link", name=reference)).to_have_attribute(
        "href", re.compile(r"^/appointments/[0-9a-f-]{36}$")
    )
    headers = admin.get_by_test_id("mail-headers")
    expect(headers).to_contain_text(f"To{GUEST_EMAIL}")
    expect(headers).to_contain_text("Message-ID")
    expect(admin.get_by_text(re.compile(r"Attached: .+\.ics \(text/calendar\)"))).to_be_visible()
    text = admin.get_by_test_id("mail-text")
    expect(text).to_contain_text(f"Dear {GUEST_NAME}")
    expect(text).to_contain_text(when)
    expect(text).to_contain_text(reference)
    screenshot(admin, "admin-mail-message")
    assert wcag_violations(admin) == []

    html_url = f"/admin/mail/{received['id']}/html"
    expect(admin.get_by_role("link", name="Open the HTML version")).to_have_attribute(
        "href", html_url
    )
    admin.set_viewport_size({"width": 800, "height": 560})
    admin.get_by_role("link", name="Open the HTML version").click()
    expect(admin).to_have_url(re.compile(rf"{re.escape(html_url)}$"))
    email_shows_the_booking(admin, server, reference=reference, when=when)
    screenshot(admin, "email-booking-html")

    # The same e-mail in a phone's browser (a mobile viewport honours <meta name=viewport>).
    phone_context = browser.new_context(
        base_url=server.base_url,
        viewport=PHONE,  # type: ignore[arg-type]
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        storage_state=admin.context.storage_state(),
    )
    try:
        phone = phone_context.new_page()
        phone.goto(html_url)
        email_shows_the_booking(phone, server, reference=reference, when=when)
        assert phone.evaluate("window.innerWidth") == PHONE["width"]
        no_horizontal_overflow(phone)
        screenshot(phone, "email-booking-phone")
        # The patient's confirm link opens this service's confirm page.
        confirm = phone.get_by_role("link", name="Confirm you will come").get_attribute("href")
        assert confirm is not None
        phone.goto(confirm.removeprefix(server.app.state.settings.public_url.rstrip("/")))
        expect(phone.get_by_role("heading", name="Confirm I will come")).to_be_visible()
    finally:
        phone_context.close()

    # The admin pages on a phone: nothing sideways.
    mobile = open_page(phone=True)
    log_in(mobile, clinic.admin["email"], then="/admin/mail")
    expect(mobile.locator("[data-testid=message-row][data-kind=booking_received]")).to_contain_text(
        reference
    )
    no_horizontal_overflow(mobile)
    screenshot(mobile, "admin-mail-phone")
    assert wcag_violations(mobile) == []
    mobile.goto(f"/admin/mail/{received['id']}")
    expect(mobile.get_by_test_id("mail-text")).to_contain_text(reference)
    no_horizontal_overflow(mobile)
    screenshot(mobile, "admin-mail-message-phone")
    assert wcag_violations(mobile) == []

    # The booking reference leads to the appointment, whose message log lists the same.
    mobile.get_by_test_id("message-facts").get_by_role("link", name=reference).click()
    expect(mobile).to_have_url(re.compile(r"/appointments/[0-9a-f-]{36}$"))
    log = mobile.get_by_test_id("appointment-messages")
    expect(log).to_contain_text("Booking received")
    expect(log).to_contain_text("Booking confirmed")
    expect(log.locator("td[data-label=Status]", has_text="scheduled")).to_have_count(2)
    no_horizontal_overflow(mobile)


def email_shows_the_booking(
    page: Page, server: RunningServer, *, reference: str, when: str
) -> None:
    """The e-mail names the clinic, the patient, the dentist's local time and zone, the
    reference, and links to confirm, move and cancel the visit."""
    expect(page.get_by_role("heading", name=CLINIC_NAME)).to_be_visible()
    expect(page.get_by_text(f"Dear {GUEST_NAME},")).to_be_visible()

    def detail(name: str) -> Locator:
        # A layout table (role=presentation, as mail clients need): rows by their heading.
        return page.locator("tr", has=page.locator("th", has_text=name)).locator("td")

    expect(detail("When")).to_have_text(when)
    expect(detail("Dentist")).to_have_text("Dr Nora York")
    expect(detail("Reference")).to_have_text(reference)
    public = re.escape(server.app.state.settings.public_url.rstrip("/"))
    for name in ("Confirm you will come", "Move it to another time", "Cancel it"):
        link = page.get_by_role("link", name=name)
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", re.compile(rf"^{public}/\S+$"))


@pytest.mark.parametrize("who", ["dentist", "patient"])
def test_nobody_but_an_admin_opens_the_mail_pages(
    clinic: Clinic, open_page: Callable[..., Page], who: str
) -> None:
    """A dentist or a patient gets the 403 page for the list, a message and its HTML."""
    message = clinic.db.fetchrow(
        """INSERT INTO messages (kind, channel, to_address, subject, status, message_id, captured)
           VALUES ('booking_received', 'email', 'x@example.com', 'Private', 'sent', '<x@test>',
                   'Subject: Private')
           RETURNING id"""
    )
    assert message is not None
    email = clinic.dentist_user["email"] if who == "dentist" else clinic.patient["email"]
    page = open_page()
    log_in(page, email)
    for path in (
        "/admin/mail",
        f"/admin/mail/{message['id']}",
        f"/admin/mail/{message['id']}/html",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", name="Not available for this account")).to_be_visible()
        expect(page.get_by_text("Private")).to_have_count(0)
