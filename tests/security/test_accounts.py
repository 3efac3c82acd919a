"""Passwords are stored as salted argon2id hashes; a patient can never raise their role."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
from argon2 import PasswordHasher, Type, extract_parameters

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


async def test_every_way_in_stores_an_argon2id_hash(clinic: Clinic) -> None:
    """Self-registration, a dentist created by an admin: argon2id, salted, never the text."""
    password = "the same password for both"
    for i in range(2):
        registered = await clinic.http.post(
            "/api/auth/register",
            json={"email": f"hash{i}@example.com", "password": password, "full_name": "H"},
        )
        assert registered.status_code == 201
    created = await clinic.http.post(
        "/api/dentists",
        json={"name": "Dr Hash", "email": "dr.hash@example.com"},
        headers=clinic.auth("admin"),
    )
    assert created.status_code == 201
    generated = created.json()["initial_password"]
    rows = await clinic.conn.fetch(
        "SELECT email, password_hash FROM users WHERE email = ANY($1::text[])",
        ["hash0@example.com", "hash1@example.com", "dr.hash@example.com"],
    )
    hashes = {r["email"]: r["password_hash"] for r in rows}
    assert len(hashes) == 3
    for email, stored in hashes.items():
        assert stored.startswith("$argon2id$v=19$"), email
        assert extract_parameters(stored).type is Type.ID
        assert password not in stored and generated not in stored
    assert hashes["hash0@example.com"] != hashes["hash1@example.com"], "salted"
    assert PasswordHasher().verify(hashes["hash0@example.com"], password)
    assert PasswordHasher().verify(hashes["dr.hash@example.com"], generated)
    every = await clinic.conn.fetch("SELECT password_hash FROM users")
    assert all(r["password_hash"].startswith("$argon2id$") for r in every)


def test_production_hashing_cost_is_argon2id_at_owasp_strength() -> None:
    """Outside the test suite (which lowers the cost) hashes are argon2id, m >= 19 MiB, t >= 2."""
    stored = subprocess.run(
        [
            sys.executable,
            "-c",
            "from dentalcare.auth.passwords import hash_password; print(hash_password('x'))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    parameters = extract_parameters(stored)
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2


async def test_a_patient_cannot_raise_their_own_role(clinic: Clinic) -> None:
    """Not at sign-up, not by editing anything they may edit, not by calling staff routes."""
    signup = await clinic.http.post(
        "/api/auth/register",
        json={
            "email": "climber@example.com",
            "password": "long-enough-password",
            "full_name": "Climber",
            "role": "admin",
            "dentist_id": str(clinic.dentists["x"]["id"]),
            "disabled": False,
            "token_version": 7,
        },
    )
    assert signup.status_code == 201
    assert signup.json()["user"]["role"] == "patient"
    assert signup.json()["user"]["dentist_id"] is None
    me = {"Authorization": f"Bearer {signup.json()['access_token']}"}
    x, a = clinic.dentists["x"]["id"], clinic.appointments["a"]["id"]
    escalate: dict[str, object] = {"role": "admin"}
    attempts: list[tuple[str, str, dict[str, object] | None, set[int]]] = [
        ("PUT", "/api/auth/me", escalate, {405}),
        ("PATCH", "/api/auth/me", escalate, {405}),
        ("POST", "/api/auth/me", escalate, {405}),
        ("PATCH", f"/api/dentists/{x}", {"name": "Mine now"}, {403}),
        ("DELETE", f"/api/dentists/{x}", None, {403}),
        ("POST", "/api/dentists", {"name": "Dr Me", "email": "climber@example.com"}, {403}),
        ("PUT", f"/api/availability/{x}", {"weekly": []}, {403}),
        ("GET", "/api/sync/stats", None, {403}),
        ("PUT", f"/api/appointments/{a}", {"role": "admin"}, {404, 422}),
        ("PUT", f"/api/appointments/{a}", {"status": "confirmed"}, {403, 404}),
    ]
    for method, path, body, expected in attempts:
        response = await clinic.http.request(method, path, json=body, headers=me)
        assert response.status_code in expected, (method, path, response.text)
    booked = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(
            at="15:00",
            booking_source="admin",
            status="confirmed",
            patient_id=str(clinic.users["patient_b"]["id"]),
            role="admin",
        ),
        headers=me,
    )
    assert booked.status_code == 201
    assert (booked.json()["booking_source"], booked.json()["status"]) == ("manual", "pending")
    assert booked.json()["patient_id"] == signup.json()["user"]["id"]
    row = await clinic.conn.fetchrow(
        "SELECT role, token_version, disabled FROM users WHERE email = 'climber@example.com'"
    )
    assert (row["role"], row["token_version"], row["disabled"]) == ("patient", 0, False)
    assert (await clinic.http.get("/api/auth/me", headers=me)).json()["role"] == "patient"
    dentist_x = await clinic.conn.fetchrow("SELECT name, active FROM dentists WHERE id = $1", x)
    assert (dentist_x["name"], dentist_x["active"]) == ("Dr Xavier Test", True)


def test_the_sign_up_form_ignores_a_role_field(clinic: Clinic, live_server: RunningServer) -> None:
    """The portal's form with `role=admin` added makes a patient."""
    with httpx.Client(base_url=live_server.base_url, timeout=10) as browser:
        match = CSRF.search(browser.get("/register").text)
        assert match
        response = browser.post(
            "/register",
            data={
                "csrf_token": match.group(1),
                "full_name": "Form Climber",
                "email": "form.climber@example.com",
                "password": "long-enough-password",
                "role": "admin",
            },
        )
        assert response.status_code == 303
        assert browser.get("/admin").status_code == 403
        login = browser.post(
            "/api/auth/login",
            json={"email": "form.climber@example.com", "password": "long-enough-password"},
        )
        assert login.json()["user"]["role"] == "patient"
