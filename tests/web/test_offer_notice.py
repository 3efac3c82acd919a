"""Issue 14 item 2: a logged-in patient's open pages show a waitlist offer live — Book it
books the held time there and then, No thanks passes it on — on a phone and a desktop,
keyboard-usable and within WCAG 2.1 AA (axe)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.fixtures.rows import make_appointment
from tests.fixtures.servers import RunningServer
from tests.fixtures.tokens import user_headers
from tests.web.support import Clinic, log_in, next_week, screenshot, wait_live
from tests.web.test_accessibility import _violations

STANDARD = "00000000-0000-4000-8000-000000000001"


def _join_and_free(clinic: Clinic, server: RunningServer, day: date) -> dict[str, Any]:
    """The patient waits for a morning with the dentist; a guest's 10:00 that day is
    cancelled by the clinic through the API. The patient's entry."""
    settings = server.app.state.settings
    guest = clinic.db.call(
        make_appointment,
        dentist_id=clinic.dentist["id"],
        on=day,
        at=time(10),
        patient_email="gus.guest@example.com",
        patient_name="Gus Guest",
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        joined = http.post(
            "/api/waitlist",
            json={
                "treatment_type_id": STANDARD,
                "dentist_id": clinic.dentist_id,
                "earliest_date": day.isoformat(),
                "latest_date": day.isoformat(),
                "times": ["morning"],
            },
            headers=user_headers(settings, clinic.patient),
        )
        assert joined.status_code == 201, joined.text
        cancelled = http.delete(
            f"/api/appointments/{guest['id']}", headers=user_headers(settings, clinic.admin)
        )
        assert cancelled.status_code == 200, cancelled.text
    entry: dict[str, Any] = joined.json()
    return entry


def test_the_offer_appears_live_and_book_it_books_it_on_a_phone(
    clinic: Clinic, server: RunningServer, open_page: Callable[..., Page]
) -> None:
    page = open_page(phone=True)
    log_in(page, clinic.patient["email"], then="/my/appointments")
    wait_live(page)
    day = next_week(1)
    _join_and_free(clinic, server, day)

    notice = page.get_by_test_id("offer-notice")
    expect(notice).to_contain_text("A time has freed up", timeout=15_000)
    expect(notice).to_contain_text("10:00")
    expect(notice).to_contain_text("with Dr Sarah Smith (Standard appointment)")
    expect(notice).to_contain_text("held for you until")
    region = page.get_by_test_id("offer-notices")
    expect(region).to_have_attribute("role", "status")
    expect(region).to_have_attribute("aria-live", "polite")
    # It fits a 390 px phone: nothing wider than the screen.
    box = notice.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    for name in ("Book it", "No thanks"):
        button = notice.get_by_role("button", name=name)
        expect(button).to_be_visible()
        button_box = button.bounding_box()
        assert button_box is not None and button_box["x"] + button_box["width"] <= 390
    assert _violations(page) == []
    screenshot(page, "offer-notice-phone")

    notice.get_by_role("button", name="Book it").click()
    expect(notice).to_contain_text("It is booked")
    expect(notice).to_contain_text("with Dr Sarah Smith")
    row = clinic.db.fetchrow(
        "SELECT status, patient_id FROM appointments WHERE appointment_date = $1 "
        "AND appointment_time = '10:00' AND status IN ('pending', 'confirmed')",
        day,
    )
    assert row is not None and row["patient_id"] == clinic.patient["id"]
    entry = clinic.db.fetchrow("SELECT status FROM waitlist_entries")
    assert entry is not None and entry["status"] == "booked"
    # The appointments list took it in through its own live channel, without a reload.
    expect(page.locator("[data-testid=appointment-row]")).to_have_count(1)
    assert _violations(page) == []
    assert page.errors == []  # type: ignore[attr-defined]


def test_no_thanks_from_the_keyboard_passes_the_time_on(
    clinic: Clinic, server: RunningServer, open_page: Callable[..., Page]
) -> None:
    page = open_page()
    log_in(page, clinic.patient["email"], then="/")
    wait_live(page)
    day = next_week(2)
    entry = _join_and_free(clinic, server, day)

    notice = page.get_by_test_id("offer-notice")
    expect(notice).to_contain_text("A time has freed up", timeout=15_000)
    no_thanks = notice.get_by_role("button", name="No thanks")
    no_thanks.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("offer-notice")).to_have_count(0)
    offer = clinic.db.fetchrow(
        "SELECT status FROM waitlist_offers WHERE entry_id = $1", entry["id"]
    )
    assert offer is not None and offer["status"] == "declined"
    waiting = clinic.db.fetchrow("SELECT status FROM waitlist_entries WHERE id = $1", entry["id"])
    assert waiting is not None and waiting["status"] == "waiting"
    booked = clinic.db.fetchrow(
        "SELECT count(*) AS n FROM appointments WHERE appointment_date = $1 "
        "AND status IN ('pending', 'confirmed')",
        day,
    )
    assert booked is not None and booked["n"] == 0
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_refresh_after_the_session_ended_leaves_the_page_where_it_is(
    clinic: Clinic, server: RunningServer, open_page: Callable[..., Page]
) -> None:
    """A live region refreshed in the background once the session is gone (a logout in
    flight in this tab: its revoked socket reconnects and refreshes the notice) must not
    take the page to the login form: the logout lands on its own page with its toast.
    A click on a button with the session gone still goes to the login page."""
    page = open_page()
    log_in(page, clinic.patient["email"], then="/my/appointments")
    wait_live(page)
    page.context.clear_cookies()  # the session ended under the page
    page.evaluate("() => DC.refresh('offer-notice')")
    page.evaluate("() => DC.refreshAll()")
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        background = http.get("/my/offers", headers={"HX-Request": "true", "X-Live-Refresh": "1"})
        asked = http.get("/my/offers", headers={"HX-Request": "true"})
    assert background.status_code == 204 and "hx-redirect" not in background.headers
    assert asked.status_code == 204
    assert asked.headers["hx-redirect"] == "/login?next=/my/offers"
    # Before the fix the page was on the login form by now (its notice gone).
    expect(page.locator("#offer-notice")).to_have_count(1)
    assert page.url == f"{server.base_url}/my/appointments"
    assert page.errors == []  # type: ignore[attr-defined]
