"""Accounts and dentists: register, login, tokens, rate limits, admin create/remove."""

from __future__ import annotations

import time as clock
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from uuid import uuid4

import httpx
import jwt
import pytest

from tests.fixtures.clinic import Clinic
from tests.fixtures.rows import DEFAULT_PASSWORD, make_appointment
from tests.fixtures.servers import serve


async def test_register_login_me_and_the_role_is_always_patient(clinic: Clinic) -> None:
    registered = await clinic.http.post(
        "/api/auth/register",
        json={
            "email": "New.Patient@example.com",
            "password": "s3cret-pass",
            "full_name": "New Patient",
            "phone": "+44 20 7946 0000",
            "role": "admin",
        },
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert body["user"]["role"] == "patient" and body["user"]["dentist_id"] is None
    duplicate = await clinic.http.post(
        "/api/auth/register",
        json={
            "email": "new.patient@EXAMPLE.com",
            "password": "another-pass",
            "full_name": "Copy Cat",
        },
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "AlreadyExists"
    login = await clinic.http.post(
        "/api/auth/login", json={"email": "NEW.PATIENT@example.com", "password": "s3cret-pass"}
    )
    assert login.status_code == 200
    me = await clinic.http.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert me.json()["email"] == "New.Patient@example.com" and me.json()["role"] == "patient"
    hashed = await clinic.conn.fetchval(
        "SELECT password_hash FROM users WHERE lower(email) = 'new.patient@example.com'"
    )
    assert hashed.startswith("$argon2id$") and "s3cret-pass" not in hashed


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "password": "short", "full_name": "A"},
        {"email": "not-an-email", "password": "long-enough", "full_name": "A"},
        {"email": "a@example.com", "password": "long-enough", "full_name": ""},
    ],
)
async def test_register_validation(clinic: Clinic, body: dict[str, str]) -> None:
    before = await clinic.count("users")
    response = await clinic.http.post("/api/auth/register", json=body)
    assert response.status_code == 422
    assert await clinic.count("users") == before


async def test_login_failures_all_look_the_same(clinic: Clinic) -> None:
    email = clinic.users["patient_a"]["email"]
    wrong = await clinic.http.post("/api/auth/login", json={"email": email, "password": "nope"})
    unknown = await clinic.http.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "whatever1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    right = await clinic.http.post(
        "/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert right.status_code == 200


