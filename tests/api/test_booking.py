"""Booking: who the booking belongs to, the slot rules, 409 alternatives, and races."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

import httpx
import pytest

from tests.fixtures.clinic import Clinic
from tests.fixtures.rows import make_appointment


async def test_guest_booking_is_pending_manual_and_has_a_reference(clinic: Clinic) -> None:
    body = clinic.booking(
        at="11:30",
        booking_source="chatbot",
        status="confirmed",
        patient_id=str(clinic.users["patient_b"]["id"]),
    )
    response = await clinic.http.post("/api/appointments", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending"
    assert created["booking_source"] == "manual"  # never taken from the body
    assert created["patient_id"] is None
    assert created["dentist_name"] == "Dr Xavier Test"
    assert created["appointment_time"] == "11:30"
    assert created["duration_minutes"] == 30
    assert created["booking_reference"].startswith("DC-")
    lookup = await clinic.http.get(
        "/api/appointments/lookup",
        params={"reference": created["booking_reference"], "email": "JANE.GUEST@example.com"},
    )
    assert lookup.status_code == 200 and lookup.json()["id"] == created["id"]
    wrong = await clinic.http.get(
        "/api/appointments/lookup",
        params={"reference": created["booking_reference"], "email": "other@example.com"},
    )
    assert wrong.status_code == 404


async def test_patient_booking_belongs_to_the_token_and_admin_booking_is_marked_admin(
    clinic: Clinic,
) -> None:
    mine = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="12:00"), headers=clinic.auth("patient_a")
    )
    assert mine.status_code == 201
    assert mine.json()["patient_id"] == str(clinic.users["patient_a"]["id"])
    assert mine.json()["booking_source"] == "manual"
    by_admin = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="12:30"), headers=clinic.auth("admin")
    )
    assert by_admin.status_code == 201 and by_admin.json()["booking_source"] == "admin"


async def test_a_booked_slot_leaves_the_slot_list_and_a_cancelled_one_returns(
    clinic: Clinic,
) -> None:
    day = clinic.day.isoformat()
    path = f"/api/dentists/{clinic.dentists['x']['id']}/slots?from={day}&to={day}"

    def times(response: httpx.Response) -> list[str]:
        return [s["time"] for s in response.json()["slots"]]

    before = times(await clinic.http.get(path))
    assert "09:00" not in before and "10:00" not in before  # the fixture's bookings
    assert "13:00" in before and before == sorted(before)
    booked = await clinic.http.post("/api/appointments", json=clinic.booking(at="13:00"))
    assert "13:00" not in times(await clinic.http.get(path))
    await clinic.http.delete(
        f"/api/appointments/{booked.json()['id']}", headers=clinic.auth("admin")
    )
    assert "13:00" in times(await clinic.http.get(path))


async def test_taken_slot_is_409_with_the_next_free_alternatives(clinic: Clinic) -> None:
    response = await clinic.http.post("/api/appointments", json=clinic.booking(at="09:00"))
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "SlotUnavailable"
    assert "Dr Xavier Test is already booked at 09:00" in body["detail"]
    assert [a["time"] for a in body["alternatives"]] == [
        "09:30",
        "10:30",
        "11:00",
        "11:30",
        "12:00",
    ]
    assert all(a["date"] == clinic.day.isoformat() for a in body["alternatives"])


@pytest.mark.parametrize("round_", range(4))
async def test_fifty_concurrent_bookings_of_one_slot_give_one_201(
    clinic: Clinic, round_: int
) -> None:
    at = f"{14 + round_ // 2:02d}:{30 * (round_ % 2):02d}"
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(
        base_url=str(clinic.http.base_url), limits=limits, timeout=30
    ) as http:
        bodies = [clinic.booking(at=at, patient_email=f"racer{i}@example.com") for i in range(50)]
        responses = await asyncio.gather(*(http.post("/api/appointments", json=b) for b in bodies))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1 and codes.count(409) == 49, codes
    assert (
        await clinic.conn.fetchval(
            "SELECT count(*) FROM appointments WHERE appointment_time = $1::text::time",
            at,
        )
        == 1
    )


async def test_overlapping_reschedules_leave_exactly_one_in_the_slot(clinic: Clinic) -> None:
    for round_ in range(3):
        first = await make_appointment(
            clinic.conn,
            dentist_id=clinic.dentists["x"]["id"],
            on=clinic.day + timedelta(days=1 + round_),
            at=time(9),
        )
        second = await make_appointment(
            clinic.conn,
            dentist_id=clinic.dentists["x"]["id"],
            on=clinic.day + timedelta(days=1 + round_),
            at=time(10),
        )
        target = {
            "appointment_date": (clinic.day + timedelta(days=1 + round_)).isoformat(),
            "appointment_time": "16:00",
        }
        responses = await asyncio.gather(
            clinic.http.put(
                f"/api/appointments/{first['id']}", json=target, headers=clinic.auth("admin")
            ),
            clinic.http.put(
                f"/api/appointments/{second['id']}", json=target, headers=clinic.auth("admin")
            ),
        )
        assert sorted(r.status_code for r in responses) == [200, 409]
        assert (
            await clinic.conn.fetchval(
                """SELECT count(*) FROM appointment_busy
               WHERE appointment_date = $1 AND appointment_time = '16:00'""",
                clinic.day + timedelta(days=1 + round_),
            )
            == 1
        )


async def test_status_machine_and_server_set_timestamps(clinic: Clinic) -> None:
    path = f"/api/appointments/{clinic.appointments['a']['id']}"
    dentist = clinic.auth("dentist_x")
    complete_early = await clinic.http.put(path, json={"status": "completed"}, headers=dentist)
    assert complete_early.status_code == 409
    assert complete_early.json()["error"] == "InvalidTransition"
    confirmed = await clinic.http.put(path, json={"status": "confirmed"}, headers=dentist)
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_at"] is not None
    # A visit that has not begun cannot be completed or missed yet, whatever the page shows.
    for outcome in ("completed", "no_show"):
        too_soon = await clinic.http.put(path, json={"status": outcome}, headers=dentist)
        assert too_soon.status_code == 409, too_soon.text
        assert too_soon.json()["error"] == "InvalidTransition"
        assert "not begun" in too_soon.json()["detail"]
    unchanged = await clinic.http.get(path, headers=dentist)
    assert unchanged.json()["status"] == "confirmed" and unchanged.json()["completed_at"] is None
    await clinic.conn.execute(
        "UPDATE appointments SET appointment_date = current_date - 1 WHERE id = $1",
        clinic.appointments["a"]["id"],
    )
    done = await clinic.http.put(path, json={"status": "completed"}, headers=dentist)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["completed_at"] is not None
    for change in ({"status": "cancelled"}, {"status": "no_show"}):
        refused = await clinic.http.put(path, json=change, headers=clinic.auth("admin"))
        assert refused.status_code == 409
    cancel = await clinic.http.delete(path, headers=clinic.auth("patient_a"))
    assert cancel.status_code == 409
    move = await clinic.http.put(
        path, json={"appointment_time": "15:00"}, headers=clinic.auth("patient_a")
    )
    assert move.status_code == 409


async def test_cancelling_keeps_the_row_and_is_idempotent(clinic: Clinic) -> None:
    path = f"/api/appointments/{clinic.appointments['a']['id']}"
    first = await clinic.http.delete(path, headers=clinic.auth("patient_a"))
    assert first.status_code == 200
    assert first.json()["status"] == "cancelled" and first.json()["cancelled_at"]
    again = await clinic.http.delete(path, headers=clinic.auth("patient_a"))
    assert again.status_code == 200 and again.json() == first.json()
    assert (await clinic.http.get(path, headers=clinic.auth("patient_a"))).status_code == 200


async def test_reschedule_moves_the_slot(clinic: Clinic) -> None:
    path = f"/api/appointments/{clinic.appointments['a']['id']}"
    moved = await clinic.http.put(
        path, json={"appointment_time": "16:30"}, headers=clinic.auth("patient_a")
    )
    assert moved.status_code == 200
    assert moved.json()["appointment_time"] == "16:30"
    assert moved.json()["starts_at"].startswith(f"{clinic.day.isoformat()}T16:30")
    taken = await clinic.http.put(
        path, json={"appointment_time": "10:00"}, headers=clinic.auth("patient_a")
    )
    assert taken.status_code == 409 and taken.json()["error"] == "SlotUnavailable"


async def test_cursor_pagination_walks_every_appointment_once(clinic: Clinic) -> None:
    for hour in (11, 12, 13, 14):
        await make_appointment(
            clinic.conn, dentist_id=clinic.dentists["x"]["id"], on=clinic.day, at=time(hour)
        )
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await clinic.http.get("/api/appointments", params=params, headers=clinic.auth("admin"))
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    filtered = await clinic.http.get(
        "/api/appointments",
        params={"dentist_id": str(clinic.dentists["y"]["id"]), "status": "pending"},
        headers=clinic.auth("admin"),
    )
    assert [i["id"] for i in filtered.json()["items"]] == [str(clinic.appointments["b"]["id"])]


async def test_ics_export(clinic: Clinic) -> None:
    response = await clinic.http.get(
        f"/api/appointments/{clinic.appointments['a']['id']}/ics",
        headers=clinic.auth("patient_a"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    text = response.text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and "END:VEVENT" in text
    assert f"DTSTART:{clinic.day:%Y%m%d}T090000Z" in text
    assert clinic.appointments["a"]["booking_reference"] in text
