"""Script in names, notes, complaints and reasons renders as text on every portal page.

The pages are fetched over HTTP as the people who see them; each hostile string must
appear escaped where the page shows it and never raw, and no element, event handler or
javascript: URL may come out of it. (tests/web/test_xss.py checks the same in a browser,
live updates included.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from markupsafe import escape

from dentalcare.web import signing
from dentalcare.web.pages.bookings import BOOKINGS_COOKIE
from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer
from tests.security.conftest import ATTRIBUTE_BREAK, JS_URL, SCRIPT, XSS_PAYLOADS

ACTIVE_JS = (
    re.compile(r"<script>alert", re.I),
    re.compile(r"<img\b[^>]*\bonerror", re.I),
    re.compile(r"""\b(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.I),
)


def assert_shown_as_text(html: str, shown: tuple[str, ...], where: str) -> None:
    """Every string in `shown` is on the page, escaped; no payload is there raw."""
    for pattern in ACTIVE_JS:
        assert not pattern.search(html), (where, pattern.pattern)
    for payload in (SCRIPT, ATTRIBUTE_BREAK):
        assert payload not in html, (where, payload)
    for payload in shown:
        assert str(escape(payload)) in html, (where, payload)


@dataclass
class HostileClinic:
    """A dentist, a patient and bookings whose every free text is hostile."""

    dentist_id: str
    appointment_id: str
    references: dict[str, str]
    cookies: dict[str, dict[str, str]]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
async def hostile(clinic: Clinic, live_server: RunningServer) -> HostileClinic:
    """Set up through the API, as the people who would type it."""
    http, admin = clinic.http, clinic.auth("admin")
    created = _ok(
        await http.post(
            "/api/dentists",
            json={
                "name": f"Dr {SCRIPT}",
                "email": "dr.hostile@example.com",
                "specialization": ATTRIBUTE_BREAK,
                "bio": f"{JS_URL} {SCRIPT}",
                "timezone": "UTC",
            },
            headers=admin,
        ),
        201,
    )
    dentist_id = created["dentist"]["id"]
    weekly = [{"day_of_week": d, "start_time": "08:00", "end_time": "18:00"} for d in range(7)]
    _ok(await http.put(f"/api/availability/{dentist_id}", json={"weekly": weekly}, headers=admin))
    _ok(
        await http.post(
            f"/api/availability/{dentist_id}/exceptions",
            json={
                "date": (clinic.day + timedelta(days=1)).isoformat(),
                "reason": f"{SCRIPT} {ATTRIBUTE_BREAK}",
            },
            headers=admin,
        ),
        201,
    )
    dentist_login = _ok(
        await http.post(
            "/api/auth/login",
            json={"email": "dr.hostile@example.com", "password": created["initial_password"]},
        )
    )
    patient = _ok(
        await http.post(
            "/api/auth/register",
            json={
                "email": "hostile.patient@example.com",
                "password": "long-enough-password",
                "full_name": f"{ATTRIBUTE_BREAK} {SCRIPT}",
            },
        ),
        201,
    )
    as_patient = {"Authorization": f"Bearer {patient['access_token']}"}
    booking = {
        "dentist_id": dentist_id,
        "appointment_date": clinic.day.isoformat(),
        "patient_name": f"{SCRIPT}{ATTRIBUTE_BREAK}",
        "patient_email": "hostile.patient@example.com",
        "patient_phone": "+1 555 0100",
        "chief_complaint": f"{ATTRIBUTE_BREAK} {JS_URL}",
        "notes": SCRIPT,
    }
    kept = _ok(
        await http.post(
            "/api/appointments", json={**booking, "appointment_time": "11:00"}, headers=as_patient
        ),
        201,
    )
    dropped = _ok(
        await http.post(
            "/api/appointments", json={**booking, "appointment_time": "12:00"}, headers=as_patient
        ),
        201,
    )
    _ok(
        await http.put(
            f"/api/appointments/{dropped['id']}",
            json={"status": "cancelled", "cancellation_reason": f"{SCRIPT} {ATTRIBUTE_BREAK}"},
            headers=as_patient,
        )
    )
    guest = _ok(
        await http.post(
            "/api/appointments",
            json={**booking, "appointment_time": "13:00", "patient_email": "guest@example.com"},
        ),
        201,
    )
    settings = live_server.app.state.settings

    def remembering(appointment: dict[str, Any]) -> str:
        entry = {
            "ref": appointment["booking_reference"],
            "email": appointment["patient_email"],
            "id": appointment["id"],
        }
        return signing.sign(settings, "bookings", json.dumps([entry]).encode())

    admin_token = admin["Authorization"].removeprefix("Bearer ")
    return HostileClinic(
        dentist_id=dentist_id,
        appointment_id=kept["id"],
        references={"guest": guest["booking_reference"], "patient": kept["booking_reference"]},
        cookies={
            "guest": {BOOKINGS_COOKIE: remembering(guest)},
            "anonymous": {},
            "patient": {"dc_session": patient["access_token"], BOOKINGS_COOKIE: remembering(kept)},
            "dentist": {"dc_session": dentist_login["access_token"]},
            "admin": {"dc_session": admin_token},
        },
    )


