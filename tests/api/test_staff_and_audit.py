"""The front desk, staff logins, check-in and the audit log (issue 15 items 2 and 5).

The matrix: every new endpoint (and the admin-only ones the front desk must not reach) ×
{anonymous, patient A, patient B, dentist X, dentist Y, front desk, admin}, each cell an
exact status; a refused request writes nothing. Then: one audit entry per change kind, in
the changing transaction, with the actor; staff reads of medical fields noted; the log
immutable even to hand-written SQL as the service's role.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from dentalcare.db.claims import Claims
from dentalcare.db.pool import Database
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
    Case("list staff", "GET", "/api/staff", None, (401, 403, 403, 403, 403, 403, 200)),
    Case(
        "create staff",
        "POST",
        "/api/staff",
        {"email": "desk2@example.com", "full_name": "Second Desk", "role": "front_desk"},
        (401, 403, 403, 403, 403, 403, 201),
    ),
    Case(
        "remove staff",
        "DELETE",
        "/api/staff/{front_desk}",
        None,
        (401, 403, 403, 403, 403, 403, 204),
    ),
    Case("audit log", "GET", "/api/audit", None, (401, 403, 403, 403, 403, 403, 200)),
    Case("audit CSV", "GET", "/api/audit/export.csv", None, (401, 403, 403, 403, 403, 403, 200)),
    Case(
        "check in",
        "POST",
        "/api/appointments/{appt_a}/check-in",
        None,
        (401, 403, 403, 403, 403, 200, 200),
    ),
    Case(
        "add treatment type",
        "POST",
        "/api/treatment-types",
        {"name": "Whitening", "duration_minutes": 60},
        (401, 403, 403, 403, 403, 403, 201),
    ),
    Case(
        "add chair",
        "POST",
        "/api/chairs",
        {"name": "Chair 9"},
        (401, 403, 403, 403, 403, 403, 201),
    ),
    Case(
        "clinic settings",
        "PATCH",
        "/api/clinic",
        {"phone": "+1 555 0000"},
        (401, 403, 403, 403, 403, 403, 200),
    ),
    Case(
        "staff books for a caller",
        "POST",
        "/api/appointments",
        "booking",
        (201, 201, 201, 403, 403, 201, 201),
    ),
]


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


async def _writes(clinic: Clinic) -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    return (
        await clinic.conn.fetch("SELECT * FROM appointments ORDER BY id"),
        await clinic.conn.fetch("SELECT id, role, disabled, token_version FROM users ORDER BY id"),
        await clinic.count("treatment_types"),
        await clinic.count("chairs"),
        await clinic.conn.fetchval("SELECT phone FROM clinic_settings"),
        await clinic.count("audit_log"),
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("caller", CALLERS)
async def test_staff_endpoint_matrix(clinic: Clinic, case: Case, caller: str) -> None:
    names = {
        "appt_a": str(clinic.appointments["a"]["id"]),
        "front_desk": str(clinic.users["front_desk"]["id"]),
    }
    body = clinic.booking(at="12:00") if case.body == "booking" else _fill(case.body, names)
    before = await _writes(clinic)

    response = await clinic.http.request(
        case.method, _fill(case.path, names), json=body, headers=clinic.auth(caller)
    )

    expected = case.expected[CALLERS.index(caller)]
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.json()["error"] in {"Unauthorized", "Forbidden", "NotFound"}
        assert await _writes(clinic) == before


# ----------------------------------------------------------------------------- staff


async def test_a_front_desk_login_is_created_logs_in_and_is_removed(clinic: Clinic) -> None:
    admin = clinic.auth("admin")
    created = await clinic.http.post(
        "/api/staff",
        json={"email": "Desk@Example.com", "full_name": "Rita Reception", "role": "front_desk"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user, password = created.json()["user"], created.json()["initial_password"]
    assert user["role"] == "front_desk" and len(password) >= 12

    login = await clinic.http.post(
        "/api/auth/login", json={"email": "desk@example.com", "password": password}
    )
    assert login.status_code == 200
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    listed = await clinic.http.get("/api/appointments", headers=token)
    assert {i["id"] for i in listed.json()["items"]} == {
        str(a["id"]) for a in clinic.appointments.values()
    }
    staff = (await clinic.http.get("/api/staff", headers=admin)).json()
    assert user["id"] in {s["id"] for s in staff}

    again = await clinic.http.post(
        "/api/staff",
        json={"email": "desk@example.com", "full_name": "Copy", "role": "admin"},
        headers=admin,
    )
    assert again.status_code == 409

    removed = await clinic.http.delete(f"/api/staff/{user['id']}", headers=admin)
    assert removed.status_code == 204
    assert (await clinic.http.get("/api/appointments", headers=token)).status_code == 401
    gone = await clinic.http.post(
        "/api/auth/login", json={"email": "desk@example.com", "password": password}
    )
    assert gone.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"email": "x@example.com", "full_name": "X", "role": "patient"},
        {"email": "x@example.com", "full_name": "X", "role": "dentist"},
        {"email": "not-an-email", "full_name": "X", "role": "front_desk"},
        {"email": "x@example.com", "full_name": "", "role": "front_desk"},
        {"email": "x@example.com", "full_name": "X", "role": "front_desk", "password": "short"},
    ],
)
async def test_bad_staff_bodies_are_422_and_write_nothing(
    clinic: Clinic, body: dict[str, Any]
) -> None:
    users = await clinic.count("users")
    response = await clinic.http.post("/api/staff", json=body, headers=clinic.auth("admin"))
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"
    assert await clinic.count("users") == users


async def test_the_last_admin_and_ones_own_login_stay(clinic: Clinic) -> None:
    admin_id = clinic.users["admin"]["id"]
    response = await clinic.http.delete(f"/api/staff/{admin_id}", headers=clinic.auth("admin"))
    assert response.status_code == 409
    patient = clinic.users["patient_a"]["id"]
    response = await clinic.http.delete(f"/api/staff/{patient}", headers=clinic.auth("admin"))
    assert response.status_code == 404


# ----------------------------------------------------------------------------- booking, check-in


async def test_front_desk_bookings_say_so_and_check_in_sets_arrival(clinic: Clinic) -> None:
    booked = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="13:00"), headers=clinic.auth("front_desk")
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["booking_source"] == "front_desk"

    path = f"/api/appointments/{booked.json()['id']}/check-in"
    first = await clinic.http.post(path, headers=clinic.auth("front_desk"))
    assert first.status_code == 200
    arrived = first.json()["arrived_at"]
    assert arrived is not None
    second = await clinic.http.post(path, headers=clinic.auth("front_desk"))
    assert second.json()["arrived_at"] == arrived  # kept, not moved

    seen = await clinic.http.get(
        f"/api/appointments/{booked.json()['id']}", headers=clinic.auth("dentist_x")
    )
    assert seen.json()["arrived_at"] == arrived


async def test_a_cancelled_appointment_cannot_be_checked_in(clinic: Clinic) -> None:
    appt = clinic.appointments["a"]["id"]
    await clinic.http.delete(f"/api/appointments/{appt}", headers=clinic.auth("admin"))
    response = await clinic.http.post(
        f"/api/appointments/{appt}/check-in", headers=clinic.auth("front_desk")
    )
    assert response.status_code == 409
    assert (
        await clinic.conn.fetchval("SELECT arrived_at FROM appointments WHERE id = $1", appt)
        is None
    )


async def test_front_desk_may_move_an_appointment_to_another_dentist(clinic: Clinic) -> None:
    appt = clinic.appointments["a"]["id"]
    response = await clinic.http.put(
        f"/api/appointments/{appt}",
        json={"dentist_id": str(clinic.dentists["y"]["id"]), "appointment_time": "14:00"},
        headers=clinic.auth("front_desk"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["dentist_id"] == str(clinic.dentists["y"]["id"])


# ----------------------------------------------------------------------------- audit entries


async def _entries(clinic: Clinic, **filters: str) -> list[dict[str, Any]]:
    response = await clinic.http.get("/api/audit", params=filters, headers=clinic.auth("admin"))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_every_kind_of_change_writes_an_entry_with_its_actor(clinic: Clinic) -> None:
    admin, desk, dentist_x = (
        clinic.auth("admin"),
        clinic.auth("front_desk"),
        clinic.auth("dentist_x"),
    )
    x = str(clinic.dentists["x"]["id"])
    ids = {k: str(v["id"]) for k, v in clinic.users.items()}

    booked = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="13:00"), headers=desk
    )
    appt = booked.json()["id"]
    await clinic.http.put(
        f"/api/appointments/{appt}", json={"status": "confirmed"}, headers=dentist_x
    )
    registered = await clinic.http.post(
        "/api/auth/register",
        json={"email": "newpat@example.com", "password": "long-enough-1", "full_name": "New Pat"},
    )
    patient = registered.json()["user"]["id"]
    await clinic.http.patch(f"/api/dentists/{x}", json={"bio": "Gentle"}, headers=admin)
    await clinic.http.put(
        f"/api/availability/{x}",
        json={"weekly": [{"day_of_week": 1, "start_time": "09:00", "end_time": "12:00"}]},
        headers=dentist_x,
    )
    exception = await clinic.http.post(
        f"/api/availability/{x}/exceptions",
        json={"date": (clinic.day + timedelta(days=2)).isoformat(), "is_available": False},
        headers=admin,
    )
    staff = await clinic.http.post(
        "/api/staff",
        json={"email": "desk9@example.com", "full_name": "Desk Nine", "role": "front_desk"},
        headers=admin,
    )
    await clinic.http.delete(f"/api/staff/{staff.json()['user']['id']}", headers=admin)
    await clinic.http.patch("/api/clinic", json={"cancellation_notice_hours": 12}, headers=admin)

    create = await _entries(clinic, entity="appointment", entity_id=appt)
    assert [(e["action"], e["actor_role"], e["actor_id"]) for e in reversed(create)] == [
        ("create", "front_desk", ids["front_desk"]),
        ("update", "dentist", ids["dentist_x"]),
    ]
    assert create[0]["changes"]["status"] == ["pending", "confirmed"]
    # Personal and medical values never go into the log.
    assert create[-1]["changes"]["patient_name"] == [None, "[redacted]"]
    assert create[-1]["changes"]["booking_source"] == [None, "front_desk"]
    assert create[0]["ip"] == "127.0.0.1"

    (pat,) = await _entries(clinic, entity="patient", entity_id=patient)
    assert pat["action"] == "create" and pat["actor_role"] == "anonymous"
    assert pat["changes"]["password_hash"] == [None, "[redacted]"]

    (dentist,) = await _entries(clinic, entity="dentist", entity_id=x, actor=ids["admin"])
    assert dentist["actor_id"] == ids["admin"]
    assert dentist["changes"] == {"bio": ["[redacted]", "[redacted]"]}

    schedule = await _entries(clinic, entity="schedule", actor=ids["dentist_x"])
    assert {e["action"] for e in schedule} == {"create", "delete"}
    (exc,) = await _entries(clinic, entity="schedule_exception", entity_id=exception.json()["id"])
    assert exc["action"] == "create"

    staff_entries = await _entries(clinic, entity="staff", entity_id=staff.json()["user"]["id"])
    assert [e["action"] for e in reversed(staff_entries)] == ["create", "update"]
    assert staff_entries[0]["changes"]["disabled"] == [False, True]

    # The newest settings entry (earlier tests and each test's reset changed them too).
    settings = (await _entries(clinic, entity="settings", actor=ids["admin"]))[0]
    assert settings["changes"] == {"cancellation_notice_hours": [24, 12]}


async def test_a_refused_change_writes_no_entry(clinic: Clinic) -> None:
    before = await clinic.count("audit_log")
    response = await clinic.http.put(
        f"/api/appointments/{clinic.appointments['a']['id']}",
        json={"status": "completed"},
        headers=clinic.auth("dentist_x"),
    )
    assert response.status_code == 409
    assert await clinic.count("audit_log") == before


@pytest.mark.parametrize(
    ("caller", "noted"),
    [("patient_a", False), ("dentist_x", True), ("front_desk", True), ("admin", True)],
)
async def test_clinic_reads_of_medical_fields_are_noted(
    clinic: Clinic, caller: str, noted: bool
) -> None:
    appt = str(clinic.appointments["a"]["id"])
    before = await clinic.count("audit_log")
    response = await clinic.http.get(f"/api/appointments/{appt}", headers=clinic.auth(caller))
    assert response.status_code == 200
    reads = [e for e in await _entries(clinic, entity_id=appt) if e["action"] == "read"]
    assert len(reads) == (1 if noted else 0)
    assert await clinic.count("audit_log") == before + (1 if noted else 0)
    if noted:
        assert reads[0]["actor_id"] == str(clinic.users[caller]["id"])
        assert "allergies" in reads[0]["changes"]


@pytest.mark.parametrize(
    ("caller", "noted"),
    [("patient_a", False), ("dentist_x", True), ("front_desk", True), ("admin", True)],
)
async def test_clinic_lists_of_appointments_note_a_read_of_each(
    clinic: Clinic, caller: str, noted: bool
) -> None:
    """A page of GET /api/appointments carries the medical fields of every appointment on
    it: a clinic caller's page writes one read entry per appointment, in one go."""
    before = await clinic.count("audit_log")
    last = await clinic.conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    response = await clinic.http.get("/api/appointments", headers=clinic.auth(caller))
    assert response.status_code == 200, response.text
    listed = [item["id"] for item in response.json()["items"]]
    assert listed  # every caller here has at least one appointment to see
    reads = await clinic.conn.fetch(
        "SELECT entity_id, actor_id, actor_role, changes FROM audit_log "
        "WHERE id > $1 AND action = 'read' AND entity = 'appointment'",
        last,
    )
    assert await clinic.count("audit_log") == before + (len(listed) if noted else 0)
    if noted:
        assert sorted(str(r["entity_id"]) for r in reads) == sorted(listed)
        assert {str(r["actor_id"]) for r in reads} == {str(clinic.users[caller]["id"])}
        assert all("allergies" in r["changes"] for r in reads)
    else:
        assert reads == []


