"""Values that used to reach date arithmetic or the database and come back as a 500:
dates far outside any booking, values asyncpg cannot encode, control characters in
names. Each is a clean 4xx now (422 in a body, 400 in a query) and writes nothing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fixtures.clinic import Clinic

TODAY = datetime.now(UTC).date()
FAR_DATES = {
    "year 1": "0001-01-01",
    "year 9999": "9999-12-31",
    "three years ahead": (TODAY + timedelta(days=3 * 366)).isoformat(),
    "two years back": (TODAY - timedelta(days=2 * 366)).isoformat(),
}
# What a name may not hold: line breaks (header and calendar injection), other C0 and C1
# controls, DEL, and the Unicode line and paragraph separators.
CONTROL_NAMES = {
    "CRLF": "Jane\r\nBcc: everyone@example.com",
    "lone LF": "Jane\nDoe",
    "tab": "Jane\tDoe",
    "bell": "Jane\x07Doe",
    "escape": "Jane\x1b[31mDoe",
    "DEL": "Jane\x7fDoe",
    "C1 NEL": "Jane\x85Doe",
    "line separator": "Jane\u2028Doe",
}


async def _writes(clinic: Clinic) -> tuple[int, int]:
    return await clinic.count(), await clinic.count("realtime_events")


def _assert_refused(response: httpx.Response, status: int, where: list[str]) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == ("ValidationError" if status == 422 else "BadRequest")
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["fields"][0]["loc"] == where, body


@pytest.mark.parametrize("day", FAR_DATES.values(), ids=FAR_DATES.keys())
async def test_a_booking_far_from_today_is_422(clinic: Clinic, day: str) -> None:
    before = await _writes(clinic)
    response = await clinic.http.post(
        "/api/appointments", json=clinic.booking(appointment_date=day)
    )
    _assert_refused(response, 422, ["body", "appointment_date"])
    assert "must be between" in response.json()["detail"]
    assert await _writes(clinic) == before


@pytest.mark.parametrize("day", FAR_DATES.values(), ids=FAR_DATES.keys())
async def test_a_reschedule_far_from_today_is_422(clinic: Clinic, day: str) -> None:
    appointment = clinic.appointments["a"]
    before = await _writes(clinic)
    response = await clinic.http.put(
        f"/api/appointments/{appointment['id']}",
        json={"appointment_date": day},
        headers=clinic.auth("patient_a"),
    )
    _assert_refused(response, 422, ["body", "appointment_date"])
    assert await _writes(clinic) == before


async def test_the_edges_of_the_window_are_still_dates(clinic: Clinic) -> None:
    """A year back is a date (not a free slot: 409); two years ahead is bookable."""
    last_year = (TODAY - timedelta(days=365)).isoformat()
    past = await clinic.http.post(
        "/api/appointments", json=clinic.booking(appointment_date=last_year)
    )
    assert past.status_code == 409 and past.json()["error"] == "SlotUnavailable"
    ahead = (TODAY + timedelta(days=2 * 365)).isoformat()
    booked = await clinic.http.post(
        "/api/appointments", json=clinic.booking(appointment_date=ahead)
    )
    assert booked.status_code == 201, booked.text


SLOT_QUERIES = {
    "from in year 9999": ({"from": "9999-12-31"}, "from"),
    "from and to in year 9999": ({"from": "9999-12-31", "to": "9999-12-31"}, "from"),
    "year 1": ({"from": "0001-01-01", "to": "0001-01-02"}, "from"),
    "to in year 9999": ({"from": TODAY.isoformat(), "to": "9999-12-31"}, "to"),
}


@pytest.mark.parametrize(("params", "name"), SLOT_QUERIES.values(), ids=SLOT_QUERIES.keys())
async def test_slots_far_from_today_are_400(
    clinic: Clinic, params: dict[str, str], name: str
) -> None:
    response = await clinic.http.get(
        f"/api/dentists/{clinic.dentists['x']['id']}/slots", params=params
    )
    _assert_refused(response, 400, ["query", name])
    fine = await clinic.http.get(
        f"/api/dentists/{clinic.dentists['x']['id']}/slots",
        params={"from": TODAY.isoformat()},
    )
    assert fine.status_code == 200 and fine.json()["slots"], "the connection is still good"


def _cursor(instant: str) -> str:
    raw = f"{instant}|00000000-0000-4000-8000-000000000000".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("instant", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_a_value_asyncpg_cannot_encode_is_400_not_503(clinic: Clinic, instant: str) -> None:
    """A cursor whose instant lies past the range of a timestamp once in UTC: asyncpg
    refuses the argument (asyncpg.DataError). That is bad input, not a database that
    cannot be reached, and not a server error."""
    response = await clinic.http.get(
        "/api/appointments", params={"cursor": _cursor(instant)}, headers=clinic.auth("admin")
    )
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": "BadRequest",
        "detail": "A value in the request is out of range or malformed.",
    }
    after = await clinic.http.get("/api/appointments", headers=clinic.auth("admin"))
    assert after.status_code == 200 and after.json()["items"]


@pytest.mark.parametrize("name", CONTROL_NAMES.values(), ids=CONTROL_NAMES.keys())
async def test_names_with_control_characters_are_422(clinic: Clinic, name: str) -> None:
    before = await _writes(clinic), await clinic.count("users"), await clinic.count("dentists")
    admin = clinic.auth("admin")
    attempts: list[tuple[httpx.Response, list[str]]] = [
        (
            await clinic.http.post("/api/appointments", json=clinic.booking(patient_name=name)),
            ["body", "patient_name"],
        ),
        (
            await clinic.http.post(
                "/api/auth/register",
                json={"email": "new@example.com", "password": "long-enough", "full_name": name},
            ),
            ["body", "full_name"],
        ),
        (
            await clinic.http.post(
                "/api/dentists", json={"name": name, "email": "dr.new@example.com"}, headers=admin
            ),
            ["body", "name"],
        ),
        (
            await clinic.http.patch(
                f"/api/dentists/{clinic.dentists['x']['id']}", json={"name": name}, headers=admin
            ),
            ["body", "name"],
        ),
    ]
    for response, where in attempts:
        _assert_refused(response, 422, where)
        assert "control characters" in response.json()["detail"]
    after = await _writes(clinic), await clinic.count("users"), await clinic.count("dentists")
    assert after == before


NAMES_THAT_STAY: dict[str, Any] = {
    "accents and scripts": "Zoë Ñandú 歯科 עברית",
    "apostrophe and hyphen": "Seán O'Brien-Smith",
    "emoji": "Jane 🦷 Doe",
}


@pytest.mark.parametrize("name", NAMES_THAT_STAY.values(), ids=NAMES_THAT_STAY.keys())
async def test_names_in_any_script_are_still_welcome(clinic: Clinic, name: str) -> None:
    booked = await clinic.http.post("/api/appointments", json=clinic.booking(patient_name=name))
    assert booked.status_code == 201, booked.text
    assert booked.json()["patient_name"] == name
    renamed = await clinic.http.patch(
        f"/api/dentists/{clinic.dentists['y']['id']}",
        json={"name": f"Dr {name}"},
        headers=clinic.auth("admin"),
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == f"Dr {name}"
