"""/api/messages, /api/messages/{id}/retry and /api/appointments/{id}/messages by role;
a dead letter after the last attempt, sent again by an admin."""

from __future__ import annotations

import asyncpg
import httpx

from tests.fixtures.clinic import Clinic, next_weekday, working_dentist
from tests.fixtures.rows import make_user
from tests.fixtures.servers import serve
from tests.fixtures.tokens import user_headers
from tests.fixtures.waiting import wait_for
from tests.outbox.smtp import SmtpServer


async def test_appointment_messages_by_role(clinic: Clinic) -> None:
    booked = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(at="14:00", patient_email=clinic.users["patient_a"]["email"]),
        headers=clinic.auth("patient_a"),
    )
    assert booked.status_code == 201, booked.text
    url = f"/api/appointments/{booked.json()['id']}/messages"
    codes = {}
    for who in ("anon", "patient_a", "patient_b", "dentist_x", "dentist_y", "admin"):
        codes[who] = (await clinic.http.get(url, headers=clinic.auth(who))).status_code
    assert codes == {
        "anon": 401,
        "patient_a": 200,
        "patient_b": 404,
        "dentist_x": 403,
        "dentist_y": 404,
        "admin": 200,
    }
    listed = (await clinic.http.get(url, headers=clinic.auth("admin"))).json()
    assert [m["kind"] for m in listed][0] == "booking_received"
    assert {m["kind"] for m in listed} == {"booking_received", "reminder"}
    first = listed[0]
    assert set(first) == {
        "id",
        "kind",
        "channel",
        "to",
        "subject",
        "appointment_id",
        "status",
        "due_at",
        "sent_at",
        "attempts",
        "last_error",
    }
    assert first["to"] == clinic.users["patient_a"]["email"]
    assert (await clinic.http.get(url, headers=clinic.auth("patient_a"))).json()[0]["id"] == first[
        "id"
    ]


async def test_outbox_list_is_admin_only_and_filters(clinic: Clinic) -> None:
    for who, code in (("anon", 401), ("patient_a", 403), ("dentist_x", 403), ("admin", 200)):
        assert (
            await clinic.http.get("/api/messages", headers=clinic.auth(who))
        ).status_code == code
    await clinic.http.post("/api/appointments", json=clinic.booking(at="15:00"))
    await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="15:30", patient_email="z@example.com")
    )
    page = await clinic.http.get(
        "/api/messages",
        params={"kind": "booking_received", "limit": 1},
        headers=clinic.auth("admin"),
    )
    assert page.status_code == 200
    body = page.json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    rest = await clinic.http.get(
        "/api/messages",
        params={"kind": "booking_received", "cursor": body["next_cursor"]},
        headers=clinic.auth("admin"),
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["items"][0]["id"] != body["items"][0]["id"]
    bad = await clinic.http.get(
        "/api/messages", params={"status": "lost"}, headers=clinic.auth("admin")
    )
    assert bad.status_code == 400  # the API's answer to a bad query parameter
    bad = await clinic.http.get(
        "/api/messages", params={"cursor": "nonsense"}, headers=clinic.auth("admin")
    )
    assert bad.status_code == 400


async def test_dead_letter_after_the_last_attempt_and_retry(
    owner_conn: asyncpg.Connection, database_url: str, smtp: SmtpServer
) -> None:
    dentist = await working_dentist(owner_conn)
    admin = await make_user(owner_conn, role="admin")
    patient = await make_user(owner_conn, role="patient")
    smtp.stop()
    fast = {
        "outbox_poll_seconds": 0.05,
        "outbox_retry_base_seconds": 0.05,
        "outbox_retry_max_seconds": 0.1,
    }
    with serve(database_url, smtp_url=smtp.url, **fast) as server:
        settings = server.app.state.settings
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            made = await http.post(
                "/api/appointments",
                json={
                    "dentist_id": str(dentist["id"]),
                    "appointment_date": next_weekday(9).isoformat(),
                    "appointment_time": "12:00",
                    "patient_name": "Dee Letter",
                    "patient_email": "dee@example.com",
                    "patient_phone": "+1 555 0100",
                },
            )
            assert made.status_code == 201
            await owner_conn.execute("UPDATE messages SET max_attempts = 3")

            async def failed() -> str | None:
                value: str | None = await owner_conn.fetchval(
                    "SELECT id::text FROM messages WHERE status = 'failed' AND attempts = 3"
                )
                return value

            message_id = await wait_for(failed, 20, what="the dead letter")
            url = f"/api/messages/{message_id}/retry"
            for who, code in (
                (None, 401),
                (patient, 403),
                (admin, 200),
            ):
                headers = user_headers(settings, who) if who is not None else {}
                if who is admin:
                    smtp.start()
                answer = await http.post(url, headers=headers)
                assert answer.status_code == code, answer.text
            assert answer.json()["status"] == "scheduled" and answer.json()["attempts"] == 0
            await wait_for(lambda: smtp.inbox.count() == 1, 20, what="the retried message")
            again = await http.post(url, headers=user_headers(settings, admin))
            assert again.status_code == 409
            missing = await http.post(
                "/api/messages/00000000-0000-4000-8000-00000000abcd/retry",
                headers=user_headers(settings, admin),
            )
            assert missing.status_code == 404
