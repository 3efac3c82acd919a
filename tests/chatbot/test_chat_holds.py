"""The chat holds the slot the patient picks, through the real holds service (HTTP, the
live server, PostgreSQL): nobody else is offered it or can book it while the details
are taken, booking converts the hold, and giving the slot up releases it."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import asyncpg
import httpx

from tests.fixtures.clinic import ChatClinic

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


async def _offered(
    http: httpx.AsyncClient, session: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A check-up with Dr Smith on Monday (one day: no two slots offered at one time)."""
    await _say(http, session, "I need a check-up", headers)
    offer = await _say(http, session, "Dr Smith on Monday", headers)
    assert offer["state"]["stage"] == "slot", offer
    assert len(offer["state"]["collected"]["offered"]) >= 2
    return offer


async def _holds(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, dentist_id, appointment_date, appointment_time, user_id, token_hash,
                  expires_at, created_at
           FROM holds ORDER BY created_at"""
    )


def _is(hold: asyncpg.Record, slot: dict[str, Any]) -> bool:
    return (
        str(hold["dentist_id"]) == slot["dentist_id"]
        and hold["appointment_date"].isoformat() == slot["date"]
        and f"{hold['appointment_time']:%H:%M}" == slot["time"]
    )


async def _free_times(http: httpx.AsyncClient, slot: dict[str, Any]) -> list[str]:
    """What `/slots` offers anyone else that day."""
    response = await http.get(
        f"/api/dentists/{slot['dentist_id']}/slots",
        params={"from": slot["date"], "to": slot["date"]},
    )
    assert response.status_code == 200, response.text
    return [s["time"] for s in response.json()["slots"]]


async def _stored_state(conn: asyncpg.Connection, session: str) -> dict[str, Any]:
    raw = await conn.fetchval("SELECT state FROM chat_sessions WHERE id = $1", uuid.UUID(session))
    state: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else raw
    return state


async def test_picking_a_slot_holds_it_for_the_guest_and_no_one_else_is_offered_it(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    offer = await _offered(chat_http, session)
    assert await _holds(chat_clinic.conn) == []  # offering holds nothing
    picked = await _say(chat_http, session, "1")
    assert picked["state"]["stage"] == "details"
    slot = picked["state"]["collected"]["slot"]
    assert slot == offer["state"]["collected"]["offered"][0]

    (hold,) = await _holds(chat_clinic.conn)
    assert _is(hold, slot)
    assert hold["user_id"] is None and hold["token_hash"] is not None  # a guest's hold
    minutes = (hold["expires_at"] - hold["created_at"]).total_seconds() / 60
    assert 4.9 < minutes <= 5.1  # the clinic's default hold_minutes
    assert slot["time"] not in await _free_times(chat_http, slot)

    # The token lives in the stored state only: never in a reply or the API's state.
    stored = await _stored_state(chat_clinic.conn, session)
    token = stored["internal"]["hold"]["token"]
    assert token and stored["internal"]["hold"]["hold_id"] == str(hold["id"])
    assert token not in json.dumps(picked)
    read = (await chat_http.get(f"/api/chat/sessions/{session}")).json()
    assert token not in json.dumps(read)

    # The conversation's own hold is not "taken by someone else" to it.
    confirm = await _say(chat_http, session, DETAILS)
    assert confirm["state"]["stage"] == "confirm", confirm
    said = " ".join(m["text"] for m in confirm["messages"])
    assert "taken" not in said and "no longer free" not in said


async def test_a_second_conversation_offered_the_held_time_cannot_book_it(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    first, second = await _session(chat_http), await _session(chat_http)
    offer_first = await _offered(chat_http, first)
    offer_second = await _offered(chat_http, second)
    slot = offer_first["state"]["collected"]["offered"][0]
    assert offer_second["state"]["collected"]["offered"][0] == slot  # both were offered it
    await _say(chat_http, first, "1")  # the first conversation holds it

    lost = await _say(chat_http, second, "1")
    assert lost["state"]["stage"] == "slot" and lost["state"]["collected"]["slot"] is None
    assert "taken" in " ".join(m["text"] for m in lost["messages"])
    assert slot not in lost["state"]["collected"]["offered"]
    (hold,) = await _holds(chat_clinic.conn)  # still the first conversation's, alone
    assert _is(hold, slot)

    # Nor does the booking form get it.
    form = await chat_http.post(
        "/api/appointments",
        json={
            "dentist_id": slot["dentist_id"],
            "appointment_date": slot["date"],
            "appointment_time": slot["time"],
            "patient_name": "Someone Else",
            "patient_email": "someone.else@example.com",
            "patient_phone": "+1 555 0100",
        },
    )
    assert form.status_code == 409 and form.json()["error"] == "SlotUnavailable"

    # The second conversation books one of the alternatives; the first still books its own.
    await _say(chat_http, second, "1")
    await _say(chat_http, second, "Sam Roe, sam@example.com, 07700 900456")
    other = await _say(chat_http, second, "yes")
    assert other["appointment"] is not None
    await _say(chat_http, first, DETAILS)
    mine = await _say(chat_http, first, "yes")
    assert mine["appointment"] is not None
    assert mine["appointment"]["appointment_time"] == slot["time"]


async def test_booking_converts_the_hold(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    await _offered(chat_http, session)
    slot = (await _say(chat_http, session, "1"))["state"]["collected"]["slot"]
    (hold,) = await _holds(chat_clinic.conn)
    await _say(chat_http, session, DETAILS)
    done = await _say(chat_http, session, "yes")
    appointment = done["appointment"]
    assert appointment is not None and done["state"]["stage"] == "booked"
    assert appointment["booking_source"] == "chatbot"
    assert appointment["appointment_time"] == slot["time"]
    assert appointment["hold_id"] == str(hold["id"])  # booked with the hold
    assert await _holds(chat_clinic.conn) == []
    booked = await chat_clinic.conn.fetchval(
        """SELECT count(*) FROM appointments
           WHERE dentist_id = $1 AND appointment_date = $2 AND appointment_time = $3""",
        hold["dentist_id"],
        hold["appointment_date"],
        hold["appointment_time"],
    )
    assert booked == 1
    ops = [
        r["op"]
        for r in await chat_clinic.conn.fetch(
            "SELECT op FROM realtime_events WHERE table_name = 'slots' ORDER BY seq"
        )
    ]
    assert ops[-3:] == ["HELD", "RELEASED", "TAKEN"]
    stored = await _stored_state(chat_clinic.conn, session)
    assert stored["internal"]["hold"] is None


async def test_a_lapsed_hold_is_booked_without_it(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    await _offered(chat_http, session)
    slot = (await _say(chat_http, session, "1"))["state"]["collected"]["slot"]
    await _say(chat_http, session, DETAILS)
    # The patient took longer than hold_minutes to say yes; nobody took the time meanwhile.
    await chat_clinic.conn.execute(
        "UPDATE holds SET expires_at = clock_timestamp() - interval '1 s'"
    )
    done = await _say(chat_http, session, "yes")
    assert done["appointment"] is not None, done
    assert done["appointment"]["appointment_time"] == slot["time"]
    assert await _holds(chat_clinic.conn) == []  # swept by the booking


async def test_choosing_another_slot_or_day_releases_the_hold(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    offer = await _offered(chat_http, session)
    first, second = offer["state"]["collected"]["offered"][:2]
    await _say(chat_http, session, "1")
    (held,) = await _holds(chat_clinic.conn)
    assert _is(held, first)

    weekday = f"{date.fromisoformat(second['date']):%A}"
    changed = await _say(chat_http, session, f"actually {weekday} at {second['time']}")
    assert changed["state"]["collected"]["slot"] == second, changed
    (held,) = await _holds(chat_clinic.conn)
    assert _is(held, second)  # the first went back
    assert first["time"] in await _free_times(chat_http, first)

    other_day = await _say(chat_http, session, "hmm, can we do Thursday instead?")
    assert other_day["state"]["collected"]["slot"] is None, other_day
    assert await _holds(chat_clinic.conn) == []
    assert second["time"] in await _free_times(chat_http, second)


async def test_an_emergency_releases_the_hold(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    await _offered(chat_http, session)
    await _say(chat_http, session, "1")
    assert len(await _holds(chat_clinic.conn)) == 1
    stopped = await _say(chat_http, session, "wait my face is swelling up to my eye")
    assert stopped["state"]["stage"] == "emergency"
    assert await _holds(chat_clinic.conn) == []


async def test_stopping_releases_the_hold(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    session = await _session(chat_http)
    await _offered(chat_http, session)
    await _say(chat_http, session, "1")
    assert len(await _holds(chat_clinic.conn)) == 1
    await _say(chat_http, session, "stop")
    assert await _holds(chat_clinic.conn) == []


async def test_a_logged_in_patients_hold_is_theirs(
    chat_http: httpx.AsyncClient, chat_clinic: ChatClinic
) -> None:
    headers = chat_clinic.patient_headers
    session = await _session(chat_http, headers)
    await _offered(chat_http, session, headers)
    await _say(chat_http, session, "1", headers)
    (hold,) = await _holds(chat_clinic.conn)
    assert hold["user_id"] == chat_clinic.patient["id"] and hold["token_hash"] is None
    stored = await _stored_state(chat_clinic.conn, session)
    assert stored["internal"]["hold"]["token"] is None
