"""The account and link pages pass axe's WCAG 2.1 A/AA rules, on a desktop and a phone."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from tests.web.support import Clinic, log_in
from tests.web.test_accessibility import _check
from tests.web.test_account_links import _manage_links, book_tomorrow, path


def test_account_and_link_pages_meet_wcag_21_aa(
    clinic: Clinic, open_page: Callable[..., Page]
) -> None:
    appointment = book_tomorrow(clinic)
    urls = clinic.db.call(_manage_links, appointment=appointment)
    problems: list[str] = []
    for phone in (False, True):
        visitor = open_page(phone=phone)
        for url in (
            "/forgot-password",
            "/reset-password/0.x",
            "/verify-email/0.x",
            "/unsubscribe/0.x",
            "/manage/0.x",
            path(urls["confirm"]),
            path(urls["cancel"]),
            path(urls["reschedule"]),
        ):
            problems += _check(visitor, url)
        patient = open_page(phone=phone)
        log_in(patient, clinic.patient["email"])
        problems += _check(patient, "/account/password")
    assert problems == [], "\n".join(problems)
