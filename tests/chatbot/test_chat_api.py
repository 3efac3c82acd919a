"""The chat API: shapes, ownership and RLS, persistence, bookings made through it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from dentalcare.chatbot import service
from dentalcare.db.claims import Claims
from dentalcare.db.pool import connect
from tests.fixtures.clinic import ChatClinic
from tests.fixtures.rows import make_user
from tests.fixtures.servers import RunningServer
from tests.fixtures.tokens import user_headers

DETAILS = "Jane Doe, jane@example.com, 07700 900123"


async def _session(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    response = await http.post("/api/chat/sessions", headers=headers or {})
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


async def _say(
    http: httpx.AsyncClient, session: str, text: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response = await http.post(
        f"/api/chat/sessions/{session}/messages", json={"text": text}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _offer(body: dict[str, Any], n: int = 1) -> str:
    values = [q["value"] for m in body["messages"] for q in m["quick_replies"]]
    return [v for v in values if v != "other times"][n - 1]


async def test_session_shapes(chat_http: httpx.AsyncClient, chat_clinic: ChatClinic) -> None:
    created = await chat_http.post("/api/chat/sessions")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"session_id", "messages"}
    uuid.UUID(body["session_id"])
    greeting = body["messages"][0]
    assert greeting["role"] == "assistant" and greeting["text"]
    assert all(set(q) == {"label", "value"} for q in greeting["quick_replies"])

    turn = await _say(chat_http, body["session_id"], "I need a check-up")
    assert set(turn) == {"messages", "state", "appointment"}
    assert turn["appointment"] is None
    assert turn["state"]["stage"] == "preference"
    assert turn["state"]["collected"]["complaint"] == "check-up"
    assert all(m["role"] == "assistant" for m in turn["messages"])

    transcript = await chat_http.get(f"/api/chat/sessions/{body['session_id']}")
    assert transcript.status_code == 200
    read = transcript.json()
    assert set(read) == {"session_id", "messages", "state"}
    assert [m["role"] for m in read["messages"]] == ["assistant", "user", "assistant"]
    assert read["messages"][1]["text"] == "I need a check-up"
    assert read["state"] == turn["state"]


async def test_booking_through_chat_is_a_chatbot_booking(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    screened = await _say(chat_http, session, "I broke my front tooth and it hurts when I bite")
    assert screened["state"]["stage"] == "screen"
    offer = await _say(chat_http, session, "no, none of these")
    await _say(chat_http, session, _offer(offer))
    await _say(chat_http, session, DETAILS)
    done = await _say(chat_http, session, "yes")
    appointment = done["appointment"]
    assert appointment is not None and done["state"]["stage"] == "booked"
    row = await chat_clinic.conn.fetchrow(
        "SELECT * FROM appointments WHERE id = $1", uuid.UUID(appointment["id"])
    )
    assert row["booking_source"] == "chatbot"
    assert row["urgency"] == "urgent"
    assert row["chief_complaint"] == "I broke my front tooth and it hurts when I bite"
    assert "no" not in row["chief_complaint"].split()  # the screen's answer is not the reason
    assert "broken tooth" in row["symptoms"]
    assert row["patient_id"] is None and row["patient_email"] == "jane@example.com"
    assert row["status"] == "pending"
    # the booking reached the realtime log like any other (the dentist portal sees it live)
    events = await chat_clinic.conn.fetch(
        "SELECT op, record FROM realtime_events WHERE table_name IN ('appointments', 'slots')"
    )
    assert {e["op"] for e in events} >= {"INSERT", "TAKEN"}


async def test_logged_in_patient_books_as_themselves(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    headers = chat_clinic.patient_headers
    created = await chat_http.post("/api/chat/sessions", headers=headers)
    session = created.json()["session_id"]
    assert "Alice" in created.json()["messages"][0]["text"]
    offer = await _say(chat_http, session, "check-up with Dr Patel next week", headers)
    confirm = await _say(chat_http, session, _offer(offer), headers)
    assert confirm["state"]["stage"] == "confirm"
    done = await _say(chat_http, session, "yes", headers)
    row = await chat_clinic.conn.fetchrow(
        "SELECT * FROM appointments WHERE booking_reference = $1",
        done["appointment"]["booking_reference"],
    )
    assert row["patient_id"] == chat_clinic.patient["id"]
    assert row["booking_source"] == "chatbot" and row["urgency"] == "routine"
    owner = await chat_clinic.conn.fetchval(
        "SELECT user_id FROM chat_sessions WHERE id = $1", uuid.UUID(session)
    )
    assert owner == chat_clinic.patient["id"]


async def test_a_patients_session_needs_that_patients_token(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic, chat_server: RunningServer
) -> None:
    session = await _session(chat_http, chat_clinic.patient_headers)
    other = await make_user(chat_clinic.conn, email="bob@example.com")
    for headers in ({}, user_headers(chat_server.app.state.settings, other)):
        read = await chat_http.get(f"/api/chat/sessions/{session}", headers=headers)
        assert read.status_code == 404
        refused = await chat_http.post(
            f"/api/chat/sessions/{session}/messages", json={"text": "hello"}, headers=headers
        )
        assert refused.status_code == 404
        assert refused.json()["error"] == "NotFound"
    own = await chat_http.get(f"/api/chat/sessions/{session}", headers=chat_clinic.patient_headers)
    assert own.status_code == 200


async def test_a_guest_session_is_reached_by_its_id_alone(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    assert (await chat_http.get(f"/api/chat/sessions/{session}")).status_code == 200
    missing = await chat_http.get(f"/api/chat/sessions/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"


async def test_bad_input(chat_http: httpx.AsyncClient, chat_clinic: ChatClinic) -> None:
    session = await _session(chat_http)
    url = f"/api/chat/sessions/{session}/messages"
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {}, {"text": "hi", "x": 1}):
        response = await chat_http.post(url, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "ValidationError"
    malformed = await chat_http.post(
        url, content=b"{", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert (await chat_http.get("/api/chat/sessions/not-a-uuid")).status_code == 404
    forged = await chat_http.post("/api/chat/sessions", headers={"Authorization": "Bearer nope"})
    assert forged.status_code == 401
    count = await chat_clinic.conn.fetchval("SELECT count(*) FROM chat_sessions")
    assert count == 1


async def test_concurrent_messages_to_one_session_lose_no_turn(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    path = f"/api/chat/sessions/{session}/messages"
    asked = (chat_http.post(path, json={"text": "what are your opening hours?"}) for _ in range(6))
    answers = await asyncio.gather(*asked)
    # Each message is answered on the state its turn saved on, or refused as a whole with
    # 409 (the client sends it again): never answered and then lost.
    assert {r.status_code for r in answers} <= {200, 409}
    answered = [r for r in answers if r.status_code == 200]
    assert answered, [r.text for r in answers]
    for refused in (r for r in answers if r.status_code == 409):
        assert refused.json()["error"] == "Conflict"
    transcript = (await chat_http.get(f"/api/chat/sessions/{session}")).json()["messages"]
    assert [m["role"] for m in transcript].count("user") == len(answered)
    assert "We're open" in transcript[2]["text"]


async def test_opening_hours_come_from_the_schedules(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    turn = await _say(chat_http, session, "when are you open?")
    assert "Mon–Sun 09:00–17:00" in turn["messages"][0]["text"]


async def test_rls_shows_a_session_only_to_its_claims(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic, database_url: str
) -> None:
    guest = uuid.UUID(await _session(chat_http))
    mine = uuid.UUID(await _session(chat_http, chat_clinic.patient_headers))
    conn = await connect(database_url, app_role="dentalcare_app")
    try:

        async def visible(claims: Claims, named: uuid.UUID | None) -> set[uuid.UUID]:
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.role', $1, true), set_config('app.user_id', $2, true),"
                    " set_config('app.chat_session', $3, true)",
                    claims.role,
                    str(claims.user_id or ""),
                    str(named or ""),
                )
                return {r["id"] for r in await conn.fetch("SELECT id FROM chat_sessions")}

        patient = Claims("patient", user_id=chat_clinic.patient["id"])
        assert await visible(Claims("anonymous"), None) == set()
        assert await visible(Claims("anonymous"), guest) == {guest}
        assert await visible(Claims("anonymous"), mine) == set()
        assert await visible(Claims("patient", user_id=uuid.uuid4()), mine) == set()
        assert await visible(patient, mine) == {mine}
        assert await visible(Claims("admin"), None) == set()
        with_user_id = await conn.fetchval(
            "SELECT has_column_privilege('dentalcare_app', 'chat_sessions', 'user_id', 'UPDATE')"
        )
        assert with_user_id is False
    finally:
        await conn.close()


async def test_transcript_is_capped(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = await _session(chat_http)
    monkeypatch.setattr(service, "MAX_MESSAGES", 6)  # the server runs in this process
    for _ in range(5):
        await _say(chat_http, session, "help")
    stored = await chat_clinic.conn.fetchval(
        "SELECT jsonb_array_length(messages) FROM chat_sessions WHERE id = $1", uuid.UUID(session)
    )
    assert stored == 6


async def test_emergency_never_books(chat_http: httpx.AsyncClient, chat_clinic: ChatClinic) -> None:
    session = await _session(chat_http)
    first = await _say(chat_http, session, "my face is swollen up to my eye and I can't swallow")
    assert first["state"]["stage"] == "emergency"
    assert first["state"]["collected"]["urgency"] == "emergency"
    assert all(not m["quick_replies"] for m in first["messages"])
    for text in ("book me in anyway", "anyone tomorrow", "1", DETAILS, "yes"):
        assert (await _say(chat_http, session, text))["appointment"] is None
    assert await chat_clinic.conn.fetchval("SELECT count(*) FROM appointments") == 0


async def test_questions_are_answered_from_the_settings_and_are_not_the_reason(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic, chat_server: RunningServer
) -> None:
    settings = chat_server.app.state.settings
    session = await _session(chat_http)
    price = await _say(chat_http, session, "how much does a filling cost?")
    said = " ".join(m["text"] for m in price["messages"])
    # the database clinic publishes no prices yet: the patient is sent to the clinic
    assert f"call {settings.clinic_name}" in said and "60 minutes" in said
    assert price["state"]["stage"] == "complaint"
    assert price["state"]["collected"]["complaint"] is None
    booked_for = await _say(chat_http, session, "ok book me in for that")
    assert booked_for["state"]["collected"]["treatment"] == "Filling"
    assert booked_for["state"]["stage"] == "preference"


async def test_an_emergency_told_mid_booking_stops_it_over_http(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    await _say(chat_http, session, "I need a check-up")
    offer = await _say(chat_http, session, "anyone, next week")
    assert offer["state"]["collected"]["offered"]
    stopped = await _say(chat_http, session, "wait my face is swelling up to my eye")
    assert stopped["state"]["stage"] == "emergency"
    assert stopped["state"]["collected"]["offered"] == []
    assert "999" in stopped["messages"][-1]["text"]
    still = await _say(chat_http, session, f"{_offer(offer)}")
    assert still["state"]["stage"] == "emergency" and still["appointment"] is None
    count = await chat_clinic.conn.fetchval("SELECT count(*) FROM appointments")
    assert count == 0