def _forged(payload: dict[str, object], key: str, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


async def test_forged_expired_and_alg_none_tokens_are_refused(
    clinic: Clinic, live_server: object
) -> None:
    user = clinic.users["admin"]
    now = int(clock.time())
    claims = {
        "sub": str(user["id"]),
        "role": "admin",
        "ver": 0,
        "iat": now,
        "exp": now + 600,
        "typ": "access",
        "jti": str(uuid4()),
    }
    secret = "test-secret-key-that-is-long-enough-0123456789"
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (
        _forged(claims, "a-different-key-that-is-also-long-enough-000"),
        _forged({**claims, "exp": now - 10, "iat": now - 700}, secret),
        unsigned,
        "not.a.token",
    ):
        response = await clinic.http.get(
            "/api/appointments", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
        assert response.json()["error"] == "Unauthorized"
    good = await clinic.http.get(
        "/api/appointments", headers={"Authorization": f"Bearer {_forged(claims, secret)}"}
    )
    assert good.status_code == 200


async def test_admin_creates_a_dentist_who_can_log_in_at_once(clinic: Clinic) -> None:
    created = await clinic.http.post(
        "/api/dentists",
        json={
            "name": "Dr Nora New",
            "email": "nora@example.com",
            "specialization": "Periodontics",
            "timezone": "Europe/London",
        },
        headers=clinic.auth("admin"),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    password = body["initial_password"]
    assert len(password) >= 12 and body["dentist"]["email"] == "nora@example.com"
    login = await clinic.http.post(
        "/api/auth/login", json={"email": "nora@example.com", "password": password}
    )
    assert login.status_code == 200
    assert login.json()["user"]["dentist_id"] == body["dentist"]["id"]
    directory = await clinic.http.get("/api/dentists")
    assert "Dr Nora New" in [d["name"] for d in directory.json()]
    again = await clinic.http.post(
        "/api/dentists",
        json={"name": "Dr Copy", "email": "NORA@example.com"},
        headers=clinic.auth("admin"),
    )
    assert again.status_code == 409
    bad_zone = await clinic.http.post(
        "/api/dentists",
        json={"name": "Dr Zone", "email": "zone@example.com", "timezone": "Mars/Olympus"},
        headers=clinic.auth("admin"),
    )
    assert bad_zone.status_code == 422


async def test_removing_a_dentist_disables_login_revokes_tokens_and_cancels_the_future(
    clinic: Clinic,
) -> None:
    x = clinic.dentists["x"]
    past = await make_appointment(
        clinic.conn,
        dentist_id=x["id"],
        on=datetime.now(UTC).date() - timedelta(days=5),
        at=time(9),
        status="confirmed",
    )
    old_token = clinic.auth("dentist_x")
    assert (await clinic.http.get("/api/auth/me", headers=old_token)).status_code == 200

    removed = await clinic.http.delete(f"/api/dentists/{x['id']}", headers=clinic.auth("admin"))
    assert removed.status_code == 204

    assert (await clinic.http.get("/api/auth/me", headers=old_token)).status_code == 401
    login = await clinic.http.post(
        "/api/auth/login",
        json={"email": clinic.users["dentist_x"]["email"], "password": DEFAULT_PASSWORD},
    )
    assert login.status_code == 401
    assert (await clinic.http.get(f"/api/dentists/{x['id']}")).status_code == 404
    as_admin = await clinic.http.get(f"/api/dentists/{x['id']}", headers=clinic.auth("admin"))
    assert as_admin.status_code == 200 and as_admin.json()["active"] is False
    assert x["name"] not in [d["name"] for d in (await clinic.http.get("/api/dentists")).json()]
    rows = {
        r["id"]: r
        for r in await clinic.conn.fetch(
            "SELECT id, status, cancellation_reason FROM appointments WHERE dentist_id = $1",
            x["id"],
        )
    }
    for key in ("a", "guest"):
        row = rows[clinic.appointments[key]["id"]]
        assert (row["status"], row["cancellation_reason"]) == ("cancelled", "dentist removed")
    assert rows[past["id"]]["status"] == "confirmed"
    assert (
        await clinic.http.post("/api/appointments", json=clinic.booking(at="15:00"))
    ).status_code == 422


async def test_dentist_edits_own_profile_but_not_email(clinic: Clinic) -> None:
    path = f"/api/dentists/{clinic.dentists['x']['id']}"
    ok = await clinic.http.patch(
        path, json={"bio": "Gentle.", "years_of_experience": 11}, headers=clinic.auth("dentist_x")
    )
    assert ok.status_code == 200
    assert (ok.json()["bio"], ok.json()["years_of_experience"]) == ("Gentle.", 11)


async def test_schedule_change_keeps_bookings_and_lists_those_now_outside(
    clinic: Clinic,
) -> None:
    x = clinic.dentists["x"]["id"]
    weekly = [{"day_of_week": d, "start_time": "09:30", "end_time": "12:00"} for d in range(7)]
    response = await clinic.http.put(
        f"/api/availability/{x}", json={"weekly": weekly}, headers=clinic.auth("dentist_x")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["weekly"]) == 7 and body["weekly"][0]["start_time"] == "09:30"
    outside = {a["booking_reference"] for a in body["appointments_outside_hours"]}
    assert outside == {clinic.appointments["a"]["booking_reference"]}  # 09:00 is now outside
    assert await clinic.count() == 3


@pytest.fixture
async def strict_server(database_url: str) -> AsyncIterator[str]:
    """A server with real rate limits: 3 logins and 2 bookings a minute."""
    with serve(
        database_url,
        rate_limits_enabled=True,
        login_attempts_per_minute=3,
        bookings_per_minute=2,
        min_notice_minutes=0,
    ) as running:
        yield running.base_url


async def test_login_and_booking_are_rate_limited(clinic: Clinic, strict_server: str) -> None:
    async with httpx.AsyncClient(base_url=strict_server) as http:
        email = clinic.users["patient_a"]["email"]
        codes = [
            (
                await http.post("/api/auth/login", json={"email": email, "password": "bad"})
            ).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        limited = await http.post(
            "/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
        )
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"] == "RateLimited"
        bookings = [
            (await http.post("/api/appointments", json=clinic.booking(at=at))).status_code
            for at in ("13:00", "13:30", "14:00")
        ]
        assert bookings == [201, 201, 429]
        assert (
            await clinic.conn.fetchval(
                "SELECT count(*) FROM appointments WHERE appointment_time = '14:00'"
            )
            == 0
        )
