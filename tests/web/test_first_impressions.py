"""What a clinic sees in its first hour (issue 18), checked in Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect

from tests.fixtures.rows import make_dentist
from tests.web.support import Clinic, log_in, screenshot, wait_live


def test_the_api_reference_works_offline_under_the_pages_csp(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """/docs renders Swagger UI from vendored files: no request leaves the server, no inline
    script, no CSP violation (the fixture fails the test on any)."""
    page = open_page()
    hosts: set[str] = set()

    def remember(request: Request) -> None:
        if not request.url.startswith("data:"):
            hosts.add(urlsplit(request.url).netloc)

    page.on("request", remember)
    response = page.goto("/docs")
    assert response is not None and response.ok
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("DentalCareConnect")
    operation = page.locator(".opblock-summary-path", has_text="/api/appointments").first
    expect(operation).to_be_visible()
    assert hosts == {urlsplit(page.url).netloc}, hosts
    screenshot(page, "api-docs")


def test_a_mistyped_address_shows_a_page_with_a_way_home(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """Anonymous: back to the directory or to one's booking; logged in: to one's own page."""
    page = open_page()
    response = page.goto("/dentists/not-a-real-page/nope")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    main = page.locator("#main")
    expect(main.get_by_role("link", name="Find my booking")).to_be_visible()
    main.get_by_role("link", name="Find a dentist").click()
    expect(page).to_have_url(re.compile(r"/$"))
    log_in(page, clinic.patient["email"])
    page.goto("/my/appointmentz")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator(".account-name")).to_contain_text("Alice Brown")  # still logged in
    screenshot(page, "not-found")
    page.locator("#main").get_by_role("link", name="Go to my page").click()
    expect(page).to_have_url(re.compile(r"/my/appointments$"))


COVERED = """(selector) => {
  const launcher = document.querySelector(".dcchat-open").getBoundingClientRect();
  const hit = (r) => !(r.right <= launcher.left || launcher.right <= r.left ||
                       r.bottom <= launcher.top || launcher.bottom <= r.top);
  return [...document.querySelectorAll(selector)]
    .filter((e) => e.checkVisibility({ contentVisibilityAuto: true, visibilityProperty: true }))
    .filter((e) => hit(e.getBoundingClientRect()))
    .map((e) => e.outerHTML.slice(0, 120));
}"""
EVERYTHING = "#main a, #main button, #main input, #main select, #main textarea, #main label"
# The slot picker's starts are submit buttons too (each one holds its time), but a grid
# of them is not the page's action: the launcher may sit over one until scrolled.
ACTIONS = "#main .btn, #main button[type=submit]:not(.slot)"


def _covered(page: Page) -> list[str]:
    """What the assistant's launcher covers: the page's action buttons as the page opens,
    and anything at all once it is scrolled to the end (there is room for it there)."""
    page.evaluate("window.scrollTo(0, 0)")
    covered: list[str] = page.evaluate(COVERED, ACTIONS)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    covered += page.evaluate(COVERED, EVERYTHING)
    return covered


def test_the_assistant_button_covers_nothing_on_a_phone_or_a_desktop(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The booking page, the confirmation and the look-up, at 390 px and 1280 px."""
    for phone in (True, False):
        page = open_page(phone=phone)
        page.goto(f"/dentists/{clinic.dentist_id}")
        expect(page.locator(".dcchat-open")).to_be_visible()
        assert _covered(page) == [], phone
        page.locator("[data-testid=slot]").first.click()
        page.get_by_label("Full name").fill("Phone Tester")
        page.get_by_label("E-mail").fill("phone.tester@example.com")
        page.get_by_label("Phone").fill("+1 555 0100")
        page.get_by_role("button", name="Book appointment").click()
        expect(page.get_by_role("heading", name="Booking received")).to_be_visible()
        assert _covered(page) == [], phone
        if phone:
            page.evaluate("window.scrollTo(0, 0)")
            screenshot(page, "phone-confirmation", full_page=False)
        page.goto("/bookings/find")
        assert _covered(page) == [], phone


CUT_OFF = """() => {
  const card = document.querySelector("#dentist-list").getBoundingClientRect();
  const cut = (b) => {
    const r = b.getBoundingClientRect();
    return r.left < card.left || r.right > card.right || b.scrollWidth > b.clientWidth;
  };
  return [...document.querySelectorAll("#dentist-list .cell-actions .btn")]
    .filter(cut).map((b) => `${b.textContent.trim()} @${Math.round(b.getBoundingClientRect().x)}`);
}"""


def test_the_admin_dentist_table_fits_its_card_and_says_what_its_columns_hold(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """At 1280 and 1920 px every action button lies inside the card, whole."""
    for name, specialization in (
        ("Dr Marcus Johnson-Whitfield", "Oral and Maxillofacial Surgery"),
        ("Dr Emily Chen", "Pediatric Dentistry"),
    ):
        clinic.db.call(make_dentist, name=name, specialization=specialization)
    for width in (1280, 1920):
        page = open_page()
        page.set_viewport_size({"width": width, "height": 900})
        log_in(page, clinic.admin["email"], then="/admin/dentists")
        wait_live(page)
        expect(page.locator("#dentist-list [data-testid=dentist-row]").first).to_be_visible()
        # One look at the layout (the live list may be re-rendered between two calls).
        outside = page.evaluate(CUT_OFF)
        assert outside == [], (width, outside)
        headers = [h.upper() for h in page.locator("#dentist-list thead th").all_inner_texts()]
        assert "APPOINTMENTS" not in headers and "SCHEDULE" in headers
        if width == 1280:
            screenshot(page, "admin-dentists-1280")


def test_a_name_too_long_says_the_limit_and_the_field_stops_at_it(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    """The field holds at most 200 characters; a longer one sent anyway is told the limit,
    not "enter the full name"."""
    page = open_page()
    page.goto(f"/dentists/{clinic.dentist_id}")
    field = page.get_by_label("Full name")
    assert field.get_attribute("maxlength") == "200"
    field.fill("A" * 425)
    assert len(field.input_value()) == 200  # the browser stops at the limit
    token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
    refused = page.request.post(
        f"/dentists/{clinic.dentist_id}/book",
        form={
            "appointment_date": "2031-03-10",
            "appointment_time": "09:00",
            "patient_name": "A" * 425,
            "patient_email": "long@example.com",
            "patient_phone": "+1 555 0111",
        },
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert refused.status == 422
    assert "Use at most 200 characters." in refused.text()
    assert "Enter the full name" not in refused.text()
