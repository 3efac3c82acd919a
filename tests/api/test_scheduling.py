"""The scheduling model over HTTP: treatment types, chairs, clinic settings and closures,
date-range time off, holds, the cancellation policy, and the races the database decides."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from dentalcare.clock import ManualClock
from tests.fixtures.clinic import Clinic, add_dentist
from tests.fixtures.servers import RunningServer, serve

STANDARD = "00000000-0000-4000-8000-000000000001"


async def _treatment(clinic: Clinic, **fields: Any) -> dict[str, Any]:
    body = {"name": "Root canal", "duration_minutes": 90, **fields}
    response = await clinic.http.post(
        "/api/treatment-types", json=body, headers=clinic.auth("admin")
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _chairs(clinic: Clinic, *names: str) -> list[dict[str, Any]]:
    chairs = []
    for name in names:
        response = await clinic.http.post(
            "/api/chairs", json={"name": name}, headers=clinic.auth("admin")
        )
        assert response.status_code == 201, response.text
        chairs.append(response.json())
    return chairs


async def _times(clinic: Clinic, dentist: str = "x", **params: str) -> list[str]:
    day = clinic.day.isoformat()
    response = await clinic.http.get(
        f"/api/dentists/{clinic.dentists[dentist]['id']}/slots",
        params={"from": day, "to": day, **params},
    )
    assert response.status_code == 200, response.text
    return [s["time"] for s in response.json()["slots"]]


# ------------------------------------------------------------------ treatment types


async def test_admins_manage_treatment_types_and_patients_see_the_bookable_ones(
    clinic: Clinic,
) -> None:
    root = await _treatment(
        clinic,
        buffer_after_minutes=15,
        recall_months=None,
        price=700,
        dentist_ids=[str(clinic.dentists["x"]["id"])],
    )
    assert root["duration_minutes"] == 90 and root["dentist_ids"] == [
        str(clinic.dentists["x"]["id"])
    ]
    hidden = await _treatment(clinic, name="Implant review", bookable_online=False)
    public = {t["name"] for t in (await clinic.http.get("/api/treatment-types")).json()}
    assert "Root canal" in public and "Implant review" not in public
    staff = await clinic.http.get("/api/treatment-types", headers=clinic.auth("admin"))
    assert {"Root canal", "Implant review", "Standard appointment"} <= {
        t["name"] for t in staff.json()
    }
    refused = await clinic.http.post(
        "/api/treatment-types",
        json={"name": "Whitening", "duration_minutes": 60},
        headers=clinic.auth("patient_a"),
    )
    assert refused.status_code == 403
    twice = await clinic.http.post(
        "/api/treatment-types",
        json={"name": "ROOT CANAL", "duration_minutes": 60},
        headers=clinic.auth("admin"),
    )
    assert twice.status_code == 409
    unknown = await clinic.http.post(
        "/api/treatment-types",
        json={"name": "X", "duration_minutes": 60, "dentist_ids": [STANDARD]},
        headers=clinic.auth("admin"),
    )
    assert unknown.status_code == 422
    retired = await clinic.http.delete(
        f"/api/treatment-types/{hidden['id']}", headers=clinic.auth("admin")
    )
    assert retired.status_code == 204
    after = await clinic.http.get("/api/treatment-types", headers=clinic.auth("admin"))
    assert [t["active"] for t in after.json() if t["id"] == hidden["id"]] == [False]
    default = await clinic.http.delete(
        f"/api/treatment-types/{STANDARD}", headers=clinic.auth("admin")
    )
    assert default.status_code == 422  # the clinic's default stays offered


async def test_slots_and_bookings_take_the_treatments_length_and_buffers(clinic: Clinic) -> None:
    root = await _treatment(clinic, buffer_after_minutes=15)
    # X works 08:00-18:00 and is booked at 09:00 and 10:00 (30 minutes each).
    times = await _times(clinic, treatment_type_id=root["id"])
    # 90 minutes + 15 after must end by the next booking: nothing before 10:30.
    assert "08:00" not in times and "10:30" in times
    assert times[-1] == "16:00"  # 16:00-17:30, then 15 minutes to 17:45
    booked = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="10:30", treatment_type_id=root["id"])
    )
    assert booked.status_code == 201, booked.text
    body = booked.json()
    assert body["duration_minutes"] == 90 and body["treatment_name"] == "Root canal"
    assert body["ends_at"].startswith(f"{clinic.day.isoformat()}T12:00")
    # A default (30-minute) visit cannot start inside the visit or its buffer.
    plain = await _times(clinic)
    assert "11:30" not in plain and "12:00" not in plain and "12:30" in plain
    overlap = await clinic.http.post("/api/appointments", json=clinic.booking(at="12:00"))
    assert overlap.status_code == 409 and overlap.json()["error"] == "SlotUnavailable"


async def test_a_treatment_the_dentist_does_not_perform_is_refused(clinic: Clinic) -> None:
    only_y = await _treatment(clinic, dentist_ids=[str(clinic.dentists["y"]["id"])])
    response = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="12:00", treatment_type_id=only_y["id"])
    )
    assert response.status_code == 422
    assert response.json()["fields"][0]["loc"] == ["body", "treatment_type_id"]
    slots = await clinic.http.get(
        f"/api/dentists/{clinic.dentists['x']['id']}/slots",
        params={"treatment_type_id": only_y["id"]},
    )
    assert slots.status_code == 422
    assert await clinic.count() == 3  # nothing written


# ------------------------------------------------------------------ chairs and races


async def test_two_chairs_three_dentists_thirty_bookings_at_once_give_two(
    clinic: Clinic, live_server: RunningServer
) -> None:
    await add_dentist(clinic, "z", live_server.app.state.settings, name="Dr Zed Test")
    chairs = await _chairs(clinic, "Chair A", "Chair B")
    bodies = [
        clinic.booking(
            dentist="xyz"[i % 3],
            at="14:00",
            patient_email=f"race{i}@example.com",
            patient_phone=f"+1 555 01{i:02d}",
        )
        for i in range(30)
    ]
    responses = await asyncio.gather(
        *(
            clinic.http.post("/api/appointments", json=b, headers=clinic.auth("admin"))
            for b in bodies
        )
    )
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 2, 409: 28}, codes
    won = [r.json() for r in responses if r.status_code == 201]
    assert {w["chair_id"] for w in won} == {c["id"] for c in chairs}
    assert len({w["dentist_id"] for w in won}) == 2
    # The third dentist has no 14:00 any more: both chairs are taken.
    free = {d: await _times(clinic, d) for d in "xyz"}
    assert all("14:00" not in times for times in free.values())


async def test_a_dentists_default_chair_is_taken_first(clinic: Clinic) -> None:
    first, second = await _chairs(clinic, "Chair 1", "Chair 2")
    patch = await clinic.http.patch(
        f"/api/dentists/{clinic.dentists['x']['id']}",
        json={"default_chair_id": second["id"]},
        headers=clinic.auth("admin"),
    )
    assert patch.status_code == 200 and patch.json()["default_chair_id"] == second["id"]
    booked = await clinic.http.post("/api/appointments", json=clinic.booking(at="15:00"))
    assert booked.json()["chair_id"] == second["id"] and booked.json()["chair_name"] == "Chair 2"
    other = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking("y", at="15:00", patient_email="other.patient@example.com"),
    )
    assert other.json()["chair_id"] == first["id"]
    bad = await clinic.http.patch(
        f"/api/dentists/{clinic.dentists['x']['id']}",
        json={"default_chair_id": STANDARD},
        headers=clinic.auth("admin"),
    )
    assert bad.status_code == 422


# ------------------------------------------------------------------ clinic and closures


async def test_clinic_settings_and_a_closure_that_lists_the_days_bookings(clinic: Clinic) -> None:
    settings = await clinic.http.get("/api/clinic")
    assert settings.status_code == 200
    assert settings.json()["default_treatment_type_id"] == STANDARD
    assert settings.json()["hold_minutes"] == 5
    changed = await clinic.http.patch(
        "/api/clinic",
        json={"phone": "+44 20 7946 0000", "cancellation_notice_hours": 48},
        headers=clinic.auth("admin"),
    )
    assert changed.status_code == 200 and changed.json()["phone"] == "+44 20 7946 0000"
    refused = await clinic.http.patch(
        "/api/clinic", json={"phone": "1"}, headers=clinic.auth("dentist_x")
    )
    assert refused.status_code == 403
    closed = await clinic.http.post(
        "/api/clinic/closures",
        json={"date": clinic.day.isoformat(), "reason": "Bank holiday"},
        headers=clinic.auth("admin"),
    )
    assert closed.status_code == 201, closed.text
    listed = {a["booking_reference"] for a in closed.json()["appointments_outside_hours"]}
    assert listed == {a["booking_reference"] for a in clinic.appointments.values()}
    assert await _times(clinic) == [] and await _times(clinic, "y") == []
    assert [c["reason"] for c in (await clinic.http.get("/api/clinic")).json()["closures"]] == [
        "Bank holiday"
    ]
    booking = await clinic.http.post("/api/appointments", json=clinic.booking(at="15:00"))
    assert booking.status_code == 409
    reopened = await clinic.http.delete(
        f"/api/clinic/closures/{closed.json()['id']}", headers=clinic.auth("admin")
    )
    assert reopened.status_code == 204 and "15:00" in await _times(clinic)


async def test_time_off_for_a_range_of_dates_is_one_entry(clinic: Clinic) -> None:
    first = clinic.day - timedelta(days=2)
    response = await clinic.http.post(
        f"/api/availability/{clinic.dentists['x']['id']}/exceptions",
        json={"date": first.isoformat(), "until": (clinic.day + timedelta(days=11)).isoformat()},
        headers=clinic.auth("dentist_x"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["until"] == (clinic.day + timedelta(days=11)).isoformat()
    # The bookings the holiday covers are listed (and kept).
    listed = {a["booking_reference"] for a in response.json()["appointments_outside_hours"]}
    assert clinic.appointments["a"]["booking_reference"] in listed
    assert await _times(clinic) == []
    later = (clinic.day + timedelta(days=12)).isoformat()
    after = await clinic.http.get(
        f"/api/dentists/{clinic.dentists['x']['id']}/slots", params={"from": later, "to": later}
    )
    assert after.json()["slots"]


# ------------------------------------------------------------------ holds


async def test_twenty_concurrent_holds_on_one_slot_give_one(clinic: Clinic) -> None:
    body = {
        "dentist_id": str(clinic.dentists["x"]["id"]),
        "appointment_date": clinic.day.isoformat(),
        "appointment_time": "13:00",
    }
    responses = await asyncio.gather(
        *(clinic.http.post("/api/holds", json=body) for _ in range(20))
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    assert all(r.json()["alternatives"] for r in responses if r.status_code == 409)


async def test_a_held_slot_is_nobody_elses_and_its_holder_books_it(clinic: Clinic) -> None:
    body = {
        "dentist_id": str(clinic.dentists["x"]["id"]),
        "appointment_date": clinic.day.isoformat(),
        "appointment_time": "13:00",
    }
    held = await clinic.http.post("/api/holds", json=body)
    assert held.status_code == 201, held.text
    hold = held.json()
    assert hold["hold_token"] and hold["duration_minutes"] == 30
    assert "13:00" not in await _times(clinic)
    other = await clinic.http.post("/api/appointments", json=clinic.booking(at="13:00"))
    assert other.status_code == 409
    stolen = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="13:00", hold_id=hold["hold_id"])
    )
    assert stolen.status_code == 404  # without the token it is not theirs
    mine = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(at="13:00", hold_id=hold["hold_id"]),
        headers={"X-Hold-Token": hold["hold_token"]},
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["appointment_time"] == "13:00"
    ops = [
        r["op"]
        for r in await clinic.conn.fetch(
            "SELECT op FROM realtime_events WHERE table_name = 'slots' ORDER BY seq"
        )
    ]
    assert ops[-3:] == ["HELD", "RELEASED", "TAKEN"]
    assert await clinic.count("holds") == 0


async def test_a_new_hold_releases_the_callers_previous_one(clinic: Clinic) -> None:
    def body(at: str) -> dict[str, str]:
        return {
            "dentist_id": str(clinic.dentists["x"]["id"]),
            "appointment_date": clinic.day.isoformat(),
            "appointment_time": at,
        }

    headers = clinic.auth("patient_a")
    first = await clinic.http.post("/api/holds", json=body("13:00"), headers=headers)
    second = await clinic.http.post("/api/holds", json=body("14:00"), headers=headers)
    assert first.status_code == second.status_code == 201
    times = await _times(clinic)
    assert "13:00" in times and "14:00" not in times
    gone = await clinic.http.delete(f"/api/holds/{second.json()['hold_id']}", headers=headers)
    assert gone.status_code == 204 and "14:00" in await _times(clinic)


@pytest.fixture
def clocked(database_url: str, clock: ManualClock) -> Iterator[RunningServer]:
    """A server on the test's clock whose periodic sweeper waits a minute between sweeps
    (it sweeps once at start-up): what lapses during the test stays in the table."""
    with serve(database_url, clock=clock, hold_sweep_interval_seconds=60) as running:
        yield running


async def test_a_hold_expires_and_its_slot_is_offered_again(
    clinic: Clinic, clocked: RunningServer, clock: ManualClock
) -> None:
    async with httpx.AsyncClient(base_url=clocked.base_url, timeout=30) as http:
        body = {
            "dentist_id": str(clinic.dentists["x"]["id"]),
            "appointment_date": clinic.day.isoformat(),
            "appointment_time": "16:00",
        }
        hold = (await http.post("/api/holds", json=body)).json()
        path = f"/api/dentists/{clinic.dentists['x']['id']}/slots"
        params = {"from": clinic.day.isoformat(), "to": clinic.day.isoformat()}

        async def offered() -> bool:
            slots = (await http.get(path, params=params)).json()["slots"]
            return "16:00" in [s["time"] for s in slots]

        assert not await offered()
        clock.advance(timedelta(minutes=5, seconds=1))
        assert await offered()  # a lapsed hold is not busy, swept or not
        assert await clinic.count("holds") == 1  # not swept yet
        late = await http.post(
            "/api/appointments",
            json=clinic.booking(at="16:00", hold_id=hold["hold_id"]),
            headers={"X-Hold-Token": hold["hold_token"]},
        )
        assert late.status_code == 409 and late.json()["error"] == "HoldExpired"
        # Someone else books the time: the lapsed hold still occupying it is swept on the
        # spot (RELEASED), and the booking takes it.
        other = await http.post(
            "/api/appointments",
            json=clinic.booking(at="16:00", patient_email="someone.else@example.com"),
        )
        assert other.status_code == 201, other.text
        assert await clinic.count("holds") == 0
        ops = [
            r["op"]
            for r in await clinic.conn.fetch(
                "SELECT op FROM realtime_events WHERE table_name = 'slots' ORDER BY seq"
            )
        ]
        assert ops[-3:] == ["HELD", "RELEASED", "TAKEN"]


# ------------------------------------------------------------------ policy and moves


async def test_patients_cannot_cancel_within_the_notice_but_staff_can(clinic: Clinic) -> None:
    await clinic.http.patch(
        "/api/clinic",
        json={"cancellation_notice_hours": 24 * 30, "phone": "+1 212 555 0100"},
        headers=clinic.auth("admin"),
    )
    mine = clinic.appointments["a"]["id"]
    refused = await clinic.http.delete(
        f"/api/appointments/{mine}", headers=clinic.auth("patient_a")
    )
    assert refused.status_code == 409 and refused.json()["error"] == "PolicyViolation"
    assert "+1 212 555 0100" in refused.json()["detail"]
    moved = await clinic.http.put(
        f"/api/appointments/{mine}",
        json={"appointment_time": "15:00"},
        headers=clinic.auth("patient_a"),
    )
    assert moved.status_code == 409 and moved.json()["error"] == "PolicyViolation"
    by_staff = await clinic.http.delete(f"/api/appointments/{mine}", headers=clinic.auth("admin"))
    assert by_staff.status_code == 200 and by_staff.json()["status"] == "cancelled"


async def test_a_reschedule_may_move_to_another_dentist(clinic: Clinic) -> None:
    mine = clinic.appointments["a"]["id"]
    moved = await clinic.http.put(
        f"/api/appointments/{mine}",
        json={"dentist_id": str(clinic.dentists["y"]["id"]), "appointment_time": "15:30"},
        headers=clinic.auth("patient_a"),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["dentist_id"] == str(clinic.dentists["y"]["id"])
    assert moved.json()["dentist_name"] == "Dr Yvonne Test"
    assert "15:30" not in await _times(clinic, "y") and "09:00" in await _times(clinic, "x")
    taken = await clinic.http.put(
        f"/api/appointments/{mine}",
        json={"dentist_id": str(clinic.dentists["x"]["id"]), "appointment_time": "10:00"},
        headers=clinic.auth("patient_a"),
    )
    assert taken.status_code == 409 and taken.json()["error"] == "SlotUnavailable"
