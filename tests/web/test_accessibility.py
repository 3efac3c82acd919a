"""Every portal page passes axe-core's WCAG 2.1 A and AA rules, for every role, on a
desktop and on a phone (issue 18 item 5). axe is vendored for the tests only. /docs is
Swagger UI's own markup (vendored unchanged) and is left out."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import time
from pathlib import Path

from playwright.sync_api import Page

from tests.fixtures.rows import make_appointment
from tests.web.support import Clinic, log_in, next_monday

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


# Finite CSS transitions only: a looping animation (a spinner) never finishes.
SETTLED = """async () => {
  const finite = document.getAnimations().filter((a) => a instanceof CSSTransition);
  await Promise.all(finite.map((a) => a.finished.catch(() => null)));
}"""


def _violations(page: Page) -> list[str]:
    """axe's WCAG A/AA violations on the page as it stands (evaluated past the CSP), once
    its CSS transitions have settled: a button caught half-way through turning teal is
    measured in colours nobody reads it in."""
    # Colours are measured as they rest: no transition runs (the site honours reduced
    # motion), and any one already running has finished.
    page.emulate_media(reduced_motion="reduce")
    page.evaluate(SETTLED)
    page.evaluate(AXE)
    found = page.evaluate(f"async () => (await axe.run(document, {json.dumps(RULES)})).violations")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:4]}"
        for v in found
    ]


def _check(page: Page, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    return [f"{path}: {v}" for v in _violations(page)]


def test_every_page_meets_wcag_21_aa(clinic: Clinic, open_page: Callable[..., Page]) -> None:
    booked = clinic.db.call(
        make_appointment, dentist_id=clinic.dentist["id"], on=next_monday(), at=time(10)
    )
    problems: list[str] = []
    for phone in (False, True):
        visitor = open_page(phone=phone)
        for path in (
            "/",
            f"/dentists/{clinic.dentist_id}",
            "/bookings/find",
            "/login",
            "/register",
            "/no-such-page",
        ):
            problems += _check(visitor, path)
        patient = open_page(phone=phone)
        log_in(patient, clinic.patient["email"])
        problems += _check(patient, "/my/appointments")
        dentist = open_page(phone=phone)
        log_in(dentist, clinic.dentist_user["email"])
        for path in ("/dentist", "/dentist/availability"):
            problems += _check(dentist, path)
        admin = open_page(phone=phone)
        log_in(admin, clinic.admin["email"])
        for path in (
            "/admin",
            "/admin/dentists",
            "/admin/appointments",
            "/admin/sync",
            f"/admin/dentists/{clinic.dentist_id}/edit",
            "/admin/appointments/new?q=Alice",
            f"/appointments/{booked['id']}",
        ):
            problems += _check(admin, path)
    assert problems == [], "\n".join(problems)