async def test_filters_cursor_and_csv(clinic: Clinic) -> None:
    appt = str(clinic.appointments["a"]["id"])
    for _ in range(3):
        await clinic.http.get(f"/api/appointments/{appt}", headers=clinic.auth("front_desk"))
    desk = str(clinic.users["front_desk"]["id"])
    first = await clinic.http.get(
        "/api/audit", params={"actor": desk}, headers=clinic.auth("admin")
    )
    assert len(first.json()["items"]) == 3 and first.json()["next_cursor"] is None
    later = await clinic.http.get(
        "/api/audit",
        params={"actor": desk, "cursor": str(first.json()["items"][0]["id"])},
        headers=clinic.auth("admin"),
    )
    assert [e["id"] for e in later.json()["items"]] == [e["id"] for e in first.json()["items"][1:]]
    future = await clinic.http.get(
        "/api/audit", params={"from": "2099-01-01T00:00:00Z"}, headers=clinic.auth("admin")
    )
    assert future.json()["items"] == []
    exported = await clinic.http.get(
        "/api/audit/export.csv", params={"actor": desk}, headers=clinic.auth("admin")
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["read"] * 3 and rows[0]["actor_id"] == desk
    for bad in ({"cursor": "abc"}, {"actor": "nope"}, {"entity": "Bad Entity!"}):
        response = await clinic.http.get("/api/audit", params=bad, headers=clinic.auth("admin"))
        assert response.status_code in (400, 422), bad


# ----------------------------------------------------------------------------- immutability


@pytest.fixture
async def app_db(database_url: str, owner_conn: asyncpg.Connection) -> AsyncIterator[Database]:
    db = await Database.open(database_url, app_role="dentalcare_app", min_size=1, max_size=2)
    try:
        yield db
    finally:
        await db.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET action = 'read'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
@pytest.mark.parametrize("role", ["system", "admin"])
async def test_the_app_role_cannot_rewrite_the_log(
    clinic: Clinic, app_db: Database, statement: str, role: str
) -> None:
    await clinic.http.get(
        f"/api/appointments/{clinic.appointments['a']['id']}", headers=clinic.auth("admin")
    )
    before = await clinic.conn.fetch("SELECT * FROM audit_log ORDER BY id")
    assert before
    async with app_db.unit_of_work(Claims(role)) as uow:  # type: ignore[arg-type]
        conn = await uow.connection()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
        await uow.rollback()
    assert await clinic.conn.fetch("SELECT * FROM audit_log ORDER BY id") == before


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET action = 'read'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
async def test_even_the_owner_meets_the_trigger(clinic: Clinic, statement: str) -> None:
    await clinic.http.get(
        f"/api/appointments/{clinic.appointments['a']['id']}", headers=clinic.auth("admin")
    )
    before = await clinic.conn.fetch("SELECT * FROM audit_log ORDER BY id")
    with pytest.raises(asyncpg.PostgresError) as raised:
        await clinic.conn.execute(statement)
    assert raised.value.sqlstate == "DCA01"
    assert await clinic.conn.fetch("SELECT * FROM audit_log ORDER BY id") == before


async def test_only_admins_read_the_log_even_in_sql(clinic: Clinic, app_db: Database) -> None:
    await clinic.http.get(
        f"/api/appointments/{clinic.appointments['a']['id']}", headers=clinic.auth("admin")
    )
    seen = {}
    for role in ("front_desk", "dentist", "patient", "anonymous", "admin"):
        async with app_db.unit_of_work(Claims(role), read_only=True) as uow:  # type: ignore[arg-type]
            conn = await uow.connection()
            seen[role] = await conn.fetchval("SELECT count(*) FROM audit_log")
    assert seen["admin"] > 0
    assert [seen[r] for r in ("front_desk", "dentist", "patient", "anonymous")] == [0, 0, 0, 0]
