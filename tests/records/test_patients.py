"""Patient records and data rights over real HTTP: who may search, read, export and
erase whom; the export holds every column; erasure keeps the scheduling facts and leaves
no personal text anywhere in the database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from dentalcare.patients.repository import guest_id
from tests.fixtures.clinic import Clinic

# The front desk reads and searches like an admin, but exports and erases nobody (API.md:
# "the patient; admin").
CALLERS = ("anon", "patient_a", "patient_b", "dentist_x", "dentist_y", "front_desk", "admin")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    expected: tuple[int, ...]


CASES = [
    Case("search", "GET", "/api/patients?search=", (401, 403, 403, 403, 403, 200, 200)),
    Case("read patient A", "GET", "/api/patients/{a}", (401, 200, 404, 403, 403, 200, 200)),
    Case("read guest", "GET", "/api/patients/{guest}", (401, 404, 404, 403, 403, 200, 200)),
    Case(
        "export patient A", "GET", "/api/patients/{a}/export", (401, 200, 404, 403, 403, 403, 200)
    ),
    Case(
        "export guest", "GET", "/api/patients/{guest}/export", (401, 404, 404, 403, 403, 403, 200)
    ),
    Case("erase patient A", "POST", "/api/patients/{a}/erase", (401, 204, 404, 403, 403, 403, 204)),
    Case("erase guest", "POST", "/api/patients/{guest}/erase", (401, 404, 404, 403, 403, 403, 204)),
    Case("read no one", "GET", "/api/patients/{missing}", (401, 404, 404, 403, 403, 404, 404)),
]


def _names(clinic: Clinic) -> dict[str, str]:
    return {
        "a": str(clinic.users["patient_a"]["id"]),
        "guest": str(guest_id("guest@example.com")),
        "missing": str(uuid.uuid4()),
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("caller", CALLERS)
async def test_authorization_matrix(clinic: Clinic, case: Case, caller: str) -> None:
    before_users = await clinic.conn.fetch("SELECT * FROM users ORDER BY id")
    before_appts = await clinic.conn.fetch("SELECT * FROM appointments ORDER BY id")
    response = await clinic.http.request(
        case.method, case.path.format(**_names(clinic)), headers=clinic.auth(caller)
    )
    expected = case.expected[CALLERS.index(caller)]
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.json()["error"] in {"Unauthorized", "Forbidden", "NotFound"}
    if expected >= 400 or case.method == "GET":
        assert await clinic.conn.fetch("SELECT * FROM users ORDER BY id") == before_users
        assert await clinic.conn.fetch("SELECT * FROM appointments ORDER BY id") == before_appts


async def test_search_finds_by_name_email_phone_and_reference(clinic: Clinic) -> None:
    a = clinic.users["patient_a"]
    await clinic.conn.execute(
        "UPDATE users SET full_name = 'Zelda Quinn', phone = '+1 (555) 777-1234' WHERE id = $1",
        a["id"],
    )
    ref = clinic.appointments["a"]["booking_reference"]
    admin = clinic.auth("admin")
    for text in ("zelda", "QUINN", a["email"].upper(), "7771234", ref.lower()):
        body = await clinic.http.get("/api/patients", params={"search": text}, headers=admin)
        assert body.status_code == 200
        ids = [item["id"] for item in body.json()["items"]]
        assert ids == [str(a["id"])], text
    everyone = (await clinic.http.get("/api/patients", headers=admin)).json()["items"]
    kinds = {item["email"]: item["kind"] for item in everyone}
    assert kinds["guest@example.com"] == "guest"
    assert kinds[a["email"]] == "patient"
    assert str(guest_id("guest@example.com")) in {i["id"] for i in everyone}
    # a LIKE wildcard is text, not a pattern
    nothing = await clinic.http.get("/api/patients", params={"search": "%"}, headers=admin)
    assert nothing.json()["items"] == []
    too_long = await clinic.http.get("/api/patients", params={"search": "x" * 201}, headers=admin)
    assert too_long.status_code == 400


async def test_patient_page_counts_no_shows(clinic: Clinic) -> None:
    a = clinic.users["patient_a"]
    await clinic.conn.execute(
        "UPDATE appointments SET status = 'confirmed' WHERE id = $1", clinic.appointments["a"]["id"]
    )
    await clinic.conn.execute(
        "UPDATE appointments SET status = 'no_show' WHERE id = $1", clinic.appointments["a"]["id"]
    )
    body = (await clinic.http.get(f"/api/patients/{a['id']}", headers=clinic.auth("admin"))).json()
    assert body["kind"] == "patient"
    assert body["no_show_count"] == 1
    assert [x["booking_reference"] for x in body["appointments"]] == [
        clinic.appointments["a"]["booking_reference"]
    ]
    assert body["messages"] == [] and body["recall"] == []
    listed = (
        await clinic.http.get(
            "/api/patients", params={"search": a["email"]}, headers=clinic.auth("admin")
        )
    ).json()["items"]
    assert listed[0]["no_shows"] == 1 and listed[0]["appointments"] == 1


async def test_export_holds_every_column_of_every_row(clinic: Clinic) -> None:
    a = clinic.users["patient_a"]
    chat_id = uuid.uuid4()
    await clinic.conn.execute(
        "INSERT INTO chat_sessions (id, user_id, state, messages) VALUES ($1, $2, '{}', $3)",
        chat_id,
        a["id"],
        [{"role": "user", "text": "my tooth hurts"}],
    )
    response = await clinic.http.get(
        f"/api/patients/{a['id']}/export", headers=clinic.auth("patient_a")
    )
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    tables = response.json()["tables"]
    columns = {
        table: [
            r["column_name"]
            for r in await clinic.conn.fetch(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = $1",
                table,
            )
        ]
        for table in ("users", "appointments", "chat_sessions")
    }
    assert set(tables["users"][0]) == set(columns["users"]) - {"password_hash"}
    assert set(tables["appointments"][0]) == set(columns["appointments"])
    assert set(tables["chat_sessions"][0]) == set(columns["chat_sessions"])
    assert tables["chat_sessions"][0]["messages"][0]["text"] == "my tooth hurts"
    assert [r["id"] for r in tables["appointments"]] == [str(clinic.appointments["a"]["id"])]
    guest = await clinic.http.get(
        f"/api/patients/{guest_id('guest@example.com')}/export", headers=clinic.auth("admin")
    )
    assert [r["id"] for r in guest.json()["tables"]["appointments"]] == [
        str(clinic.appointments["guest"]["id"])
    ]
    assert "users" not in guest.json()["tables"]


async def _database_text(clinic: Clinic) -> str:
    """Every row of every public table, as text (as the owner). The audit log is the
    one exception: append-only by law (issue 15), it keeps who changed what."""
    tables = await clinic.conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename NOT LIKE 'audit%'"
    )
    parts = []
    for t in tables:
        rows = await clinic.conn.fetch(f'SELECT t::text AS row FROM "{t["tablename"]}" t')
        parts.extend(r["row"] for r in rows)
    return "\n".join(parts).lower()


async def test_erase_keeps_scheduling_facts_and_leaves_no_personal_text(clinic: Clinic) -> None:
    a = clinic.users["patient_a"]
    name, email, phone = "Harriet Vandersloot", "harriet.v@example.com", "+1 555 314 1592"
    await clinic.conn.execute(
        "UPDATE users SET full_name = $2, email = $3, phone = $4 WHERE id = $1",
        a["id"],
        name,
        email,
        phone,
    )
    appt = clinic.appointments["a"]["id"]
    await clinic.conn.execute(
        "UPDATE appointments SET patient_name = $2, patient_email = $3, patient_phone = $4, "
        "allergies = 'Penicillin (severe)', medications = 'Warfarin', notes = 'Harriet notes' "
        "WHERE id = $1",
        appt,
        name,
        email,
        phone,
    )
    await clinic.conn.execute(
        "INSERT INTO chat_sessions (id, user_id, state, messages) VALUES ($1, $2, $3, $4)",
        uuid.uuid4(),
        a["id"],
        {"collected": {"name": name}},
        [{"role": "user", "text": f"I am {name}"}],
    )
    # a guest session where they gave their e-mail before logging in
    await clinic.conn.execute(
        "INSERT INTO chat_sessions (id, user_id, state, messages) VALUES ($1, NULL, '{}', $2)",
        uuid.uuid4(),
        [{"role": "user", "text": f"mail me at {email}"}],
    )
    facts = (
        "dentist_id, appointment_date, appointment_time, starts_at, ends_at, status, "
        "booking_source, booking_reference, patient_id"
    )
    before = await clinic.conn.fetchrow(f"SELECT {facts} FROM appointments WHERE id = $1", appt)
    assert name.lower() in await _database_text(clinic)

    response = await clinic.http.post(
        f"/api/patients/{a['id']}/erase", headers=clinic.auth("patient_a")
    )
    assert response.status_code == 204

    after = await clinic.conn.fetchrow(f"SELECT {facts} FROM appointments WHERE id = $1", appt)
    assert after == before
    text = await _database_text(clinic)
    for needle in (name, email, "harriet", "3141592", "314 1592", "penicillin", "warfarin"):
        assert needle.lower() not in text, needle
    # the old token no longer works, nor the password
    again = await clinic.http.get(f"/api/patients/{a['id']}", headers=clinic.auth("patient_a"))
    assert again.status_code == 401
    # the other patients are untouched
    b = await clinic.conn.fetchrow(
        "SELECT * FROM users WHERE id = $1", clinic.users["patient_b"]["id"]
    )
    assert b == clinic.users["patient_b"]


async def test_admin_erases_a_guest_by_email(clinic: Clinic) -> None:
    gid = guest_id("guest@example.com")
    await clinic.conn.execute(
        "INSERT INTO guest_bookings (appointment_id, address) VALUES ($1, '203.0.113.77')",
        clinic.appointments["guest"]["id"],
    )
    # a change logged while the guest's details were still there
    await clinic.conn.execute(
        "UPDATE appointments SET notes = 'call back' WHERE id = $1",
        clinic.appointments["guest"]["id"],
    )
    assert "guest@example.com" in await _database_text(clinic)
    response = await clinic.http.post(f"/api/patients/{gid}/erase", headers=clinic.auth("admin"))
    assert response.status_code == 204
    row = await clinic.conn.fetchrow(
        "SELECT * FROM appointments WHERE id = $1", clinic.appointments["guest"]["id"]
    )
    assert row["patient_email"] == f"erased-{gid}@erased.invalid"
    assert row["patient_name"] == "Erased patient"
    assert row["status"] == clinic.appointments["guest"]["status"]
    text = await _database_text(clinic)
    assert "guest@example.com" not in text and "203.0.113.77" not in text
    gone = await clinic.http.get(f"/api/patients/{gid}", headers=clinic.auth("admin"))
    assert gone.status_code == 404


async def test_erasure_reaches_messages_links_waitlist_and_recalls(clinic: Clinic) -> None:
    """What version 2 added holds the patient too: their e-mails (address, context, the
    kept copy), a manage link, a reminder opt-out, a waitlist entry and a recall."""
    a = clinic.users["patient_a"]
    name, email, phone = "Ottoline Quarrington", "ottoline.q@example.com", "+1 555 271 8281"
    await clinic.conn.execute(
        "UPDATE users SET full_name = $2, email = $3, phone = $4 WHERE id = $1",
        a["id"],
        name,
        email,
        phone,
    )
    appt = clinic.appointments["a"]["id"]
    await clinic.conn.execute(
        "UPDATE appointments SET patient_name = $2, patient_email = $3, patient_phone = $4 "
        "WHERE id = $1",
        appt,
        name,
        email,
        phone,
    )
    treatment = await clinic.conn.fetchval("SELECT id FROM treatment_types LIMIT 1")
    await clinic.conn.execute(
        "INSERT INTO messages (kind, channel, to_address, subject, appointment_id, user_id, "
        "context, status, due_at, message_id, captured) VALUES "
        "('reminder', 'email', $1, $2, $3, $4, $5, 'scheduled', now() + interval '1 day', "
        "'<m1@test>', NULL), "
        "('booking_received', 'email', $1, $2, $3, $4, $5, 'sent', now(), '<m2@test>', $6), "
        "('reminder', 'sms', $7, '', $3, $4, $5, 'scheduled', now() + interval '1 day', "
        "'<m3@test>', NULL)",
        email,
        f"Your visit, {name}",
        appt,
        a["id"],
        {"patient_name": name},
        f"To: {email}\n\nDear {name}",
        phone,
    )
    await clinic.conn.execute(
        "INSERT INTO link_tokens (secret_hash, purpose, appointment_id, email, expires_at) "
        "VALUES ($1, 'cancel', $2, $3, now() + interval '1 day')",
        b"x" * 32,
        appt,
        email,
    )
    await clinic.conn.execute("INSERT INTO reminder_optouts (email) VALUES ($1)", email)
    entry = await clinic.conn.fetchval(
        "INSERT INTO waitlist_entries (patient_id, patient_name, patient_email, patient_phone, "
        "treatment_type_id, earliest_date, latest_date, times) "
        "VALUES ($1, $2, $3, $4, $5, current_date, current_date + 14, '{morning}') RETURNING id",
        a["id"],
        name,
        email,
        phone,
        treatment,
    )
    await clinic.conn.execute(
        "INSERT INTO recalls (patient_id, patient_name, patient_email, treatment_type_id, "
        "due_date, last_visit) VALUES ($1, $2, $3, $4, current_date + 180, current_date)",
        a["id"],
        name,
        email,
        treatment,
    )
    text = await _database_text(clinic)
    assert name.lower() in text and email in text

    response = await clinic.http.post(
        f"/api/patients/{a['id']}/erase", headers=clinic.auth("patient_a")
    )
    assert response.status_code == 204

    text = await _database_text(clinic)
    for needle in (name, email, "ottoline", "2718281", "271 8281"):
        assert needle.lower() not in text, needle
    waiting = await clinic.conn.fetch(
        "SELECT kind, channel, status FROM messages WHERE appointment_id = $1 ORDER BY kind",
        appt,
    )
    # nothing more goes to an erased patient; what was sent stays counted as sent
    assert {(m["kind"], m["channel"], m["status"]) for m in waiting} == {
        ("booking_received", "email", "sent"),
        ("reminder", "email", "cancelled"),
        ("reminder", "sms", "cancelled"),
    }
    assert (
        await clinic.conn.fetchval("SELECT status FROM waitlist_entries WHERE id = $1", entry)
        == "cancelled"
    )
    assert await clinic.conn.fetchval("SELECT count(*) FROM link_tokens") == 0
    assert await clinic.conn.fetchval("SELECT count(*) FROM reminder_optouts") == 0
    assert await clinic.conn.fetchval("SELECT count(*) FROM recalls") == 1
