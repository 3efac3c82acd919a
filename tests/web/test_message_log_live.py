"""The appointment detail page's message log, live, in Chromium (issue 13 item 7).

The module's server sends no mail, so a guest's booking e-mail waits as `scheduled` while
the dentist opens the appointment; then a second server with an outbox worker (capturing
each e-mail into its row) starts and delivers it: the row turns `sent` with no reload.
The dentist confirms on the board in another tab: the `booking_confirmed` row appears,
and goes out too. The page passes axe, and is looked at 390 px wide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import asyncpg
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.fixtures.clinic import login_of
from tests.fixtures.servers import RunningServer, serve
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
from tests.web.test_mail_pages import (
    GUEST_EMAIL,
    GUEST_NAME,
    book_as_guest,
    no_horizontal_overflow,
)

DELIVERY_MS = 20_000  # a second server starting, and its worker's first round


@pytest.fixture(scope="module")
def server(web_db: Database, database_url: str) -> Iterator[RunningServer]:
    """This module's server: no outbox worker, so messages wait until a test sends them."""
    with serve(database_url, outbox_workers=0) as running:
        yield running


def _row(page: Page, kind: str) -> Locator:
    return page.get_by_test_id("appointment-messages").locator(
        f"[data-testid=message-log-row][data-kind={kind}]"
    )


def _appointment_id(clinic: Clinic, reference: str) -> str:
    async def fetch(conn: asyncpg.Connection) -> str:
        value = await conn.fetchval(
            "SELECT id FROM appointments WHERE booking_reference = $1", reference
        )
        return str(value)

    return clinic.db.call(fetch)


def test_the_dentists_detail_page_follows_its_messages_live(
    clinic: Clinic, open_page: Callable[..., Page], database_url: str
) -> None:
    dentist = add_dentist(clinic.db, name="Dr Mina Live", timezone="America/New_York")
    other = add_dentist(clinic.db, name="Dr Otto Other")
    day: date = next_week(2)
    reference = book_as_guest(open_page(), dentist, day)
    appointment = _appointment_id(clinic, reference)
    login = clinic.db.call(login_of, dentist=dentist)["email"]

    detail = open_page()
    log_in(detail, login, then=f"/appointments/{appointment}")
    wait_live(detail)
    received = _row(detail, "booking_received")
    expect(received).to_have_attribute("data-status", "scheduled")
    expect(received.locator("td[data-label=To]")).to_have_text(GUEST_EMAIL)
    expect(_row(detail, "reminder")).to_have_count(2)
    detail.evaluate("window.__notReloaded = true")

    # The log's own endpoint keeps the page's rule: another dentist gets the 404 page.
    stranger = open_page()
    log_in(stranger, clinic.db.call(login_of, dentist=other)["email"])
    answer = stranger.goto(f"/appointments/{appointment}/messages")
    assert answer is not None and answer.status == 404

    with serve(database_url, outbox_workers=1, outbox_poll_seconds=0.05):
        expect(received).to_have_attribute("data-status", "sent", timeout=DELIVERY_MS)
        expect(received.locator(".badge")).to_have_text("sent")

        # The dentist confirms on the board in another tab: the confirmation e-mail is
        # written in the same transaction, and the open page shows it, then sent.
        board = open_page()
        log_in(board, login)
        wait_live(board)
        row = board.locator("[data-testid=appointment-row]", has_text=GUEST_NAME).first
        row.get_by_role("button", name="Confirm").click()
        expect(row).to_have_attribute("data-status", "confirmed")
        confirmed = _row(detail, "booking_confirmed")
        expect(confirmed).to_have_count(1, timeout=DELIVERY_MS)
        expect(confirmed).to_have_attribute("data-status", "sent", timeout=DELIVERY_MS)

    expect(_row(detail, "reminder")).to_have_count(2)
    for n in range(2):
        expect(_row(detail, "reminder").nth(n)).to_have_attribute("data-status", "scheduled")
    assert detail.evaluate("window.__notReloaded") is True
    assert wcag_violations(detail) == []

    phone = open_page(phone=True)
    log_in(phone, login, then=f"/appointments/{appointment}")
    wait_live(phone)
    expect(_row(phone, "booking_confirmed")).to_have_attribute("data-status", "sent")
    no_horizontal_overflow(phone)
    phone.get_by_test_id("appointment-messages").scroll_into_view_if_needed()
    screenshot(phone, "appointment-messages-live-phone")
    assert wcag_violations(phone) == []


def test_staff_see_a_cancellation_cancel_the_reminders_live(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    dentist = add_dentist(clinic.db, name="Dr Cara Cancel", timezone="America/New_York")
    reference = book_as_guest(open_page(), dentist, next_week(3))
    appointment = _appointment_id(clinic, reference)

    desk = open_page()
    log_in(desk, clinic.admin["email"], then=f"/appointments/{appointment}")
    wait_live(desk)
    reminders = _row(desk, "reminder")
    expect(reminders).to_have_count(2)

    # Cancelled from another tab: the reminders turn cancelled and the cancellation
    # e-mail appears on the open page, without a reload.
    other = open_page()
    log_in(other, clinic.admin["email"], then=f"/appointments/{appointment}")
    other.get_by_test_id("cancel-appointment").locator("summary").click()
    other.locator("[data-action=cancel]").click()
    expect(_row(desk, "booking_cancelled")).to_have_count(1)
    for n in range(2):
        expect(reminders.nth(n)).to_have_attribute("data-status", "cancelled")
