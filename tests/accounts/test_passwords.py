"""Password reset and change, e-mail verification, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from dentalcare.db.claims import SYSTEM, set_claims
from dentalcare.links import service as links
from tests.fixtures.clinic import Clinic
from tests.fixtures.rows import DEFAULT_PASSWORD
from tests.fixtures.servers import serve


async def issue(conn: asyncpg.Connection, **fields: object) -> str:
    async with conn.transaction():
        await set_claims(conn, SYSTEM)
        return await links.issue(conn, **fields)  # type: ignore[arg-type]


async def login(clinic: Clinic, email: str, password: str) -> int:
    answer = await clinic.http.post("/api/auth/login", json={"email": email, "password": password})
    return answer.status_code


async def test_reset_answers_the_same_for_known_and_unknown_addresses(clinic: Clinic) -> None:
    known = clinic.users["patient_a"]["email"]
    a = await clinic.http.post("/api/auth/password-reset", json={"email": known})
    b = await clinic.http.post("/api/auth/password-reset", json={"email": "nobody@example.com"})
    assert a.status_code == b.status_code == 202
    assert a.json() == b.json()
    rows = await clinic.conn.fetch("SELECT purpose, user_id FROM link_tokens")
    assert [(r["purpose"], r["user_id"]) for r in rows] == [
        ("password_reset", clinic.users["patient_a"]["id"])
    ]
    bad = await clinic.http.post("/api/auth/password-reset", json={"email": "not an address"})
    assert bad.status_code == 422


async def test_reset_is_rate_limited_per_address(clinic: Clinic, database_url: str) -> None:
    """5 a hour per address (the setting's default), then 429 — for known and unknown
    addresses alike, so the limit tells nothing either."""
    with serve(database_url, rate_limits_enabled=True) as strict:
        async with httpx.AsyncClient(base_url=strict.base_url, timeout=10) as http:
            for email in ("nobody@example.com", clinic.users["patient_a"]["email"]):
                codes = [
                    (await http.post("/api/auth/password-reset", json={"email": email})).status_code
                    for _ in range(6)
                ]
                assert codes == [202] * 5 + [429], (email, codes)


async def test_reset_link_sets_a_new_password_once(clinic: Clinic) -> None:
    user = clinic.users["patient_b"]
    token = await issue(
        clinic.conn, purpose="password_reset", user_id=user["id"], email=user["email"]
    )
    old_session = clinic.auth("patient_b")
    assert (await clinic.http.get("/api/auth/me", headers=old_session)).status_code == 200
    short = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422
    done = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "a-new-secret-1"}
    )
    assert done.status_code == 200, done.text
    assert await login(clinic, user["email"], "a-new-secret-1") == 200
    assert await login(clinic, user["email"], DEFAULT_PASSWORD) == 401
    assert (await clinic.http.get("/api/auth/me", headers=old_session)).status_code == 401
    again = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "another-one-2"}
    )
    assert again.status_code == 410
    assert again.json()["error"] == "LinkExpired"


async def test_an_expired_reset_link_changes_nothing(clinic: Clinic) -> None:
    user = clinic.users["patient_a"]
    token = await issue(
        clinic.conn,
        purpose="password_reset",
        user_id=user["id"],
        email=user["email"],
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    answer = await clinic.http.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "a-new-secret-1"}
    )
    assert answer.status_code == 410
    assert await login(clinic, user["email"], DEFAULT_PASSWORD) == 200


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    clinic: Clinic,
) -> None:
    for who in ("patient_a", "dentist_x", "admin"):
        user = clinic.users[who]
        other = clinic.auth(who)
        wrong = await clinic.http.post(
            "/api/auth/password",
            json={"current_password": "not-it", "new_password": "changed-secret-9"},
            headers=other,
        )
        assert wrong.status_code == 401
        assert await login(clinic, user["email"], DEFAULT_PASSWORD) == 200
        changed = await clinic.http.post(
            "/api/auth/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": "changed-secret-9"},
            headers=other,
        )
        assert changed.status_code == 200, changed.text
        fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
        assert (await clinic.http.get("/api/auth/me", headers=fresh)).status_code == 200
        assert (await clinic.http.get("/api/auth/me", headers=other)).status_code == 401
        assert await login(clinic, user["email"], "changed-secret-9") == 200
    anonymous = await clinic.http.post(
        "/api/auth/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "changed-secret-9"},
    )
    assert anonymous.status_code == 401


async def test_verify_email_marks_the_address_once(clinic: Clinic) -> None:
    user = clinic.users["patient_a"]
    token = await issue(
        clinic.conn, purpose="email_verification", user_id=user["id"], email=user["email"]
    )
    done = await clinic.http.post("/api/auth/verify-email", json={"token": token})
    assert done.status_code == 200, done.text
    at = await clinic.conn.fetchval("SELECT email_verified_at FROM users WHERE id = $1", user["id"])
    assert at is not None
    again = await clinic.http.post("/api/auth/verify-email", json={"token": token})
    assert again.status_code == 410


async def test_a_verification_link_for_an_old_address_does_not_verify_the_new(
    clinic: Clinic,
) -> None:
    user = clinic.users["patient_b"]
    token = await issue(
        clinic.conn, purpose="email_verification", user_id=user["id"], email="old@example.com"
    )
    answer = await clinic.http.post("/api/auth/verify-email", json={"token": token})
    assert answer.status_code == 410
    at = await clinic.conn.fetchval("SELECT email_verified_at FROM users WHERE id = $1", user["id"])
    assert at is None