async def _page(server: RunningServer, cookies: dict[str, str], path: str) -> str:
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies, timeout=10) as http:
        response = await http.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_every_page_shows_hostile_text_as_text(
    hostile: HostileClinic, clinic: Clinic, live_server: RunningServer
) -> None:
    """Directory, profile, booking confirmation, the patient's list and reschedule page,
    the dentist's board and schedule, the admin's dentists, edit/remove forms, schedule
    editor and appointment list."""
    d, week = hostile.dentist_id, clinic.day.isoformat()
    dentist_texts = (f"Dr {SCRIPT}", ATTRIBUTE_BREAK)
    booking_texts = (f"{SCRIPT}{ATTRIBUTE_BREAK}", f"{ATTRIBUTE_BREAK} {JS_URL}")
    pages: list[tuple[str, str, tuple[str, ...]]] = [
        ("anonymous", "/", (*dentist_texts, f"{JS_URL} {SCRIPT}")),
        ("anonymous", f"/dentists/{d}", (*dentist_texts, f"{JS_URL} {SCRIPT}")),
        ("anonymous", f"/dentists/{d}/week?start={week}", ()),
        ("guest", f"/bookings/{hostile.references['guest']}", (f"{SCRIPT}{ATTRIBUTE_BREAK}",)),
        (
            "patient",
            "/my/appointments",
            (f"{ATTRIBUTE_BREAK} {SCRIPT}", f"Dr {SCRIPT}", f"{SCRIPT} {ATTRIBUTE_BREAK}"),
        ),
        ("patient", f"/my/appointments/{hostile.appointment_id}/reschedule", (f"Dr {SCRIPT}",)),
        ("patient", f"/bookings/{hostile.references['patient']}", (f"{SCRIPT}{ATTRIBUTE_BREAK}",)),
        ("dentist", f"/dentist?week={week}", (f"Dr {SCRIPT}", *booking_texts)),
        ("dentist", "/dentist/availability", (f"Dr {SCRIPT}", f"{SCRIPT} {ATTRIBUTE_BREAK}")),
        ("admin", "/admin/dentists", dentist_texts),
        ("admin", f"/admin/dentists/{d}/edit", (*dentist_texts, f"{JS_URL} {SCRIPT}")),
        ("admin", f"/admin/dentists/{d}/remove", (f"Dr {SCRIPT}",)),
        ("admin", f"/admin/dentists/{d}/availability", (f"{SCRIPT} {ATTRIBUTE_BREAK}",)),
        ("admin", "/admin/appointments", (f"Dr {SCRIPT}", *booking_texts)),
    ]
    for who, path, shown in pages:
        html = await _page(live_server, hostile.cookies[who], path)
        assert_shown_as_text(html, shown, f"{who} {path}")


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
async def test_reflected_parameters_are_escaped(
    payload: str, clinic: Clinic, live_server: RunningServer
) -> None:
    """Query parameters a page echoes back (search box, filters, next=, reference)."""
    admin = {"dc_session": clinic.auth("admin")["Authorization"].removeprefix("Bearer ")}
    for cookies, path, params in [
        ({}, "/", {"q": payload, "specialty": payload}),
        ({}, "/login", {"next": payload}),
        ({}, "/register", {"next": payload}),
        ({}, "/bookings/find", {"reference": payload}),
        (admin, "/admin/appointments", {"dentist": payload, "date_from": payload}),
    ]:
        async with httpx.AsyncClient(
            base_url=live_server.base_url, cookies=cookies, timeout=10
        ) as http:
            response = await http.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code)
        assert_shown_as_text(response.text, (), f"{path}?{params}")
