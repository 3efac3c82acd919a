"""The chat widget in a real browser, on a real page (with its CSP), booking end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright, expect

from tests.fixtures.clinic import ChatClinic
from tests.fixtures.servers import RunningServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-sync",
]


def _chromium() -> str | None:
    return str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")


async def _last_replies(page: Page) -> list[str]:
    return await page.locator(".dcchat-replies").last.locator("button").all_inner_texts()


async def test_widget_books_an_appointment(
    chat_server: RunningServer, chat_clinic: ChatClinic, chat_http: httpx.AsyncClient
) -> None:
    path = _chromium()
    assert path is not None, "Chromium is missing: `make browser` installs Debian's package"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            await page.goto(chat_server.base_url + "/")
            await page.add_script_tag(url="/static/js/realtime.js")
            await page.add_script_tag(url="/static/js/chat-widget.js")
            await page.get_by_role("button", name="Book with our assistant").click()
            log = page.locator(".dcchat-log")
            await expect(log).to_contain_text("What's the problem")
            assert (
                await page.locator(".dcchat").evaluate("el => getComputedStyle(el).position")
                == "fixed"
            )  # the stylesheet loaded despite the page's CSP

            await page.get_by_role("button", name="Check-up").click()
            await expect(log).to_contain_text("preferred dentist")
            await page.get_by_role("button", name="Anyone, as soon as possible").click()
            await expect(log).to_contain_text("Which one would you like?")
            first_slot = (await _last_replies(page))[0]
            # someone else takes the second slot on the web form: struck out live
            state = await page.evaluate(
                "fetch('/api/chat/sessions/' + sessionStorage.getItem('dc-chat-session'))"
                ".then(r => r.json()).then(s => s.state)"
            )
            second = state["collected"]["offered"][1]
            taken = await chat_http.post(
                "/api/appointments",
                json={
                    "dentist_id": second["dentist_id"],
                    "appointment_date": second["date"],
                    "appointment_time": second["time"],
                    "patient_name": "Someone Else",
                    "patient_email": "someone@example.com",
                    "patient_phone": "+1 555 0100",
                },
            )
            assert taken.status_code == 201
            second_button = page.locator(".dcchat-replies").last.locator("button").nth(1)
            await expect(second_button).to_be_disabled(timeout=10_000)
            await expect(log).to_contain_text("has just been taken")
            await page.locator(".dcchat-replies").last.locator("button").first.click()
            await expect(log).to_contain_text("To book it I need")
            box = page.get_by_label("Your message")
            await box.fill("Jane Doe, jane@example.com, 07700 900123")
            await box.press("Enter")
            await expect(log).to_contain_text("Shall I book it?")
            await page.get_by_role("button", name="Yes, book it").click()
            await expect(log).to_contain_text("Your booking reference is")
            assert not problems, problems
        finally:
            await browser.close()
    row = await chat_clinic.conn.fetchrow(
        "SELECT * FROM appointments WHERE patient_email = 'jane@example.com'"
    )
    assert row["booking_source"] == "chatbot" and row["patient_email"] == "jane@example.com"
    assert row["dentist_id"] in {d["id"] for d in chat_clinic.dentists}
    assert f"{row['appointment_time']:%H:%M}" in first_slot
