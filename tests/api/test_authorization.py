"""Every endpoint × every kind of caller, with exact status codes.

Callers: anonymous, patient A, patient B, dentist X, dentist Y, the front desk, admin.
The resource is always A's appointment with dentist X (or dentist X's profile and
schedule): "own" for A, X and the staff, "someone else's" for B and Y. Someone else's
appointment is a 404, never a 403; a refused request writes nothing. The front desk
manages every appointment like an admin but no dentist, schedule or clinic setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.fixtures.clinic import Clinic

CALLERS = ("anon", "patient_a", "patient_b", "dentist_x", "dentist_y", "front_desk", "admin")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: Any
    expected: tuple[int, int, int, int, int, int, int]


CASES = [
    Case(
        "read appointment",
        "GET",
        "/api/appointments/{appt_a}",
        None,
        (401, 200, 404, 200, 404, 200, 200),
    ),
    Case(
        "export ics",
        "GET",
        "/api/appointments/{appt_a}/ics",
        None,
        (401, 200, 404, 200, 404, 200, 200),
    ),
    Case(
        "edit notes",
        "PUT",
        "/api/appointments/{appt_a}",
        {"notes": "Bring X-rays"},
        (401, 200, 404, 200, 404, 200, 200),
    ),
    Case(
        "confirm",
        "PUT",
        "/api/appointments/{appt_a}",
        {"status": "confirmed"},
        (401, 403, 404, 200, 404, 200, 200),
    ),
    Case(
        "cancel by status",
        "PUT",
        "/api/appointments/{appt_a}",
        {"status": "cancelled"},
        (401, 200, 404, 200, 404, 200, 200),
    ),
    Case(
        "reschedule",
        "PUT",
        "/api/appointments/{appt_a}",
        {"appointment_date": "{day}", "appointment_time": "15:00"},
        (401, 200, 404, 403, 404, 200, 200),
    ),
    Case(
        "payment",
        "PUT",
        "/api/appointments/{appt_a}",
        {"payment_status": "paid"},
        (401, 403, 404, 403, 404, 200, 200),
    ),
    Case(
        "cancel by DELETE",
        "DELETE",
        "/api/appointments/{appt_a}",
        None,
        (401, 200, 404, 200, 404, 200, 200),
    ),
    Case(
        "list appointments", "GET", "/api/appointments", None, (401, 200, 200, 200, 200, 200, 200)
    ),
    Case("book", "POST", "/api/appointments", "booking", (201, 201, 201, 403, 403, 201, 201)),
    Case(
        "guest lookup",
        "GET",
        "/api/appointments/lookup?reference={ref_guest}&email=guest@example.com",
        None,
        (200, 200, 200, 200, 200, 200, 200),
    ),
    Case(
        "lookup of a patient's booking",
        "GET",
        "/api/appointments/lookup?reference={ref_a}&email={email_a}",
        None,
        (404, 404, 404, 404, 404, 404, 404),
    ),
    Case("me", "GET", "/api/auth/me", None, (401, 200, 200, 200, 200, 200, 200)),
    Case("directory", "GET", "/api/dentists", None, (200, 200, 200, 200, 200, 200, 200)),
    Case(
        "dentist profile",
        "GET",
        "/api/dentists/{dentist_x}",
        None,
        (200, 200, 200, 200, 200, 200, 200),
    ),
    Case(
        "create dentist",
        "POST",
        "/api/dentists",
        {"name": "Dr New", "email": "dr.new@example.com"},
        (401, 403, 403, 403, 403, 403, 201),
    ),
    Case(
        "edit dentist",
        "PATCH",
        "/api/dentists/{dentist_x}",
        {"bio": "Hello"},
        (401, 403, 403, 200, 403, 403, 200),
    ),
    Case(
        "change dentist e-mail",
        "PATCH",
        "/api/dentists/{dentist_x}",
        {"email": "dr.changed@example.com"},
        (401, 403, 403, 403, 403, 403, 200),
    ),
    Case(
        "remove dentist",
        "DELETE",
        "/api/dentists/{dentist_x}",
        None,
        (401, 403, 403, 403, 403, 403, 204),
    ),
    Case(
        "read schedule",
        "GET",
        "/api/availability/{dentist_x}",
        None,
        (200, 200, 200, 200, 200, 200, 200),
    ),
    Case(
        "replace schedule",
        "PUT",
        "/api/availability/{dentist_x}",
        {"weekly": [{"day_of_week": 0, "start_time": "09:00", "end_time": "12:00"}]},
        (401, 403, 403, 200, 403, 403, 200),
    ),
    Case(
        "add time off",
        "POST",
        "/api/availability/{dentist_x}/exceptions",
        {"date": "{day}", "is_available": False, "reason": "Conference"},
        (401, 403, 403, 201, 403, 403, 201),
    ),
    Case(
        "delete time off",
        "DELETE",
        "/api/availability/{dentist_x}/exceptions/{exception_x}",
        None,
        (401, 403, 403, 204, 403, 403, 204),
    ),
    Case(
        "free slots",
        "GET",
        "/api/dentists/{dentist_x}/slots?from={day}&to={day}",
        None,
        (200, 200, 200, 200, 200, 200, 200),
    ),
]


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("caller", CALLERS)
async def test_authorization_matrix(clinic: Clinic, case: Case, caller: str) -> None:
    exception_id = await clinic.conn.fetchval(
        "INSERT INTO availability_exceptions (dentist_id, date) VALUES ($1, $2) RETURNING id",
        clinic.dentists["x"]["id"],
        clinic.day + timedelta(days=3),
    )
    names = {
        "appt_a": str(clinic.appointments["a"]["id"]),
        "ref_a": clinic.appointments["a"]["booking_reference"],
        "email_a": clinic.users["patient_a"]["email"],
        "ref_guest": clinic.appointments["guest"]["booking_reference"],
        "dentist_x": str(clinic.dentists["x"]["id"]),
        "exception_x": str(exception_id),
        "day": (clinic.day + timedelta(days=1)).isoformat(),
    }
    body = clinic.booking(at="12:00") if case.body == "booking" else _fill(case.body, names)
    events_before = await clinic.count("realtime_events")
    rows_before = await clinic.conn.fetch("SELECT * FROM appointments ORDER BY id")

    response = await clinic.http.request(
        case.method, _fill(case.path, names), json=body, headers=clinic.auth(caller)
    )

    expected = case.expected[CALLERS.index(caller)]
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.json()["error"] in {"Unauthorized", "Forbidden", "NotFound"}
        assert await clinic.count("realtime_events") == events_before
        assert await clinic.conn.fetch("SELECT * FROM appointments ORDER BY id") == rows_before


async def test_someone_elses_appointment_looks_exactly_like_a_missing_one(
    clinic: Clinic,
) -> None:
    hidden = await clinic.http.get(
        f"/api/appointments/{clinic.appointments['a']['id']}", headers=clinic.auth("patient_b")
    )
    missing = await clinic.http.get(
        "/api/appointments/00000000-0000-4000-8000-000000000000",
        headers=clinic.auth("patient_b"),
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


@pytest.mark.parametrize(
    ("caller", "visible"),
    [
        ("patient_a", {"a"}),
        ("patient_b", {"b"}),
        ("dentist_x", {"a", "guest"}),
        ("dentist_y", {"b"}),
        ("front_desk", {"a", "b", "guest"}),
        ("admin", {"a", "b", "guest"}),
    ],
)
async def test_lists_show_exactly_what_each_role_may_see(
    clinic: Clinic, caller: str, visible: set[str]
) -> None:
    response = await clinic.http.get("/api/appointments", headers=clinic.auth(caller))
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["items"]}
    assert ids == {str(clinic.appointments[k]["id"]) for k in visible}


async def test_only_admins_and_the_dentist_see_a_dentists_email(clinic: Clinic) -> None:
    path = f"/api/dentists/{clinic.dentists['x']['id']}"
    for caller, shown in (
        ("anon", False),
        ("patient_a", False),
        ("dentist_y", False),
        ("front_desk", False),
        ("dentist_x", True),
        ("admin", True),
    ):
        body = (await clinic.http.get(path, headers=clinic.auth(caller))).json()
        assert ("email" in body) is shown, caller
