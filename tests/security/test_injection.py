"""SQL-injection strings in every text field are stored verbatim and do no harm.

Each string goes into every free-text field the API takes (registration, booking, notes
and cancellation reasons, dentist profiles, schedule exceptions, chat messages) and into
the search and filter parameters. It must read back byte for byte, through the API and
straight from the database, and leave every table and every other row as it was.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import asyncpg
import httpx

from tests.fixtures.clinic import Clinic
from tests.fixtures.tokens import bearer
from tests.security.conftest import SQL_INJECTIONS

BOOKING_TEXT = (
    "patient_name",
    "patient_medical_conditions",
    "chief_complaint",
    "symptoms",
    "medical_history",
    "medications",
    "allergies",
    "notes",
)
TABLES_SQL = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"


async def _state(conn: asyncpg.Connection) -> tuple[list[str], dict[str, int]]:
    """The public tables and their row counts."""
    tables = sorted(r["table_name"] for r in await conn.fetch(TABLES_SQL))
    counts = {t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"')) for t in tables}
    return tables, counts


def _slot(index: int) -> str:
    """Free half-hour slots of dentist X on the clinic's day, from 11:00."""
    start = datetime.combine(datetime.now().date(), time(11)) + timedelta(minutes=30 * index)
    return start.strftime("%H:%M")


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_registration_stores_name_and_password_verbatim(clinic: Clinic) -> None:
    """The name reads back as sent; the password logs in exactly as sent."""
    tables, counts = await _state(clinic.conn)
    for i, payload in enumerate(SQL_INJECTIONS):
        password = f"{payload}-password"
        email = f"injected{i}@example.com"
        registered = _ok(
            await clinic.http.post(
                "/api/auth/register",
                json={"email": email, "password": password, "full_name": payload},
            ),
            201,
        )
        assert registered["user"]["full_name"] == payload
        stored = await clinic.conn.fetchval("SELECT full_name FROM users WHERE email = $1", email)
        assert stored.encode() == payload.encode()
        login = _ok(
            await clinic.http.post("/api/auth/login", json={"email": email, "password": password})
        )
        me = _ok(await clinic.http.get("/api/auth/me", headers=bearer(login["access_token"])))
        assert me["full_name"] == payload and me["role"] == "patient"
        refused = await clinic.http.post(
            "/api/auth/login", json={"email": email, "password": payload}
        )
        assert refused.status_code == 401
    after_tables, after_counts = await _state(clinic.conn)
    assert after_tables == tables
    assert after_counts["users"] == counts["users"] + len(SQL_INJECTIONS)


