"""A conversation in the booking assistant's widget books an appointment that appears live,
marked as a chatbot booking, in the open dentist portal."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.web.support import Clinic, log_in, screenshot, wait_live


def test_widget_booking_appears_live_in_the_dentist_portal(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    dentist = open_page()
    log_in(dentist, clinic.dentist_user["email"])
    expect(dentist).to_have_url(re.compile(r"/dentist$"))
    wait_live(dentist)

    patient = open_page()
    patient.goto("/")
    wait_live(patient)
    patient.get_by_role("button", name="Book with our assistant").click()
    log = patient.locator(".dcchat-log")
    expect(log).to_contain_text("What's the problem")
    patient.get_by_role("button", name="Check-up").click()
    expect(log).to_contain_text("preferred dentist")
    patient.get_by_role("button", name="Anyone, as soon as possible").click()
    expect(log).to_contain_text("Which one would you like?")
    patient.locator(".dcchat-replies").last.locator("button").first.click()
    expect(log).to_contain_text("To book it I need")
    box = patient.get_by_label("Your message")
    box.fill("Wendy Widget, wendy.widget@example.com, 07700 900123")
    box.press("Enter")
    expect(log).to_contain_text("Shall I book it?")
    patient.get_by_role("button", name="Yes, book it").click()
    expect(log).to_contain_text("Your booking reference is")
    screenshot(patient, "patient-chat-widget-booked")

    row = dentist.locator("[data-testid=appointment-row]", has_text="Wendy Widget").first
    expect(row.get_by_test_id("source-badge")).to_have_text("Chatbot")
    expect(row).to_have_attribute("data-status", "pending")
    expect(dentist.get_by_test_id("toast").filter(has_text="via the chatbot")).to_be_visible()
