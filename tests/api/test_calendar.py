"""The .ics file: written by the icalendar library, at the clinic's address, and a name
cannot add properties of its own to it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import icalendar
import pytest

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer, serve

CLINIC_NAME = "Smile Street Dental"
CLINIC_ADDRESS = "12 High Street, Springfield, SP1 2AB"
# What a dentist's name would have to hold to smuggle an attendee, a second location and
# an alarm into every patient's calendar.
INJECTION = (
    "Dr Evil\r\nATTENDEE;CN=Attacker:mailto:attacker@example.com\r\n"
    "LOCATION:Back alley\nBEGIN:VALARM\rTRIGGER:-PT1M\x07\x1b"
)


@pytest.fixture
def clinic_server(database_url: str) -> Iterator[RunningServer]:
    """A server whose clinic has a name and an address."""
    with serve(database_url, clinic_name=CLINIC_NAME, clinic_address=CLINIC_ADDRESS) as running:
        yield running


def _event(text: str) -> icalendar.Event:
    calendar = icalendar.Calendar.from_ical(text)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event: icalendar.Event = events[0]
    return event


async def test_the_event_is_at_the_clinics_address(
    clinic: Clinic, clinic_server: RunningServer
) -> None:
    appointment = clinic.appointments["a"]
    response = await clinic.http.get(
        f"{clinic_server.base_url}/api/appointments/{appointment['id']}/ics",
        headers=clinic.auth("patient_a"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    event = _event(response.text)
    assert str(event["LOCATION"]) == f"{CLINIC_NAME}, {CLINIC_ADDRESS}"
    assert str(event["SUMMARY"]) == "Dental appointment with Dr Xavier Test"
    assert str(event["STATUS"]) == "TENTATIVE"
    assert appointment["booking_reference"] in str(event["DESCRIPTION"])
    assert event.decoded("DTSTART") == appointment["starts_at"]
    assert event.decoded("DTEND") == appointment["ends_at"]
    assert "LOCATION:Smile Street Dental\\, 12 High Street\\," in response.text, "escaped"


async def test_without_an_address_there_is_no_location(clinic: Clinic) -> None:
    """The default settings name no address: no LOCATION rather than a wrong one."""
    response = await clinic.http.get(
        f"/api/appointments/{clinic.appointments['a']['id']}/ics",
        headers=clinic.auth("patient_a"),
    )
    assert response.status_code == 200
    assert "LOCATION" not in _event(response.text)


async def test_a_hostile_dentist_name_stays_inside_the_summary(
    clinic: Clinic, clinic_server: RunningServer
) -> None:
    """The API refuses such a name now; one stored before that (written here straight into
    the database) still cannot start a property: every line break is escaped, every other
    control character replaced."""
    patch = await clinic.http.patch(
        f"/api/dentists/{clinic.dentists['x']['id']}",
        json={"name": INJECTION},
        headers=clinic.auth("admin"),
    )
    assert patch.status_code == 422
    await clinic.conn.execute(
        "UPDATE dentists SET name = $1 WHERE id = $2", INJECTION, clinic.dentists["x"]["id"]
    )
    response = await clinic.http.get(
        f"{clinic_server.base_url}/api/appointments/{clinic.appointments['a']['id']}/ics",
        headers=clinic.auth("patient_a"),
    )
    assert response.status_code == 200
    text = response.text
    lines = text.split("\r\n")
    assert not any(line.startswith(("ATTENDEE", "LOCATION:Back", "BEGIN:VALARM")) for line in lines)
    assert "\n" not in text.replace("\r\n", ""), "no bare line break anywhere"
    assert not any(c in text for c in "\x07\x1b"), "no other control character"
    assert [line for line in lines if line.startswith("BEGIN:")] == [
        "BEGIN:VCALENDAR",
        "BEGIN:VEVENT",
    ]
    event = _event(text)
    assert "ATTENDEE" not in event and not event.subcomponents
    assert str(event["LOCATION"]) == f"{CLINIC_NAME}, {CLINIC_ADDRESS}"
    summary = str(event["SUMMARY"])
    assert summary.startswith("Dental appointment with Dr Evil")
    assert "ATTENDEE;CN=Attacker:mailto:attacker@example.com" in summary, "kept as text"


async def test_the_guest_pages_calendar_file_has_the_location_too(
    clinic: Clinic, clinic_server: RunningServer
) -> None:
    """The page's download (a browser that found the booking) is the same event."""
    guest = clinic.appointments["guest"]
    async with httpx.AsyncClient(base_url=clinic_server.base_url, timeout=10) as browser:
        page = await browser.get("/bookings/find")
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        assert token
        found = await browser.post(
            "/bookings/find",
            data={
                "csrf_token": token.group(1),
                "reference": guest["booking_reference"],
                "email": guest["patient_email"],
            },
        )
        assert found.status_code == 303
        ics = await browser.get(f"/bookings/{guest['booking_reference']}/calendar.ics")
    assert ics.status_code == 200
    assert str(_event(ics.text)["LOCATION"]) == f"{CLINIC_NAME}, {CLINIC_ADDRESS}"