async def test_login_with_injection_gets_nobody_in(clinic: Clinic) -> None:
    """Classic bypass attempts on the e-mail and password are plain wrong credentials."""
    admin_email = clinic.users["admin"]["email"]
    for email, password in [
        ("' OR '1'='1", "' OR '1'='1"),
        (f"{admin_email}' --", "anything-at-all"),
        (admin_email, "' OR '1'='1' --"),
        ("%", "%"),
        (f"{admin_email}'; UPDATE users SET role = 'admin'; --", "x"),
    ]:
        response = await clinic.http.post(
            "/api/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 401, (email, response.text)
    roles = await clinic.conn.fetch("SELECT role, count(*) AS n FROM users GROUP BY role")
    assert {r["role"]: r["n"] for r in roles} == {
        "patient": 2,
        "dentist": 2,
        "admin": 1,
        "front_desk": 1,
    }


async def test_every_booking_text_field_is_stored_verbatim(clinic: Clinic) -> None:
    """All eight free-text fields of a booking, for every string, byte for byte."""
    tables, counts = await _state(clinic.conn)
    for i, payload in enumerate(SQL_INJECTIONS):
        texts = {name: payload for name in BOOKING_TEXT}
        booked = _ok(
            await clinic.http.post(
                "/api/appointments",
                json=clinic.booking(at=_slot(i), patient_email=f"inj{i}@example.com", **texts),
            ),
            201,
        )
        for name in BOOKING_TEXT:
            assert booked[name] == payload, name
        read = _ok(
            await clinic.http.get(f"/api/appointments/{booked['id']}", headers=clinic.auth("admin"))
        )
        row = await clinic.conn.fetchrow("SELECT * FROM appointments WHERE id = $1", booked["id"])
        for name in BOOKING_TEXT:
            assert read[name] == payload, name
            assert row[name].encode() == payload.encode(), name
    after_tables, after_counts = await _state(clinic.conn)
    assert after_tables == tables
    assert after_counts["appointments"] == counts["appointments"] + len(SQL_INJECTIONS)
    assert after_counts["users"] == counts["users"]


async def test_an_email_with_quotes_is_stored_and_found_verbatim(clinic: Clinic) -> None:
    """A legal address full of quotes books, and lookup needs it exactly."""
    email = "o'hara+'or'1'='1@example.com"
    booked = _ok(
        await clinic.http.post(
            "/api/appointments", json=clinic.booking(at="15:00", patient_email=email)
        ),
        201,
    )
    assert booked["patient_email"] == email
    reference = booked["booking_reference"]
    found = _ok(
        await clinic.http.get(
            "/api/appointments/lookup", params={"reference": reference, "email": email}
        )
    )
    assert found["id"] == booked["id"]
    for guess in ("' OR '1'='1", "x' OR 'x'='x", f"{email}' --"):
        missed = await clinic.http.get(
            "/api/appointments/lookup", params={"reference": reference, "email": guess}
        )
        assert missed.status_code == 404, guess


async def test_notes_and_cancellation_reasons_are_stored_verbatim(clinic: Clinic) -> None:
    """Patients' notes, dentists' notes, cancellation reasons."""
    own = clinic.appointments["a"]["id"]
    for payload in SQL_INJECTIONS:
        mine = await clinic.http.put(
            f"/api/appointments/{own}", json={"notes": payload}, headers=clinic.auth("patient_a")
        )
        assert _ok(mine)["notes"] == payload
        stored = await clinic.conn.fetchval("SELECT notes FROM appointments WHERE id = $1", own)
        assert stored.encode() == payload.encode()
    reason = SQL_INJECTIONS[0]
    cancelled = await clinic.http.put(
        f"/api/appointments/{own}",
        json={"status": "cancelled", "cancellation_reason": reason},
        headers=clinic.auth("dentist_x"),
    )
    assert _ok(cancelled)["cancellation_reason"] == reason
    row = await clinic.conn.fetchrow(
        "SELECT status, cancellation_reason FROM appointments WHERE id = $1", own
    )
    assert (row["status"], row["cancellation_reason"]) == ("cancelled", reason)
    others = await clinic.conn.fetch(
        "SELECT status, notes FROM appointments WHERE id <> $1 ORDER BY id", own
    )
    assert [(r["status"], r["notes"]) for r in others] == [("pending", None)] * 2


async def test_dentist_profiles_and_exceptions_store_text_verbatim(clinic: Clinic) -> None:
    """Name, specialty and bio (created and edited by an admin), time-off reasons."""
    tables, counts = await _state(clinic.conn)
    x = clinic.dentists["x"]["id"]
    for i, payload in enumerate(SQL_INJECTIONS):
        created = _ok(
            await clinic.http.post(
                "/api/dentists",
                json={
                    "name": payload,
                    "email": f"dr-injected{i}@example.com",
                    "specialization": payload,
                    "bio": payload,
                },
                headers=clinic.auth("admin"),
            ),
            201,
        )["dentist"]
        edited = _ok(
            await clinic.http.patch(
                f"/api/dentists/{x}",
                json={"name": payload, "specialization": payload, "bio": payload},
                headers=clinic.auth("dentist_x" if i % 2 else "admin"),
            )
        )
        exception = _ok(
            await clinic.http.post(
                f"/api/availability/{x}/exceptions",
                json={"date": (clinic.day + timedelta(days=i + 1)).isoformat(), "reason": payload},
                headers=clinic.auth("dentist_x"),
            ),
            201,
        )
        for shown in (created, edited):
            assert (shown["name"], shown["specialization"], shown["bio"]) == (payload,) * 3
        assert exception["reason"] == payload
        for dentist_id in (created["id"], x):
            row = await clinic.conn.fetchrow(
                "SELECT name, specialization, bio FROM dentists WHERE id = $1", dentist_id
            )
            assert [v.encode() for v in row.values()] == [payload.encode()] * 3
        reason = await clinic.conn.fetchval(
            "SELECT reason FROM availability_exceptions WHERE id = $1", exception["id"]
        )
        assert reason.encode() == payload.encode()
    after_tables, after_counts = await _state(clinic.conn)
    assert after_tables == tables
    assert after_counts["dentists"] == counts["dentists"] + len(SQL_INJECTIONS)
    assert after_counts["users"] == counts["users"] + len(SQL_INJECTIONS)


async def test_search_and_filter_parameters_find_nothing_extra(clinic: Clinic) -> None:
    """Injected search terms match no dentist; injected filters are refused, not obeyed."""
    tables, counts = await _state(clinic.conn)
    for payload in SQL_INJECTIONS:
        for params in ({"search": payload}, {"specialization": payload}):
            found = await clinic.http.get("/api/dentists", params=params)
            assert _ok(found) == [], (params, found.text)
        for params in ({"cursor": payload}, {"status": payload}, {"dentist_id": payload}):
            listed = await clinic.http.get(
                "/api/appointments", params=params, headers=clinic.auth("patient_a")
            )
            assert listed.status_code == 400, (params, listed.text)
        lookup = await clinic.http.get(
            "/api/appointments/lookup",
            params={"reference": payload[:20].ljust(3, "x"), "email": payload.ljust(3, "x")},
        )
        assert lookup.status_code == 404, (payload, lookup.text)
    own = _ok(await clinic.http.get("/api/appointments", headers=clinic.auth("patient_a")))
    assert [a["id"] for a in own["items"]] == [str(clinic.appointments["a"]["id"])]
    assert await _state(clinic.conn) == (tables, counts)


async def test_chat_messages_are_kept_verbatim(clinic: Clinic) -> None:
    """What the patient typed is in the transcript exactly as typed."""
    started = _ok(
        await clinic.http.post("/api/chat/sessions", headers=clinic.auth("patient_a")), 201
    )
    path = f"/api/chat/sessions/{started['session_id']}"
    tables, counts = await _state(clinic.conn)
    for payload in SQL_INJECTIONS:
        turn = await clinic.http.post(
            f"{path}/messages", json={"text": payload}, headers=clinic.auth("patient_a")
        )
        assert turn.status_code == 200, turn.text
    transcript = _ok(await clinic.http.get(path, headers=clinic.auth("patient_a")))
    typed = [m["text"] for m in transcript["messages"] if m["role"] == "user"]
    assert typed == list(SQL_INJECTIONS)
    stored = await clinic.conn.fetchval(
        "SELECT messages::text FROM chat_sessions WHERE id = $1", started["session_id"]
    )
    for payload in SQL_INJECTIONS:
        assert payload.replace("\\", "\\\\").replace('"', '\\"') in stored
    after_tables, after_counts = await _state(clinic.conn)
    assert after_tables == tables
    for table in ("users", "dentists", "dentist_availability"):
        assert after_counts[table] == counts[table], table


async def test_fields_with_a_strict_format_refuse_injection(clinic: Clinic) -> None:
    """Phones and e-mail addresses cannot carry SQL: 422, and nothing is written."""
    tables, counts = await _state(clinic.conn)
    for payload in ("' OR '1'='1", "1); DROP TABLE users; --"):
        for body in (
            clinic.booking(at="15:30", patient_phone=payload),
            clinic.booking(at="15:30", patient_email=payload),
        ):
            response = await clinic.http.post("/api/appointments", json=body)
            assert response.status_code == 422, response.text
        signup = await clinic.http.post(
            "/api/auth/register",
            json={
                "email": "ok@example.com",
                "password": "long-enough",
                "full_name": "A",
                "phone": payload,
            },
        )
        assert signup.status_code == 422
    assert await _state(clinic.conn) == (tables, counts)
