"""Bad input gets a clear 4xx in the error shape, and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.clinic import Clinic

PAST = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()


def _booking(clinic: Clinic, **changes: Any) -> dict[str, Any]:
    body = clinic.booking(at="11:00")
    for key, value in changes.items():
        if value is _DROP:
            body.pop(key)
        else:
            body[key] = value
    return body


_DROP = object()

BOOKINGS = [
    ("past date", {"appointment_date": PAST}, 409, "SlotUnavailable"),
    ("outside working hours", {"appointment_time": "19:00"}, 409, "SlotUnavailable"),
    ("off the slot grid", {"appointment_time": "11:10"}, 409, "SlotUnavailable"),
    ("seconds in the time", {"appointment_time": "11:00:30"}, 422, "ValidationError"),
    ("not a date", {"appointment_date": "next tuesday"}, 422, "ValidationError"),
    ("impossible date", {"appointment_date": "2031-02-30"}, 422, "ValidationError"),
    ("time as a number", {"appointment_time": 1100}, 422, "ValidationError"),
    ("dentist not a uuid", {"dentist_id": "dr-smith"}, 422, "ValidationError"),
    (
        "unknown dentist",
        {"dentist_id": "00000000-0000-4000-8000-000000000000"},
        422,
        "ValidationError",
    ),
    ("bad e-mail", {"patient_email": "not-an-email"}, 422, "ValidationError"),
    ("missing phone", {"patient_phone": _DROP}, 422, "ValidationError"),
    ("letters in phone", {"patient_phone": "call me maybe"}, 422, "ValidationError"),
    ("empty name", {"patient_name": "   "}, 422, "ValidationError"),
    ("5 kB name", {"patient_name": "x" * 5000}, 422, "ValidationError"),
    ("negative age", {"patient_age": -1}, 422, "ValidationError"),
    ("age as text", {"patient_age": "forty"}, 422, "ValidationError"),
    ("unknown payment method", {"payment_method": "bitcoin"}, 422, "ValidationError"),
    ("100 kB notes", {"notes": "y" * 100_000}, 413, "PayloadTooLarge"),
]


@pytest.mark.parametrize(
    ("changes", "status", "error"), [b[1:] for b in BOOKINGS], ids=[b[0] for b in BOOKINGS]
)
async def test_bad_bookings_are_refused_and_write_nothing(
    clinic: Clinic, changes: dict[str, Any], status: int, error: str
) -> None:
    before = (await clinic.count(), await clinic.count("realtime_events"))
    response = await clinic.http.post("/api/appointments", json=_booking(clinic, **changes))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str) and body["detail"]
    if status == 422:
        assert body["fields"] and body["fields"][0]["loc"][0] == "body"
    assert (await clinic.count(), await clinic.count("realtime_events")) == before


async def test_time_off_and_removed_hours_refuse_bookings(clinic: Clinic) -> None:
    dentist = clinic.auth("dentist_x")
    x = clinic.dentists["x"]["id"]
    off = await clinic.http.post(
        f"/api/availability/{x}/exceptions",
        json={"date": clinic.day.isoformat(), "start_time": "11:00", "end_time": "12:00"},
        headers=dentist,
    )
    assert off.status_code == 201
    before = await clinic.count()
    refused = await clinic.http.post("/api/appointments", json=clinic.booking(at="11:30"))
    assert refused.status_code == 409
    assert await clinic.count() == before
    allowed = await clinic.http.post("/api/appointments", json=clinic.booking(at="12:00"))
    assert allowed.status_code == 201


async def test_malformed_json_is_400(clinic: Clinic) -> None:
    before = await clinic.count()
    response = await clinic.http.post(
        "/api/appointments",
        content=b'{"dentist_id": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "BadRequest"
    assert await clinic.count() == before


@pytest.mark.parametrize(
    "query",
    [
        "status=booked",
        "limit=500",
        "limit=0",
        "from=yesterday",
        "dentist_id=nope",
        "cursor=garbage!!",
    ],
)
async def test_bad_query_parameters_are_400(clinic: Clinic, query: str) -> None:
    response = await clinic.http.get(f"/api/appointments?{query}", headers=clinic.auth("admin"))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest"


async def test_slot_range_limits(clinic: Clinic) -> None:
    x = clinic.dentists["x"]["id"]
    day = clinic.day
    too_long = await clinic.http.get(
        f"/api/dentists/{x}/slots?from={day}&to={day + timedelta(days=62)}"
    )
    assert too_long.status_code == 400
    backwards = await clinic.http.get(
        f"/api/dentists/{x}/slots?from={day}&to={day - timedelta(days=1)}"
    )
    assert backwards.status_code == 400
    longest = await clinic.http.get(
        f"/api/dentists/{x}/slots?from={day}&to={day + timedelta(days=61)}"
    )
    assert longest.status_code == 200


async def test_not_a_uuid_in_the_path_is_404(clinic: Clinic) -> None:
    response = await clinic.http.get("/api/appointments/123", headers=clinic.auth("admin"))
    assert response.status_code == 404 and response.json()["error"] == "NotFound"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {
                "weekly": [
                    {"day_of_week": 0, "start_time": "09:00", "end_time": "12:00"},
                    {"day_of_week": 0, "start_time": "11:00", "end_time": "14:00"},
                ]
            },
            422,
        ),
        ({"weekly": [{"day_of_week": 7, "start_time": "09:00", "end_time": "12:00"}]}, 422),
        ({"weekly": [{"day_of_week": 1, "start_time": "12:00", "end_time": "09:00"}]}, 422),
        ({"weekly": [{"day_of_week": 1, "start_time": "25:00", "end_time": "26:00"}]}, 422),
        ({"weekly": "every day"}, 422),
    ],
)
async def test_bad_schedules_are_refused_and_the_old_one_stays(
    clinic: Clinic, body: dict[str, Any], status: int
) -> None:
    x = clinic.dentists["x"]["id"]
    before = (await clinic.http.get(f"/api/availability/{x}")).json()
    response = await clinic.http.put(
        f"/api/availability/{x}", json=body, headers=clinic.auth("dentist_x")
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] == "ValidationError"
    assert (await clinic.http.get(f"/api/availability/{x}")).json() == before


@pytest.mark.parametrize(
    "body",
    [
        {"date": PAST},
        {"date": "{day}", "start_time": "10:00"},
        {"date": "{day}", "start_time": "12:00", "end_time": "10:00"},
        {"date": "{day}", "is_available": True},
    ],
)
async def test_bad_exceptions_are_refused(clinic: Clinic, body: dict[str, Any]) -> None:
    body = {
        k: v.format(day=clinic.day.isoformat()) if isinstance(v, str) else v
        for k, v in body.items()
    }
    before = await clinic.count("availability_exceptions")
    response = await clinic.http.post(
        f"/api/availability/{clinic.dentists['x']['id']}/exceptions",
        json=body,
        headers=clinic.auth("dentist_x"),
    )
    assert response.status_code == 422, response.text
    assert await clinic.count("availability_exceptions") == before
