"""The waitlist over real HTTP on real PostgreSQL: joining, automatic offers of freed
slots in order, accepting (the database decides races), expiry passing an offer on."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

import httpx
import orjson
import pytest

from dentalcare.clock import ManualClock
from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer, serve
from tests.fixtures.waiting import wait_for

STANDARD = "00000000-0000-4000-8000-000000000001"


def _entry(clinic: Clinic, *, dentist: str | None = "x", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "treatment_type_id": STANDARD,
        "earliest_date": clinic.day.isoformat(),
        "latest_date": clinic.day.isoformat(),
        "times": ["morning"],
    }
    if dentist is not None:
        body["dentist_id"] = str(clinic.dentists[dentist]["id"])
    body.update(extra)
    return body


async def _join(clinic: Clinic, who: str = "anon", **extra: Any) -> dict[str, Any]:
    body = _entry(clinic, **extra)
    if who == "anon":
        body.setdefault("patient_name", "Gail Guest")
        body.setdefault("patient_email", "gail.guest@example.com")
        body.setdefault("patient_phone", "+1 555 0142")
    response = await clinic.http.post("/api/waitlist", json=body, headers=clinic.auth(who))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _entries(clinic: Clinic, http: httpx.AsyncClient | None = None) -> dict[str, Any]:
    response = await (http or clinic.http).get("/api/waitlist", headers=clinic.auth("admin"))
    assert response.status_code == 200, response.text
    return {e["id"]: e for e in response.json()}


async def _status_of(clinic: Clinic, entry_id: str) -> str:
    return str((await _entries(clinic))[entry_id]["status"])


async def _offered(clinic: Clinic, entry_id: str) -> dict[str, Any] | None:
    entry = (await _entries(clinic))[entry_id]
    return entry if entry["status"] == "offered" else None


async def test_joining_checks_the_caller_and_the_input(clinic: Clinic) -> None:
    mine = await _join(clinic, "patient_a")
    assert mine["status"] == "waiting" and mine["patient_id"] == str(
        clinic.users["patient_a"]["id"]
    )
    assert mine["patient_email"] == clinic.users["patient_a"]["email"]
    guest = await _join(clinic)
    assert guest["patient_id"] is None and guest["times"] == ["morning"]
    before = await clinic.count("waitlist_entries")
    for body, headers in (
        (_entry(clinic), {}),  # a guest without an e-mail address
        (_entry(clinic, times=["noon"]), clinic.auth("patient_a")),
        (_entry(clinic, latest_date="2020-01-01"), clinic.auth("patient_a")),
        (_entry(clinic, treatment_type_id=str(clinic.dentists["x"]["id"])), clinic.auth("admin")),
    ):
        response = await clinic.http.post("/api/waitlist", json=body, headers=headers)
        assert response.status_code == 422, response.text
    dentist = await clinic.http.post(
        "/api/waitlist", json=_entry(clinic), headers=clinic.auth("dentist_x")
    )
    assert dentist.status_code == 403
    assert await clinic.count("waitlist_entries") == before
    # Patients see their own entries only; staff see all; guests none.
    own = await clinic.http.get("/api/waitlist", headers=clinic.auth("patient_a"))
    assert [e["id"] for e in own.json()] == [mine["id"]]
    assert (await clinic.http.get("/api/waitlist", headers=clinic.auth("patient_b"))).json() == []
    assert len(await _entries(clinic)) == 2
    assert (await clinic.http.get("/api/waitlist")).status_code == 401
    # Only the owner or staff take an entry off.
    other = await clinic.http.delete(
        f"/api/waitlist/{mine['id']}", headers=clinic.auth("patient_b")
    )
    assert other.status_code == 404
    gone = await clinic.http.delete(f"/api/waitlist/{mine['id']}", headers=clinic.auth("patient_a"))
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"


async def test_a_freed_slot_goes_to_the_first_matching_entry_and_nobody_else(
    clinic: Clinic,
) -> None:
    skipped = await _join(clinic, patient_email="cancelled.first@example.com")
    await clinic.http.delete(f"/api/waitlist/{skipped['id']}", headers=clinic.auth("admin"))
    afternoon = await _join(clinic, patient_email="afternoon@example.com", times=["afternoon"])
    other_dentist = await _join(clinic, dentist="y", patient_email="only.y@example.com")
    first = await _join(clinic, "patient_a")
    second = await _join(clinic, dentist=None, patient_email="second@example.com")
    cancelled = await clinic.http.delete(
        f"/api/appointments/{clinic.appointments['a']['id']}", headers=clinic.auth("patient_a")
    )
    assert cancelled.status_code == 200, cancelled.text
    # Within seconds, the first matching entry holds the freed 09:00.
    offered = await wait_for(lambda: _offered(clinic, first["id"]), 10, what="the offer")
    assert offered["offer"]["slot"]["time"] == "09:00"
    assert offered["offer"]["slot"]["dentist_id"] == str(clinic.dentists["x"]["id"])
    # ...and nobody else while the offer lives: not the later entry, not the skipped ones.
    entries = await _entries(clinic)
    assert entries[second["id"]]["status"] == "waiting"
    assert entries[afternoon["id"]]["status"] == "waiting"
    assert entries[other_dentist["id"]]["status"] == "waiting"
    assert entries[skipped["id"]]["status"] == "cancelled"
    assert await clinic.count("waitlist_offers") == 1
    day = clinic.day.isoformat()
    slots = await clinic.http.get(
        f"/api/dentists/{clinic.dentists['x']['id']}/slots", params={"from": day, "to": day}
    )
    assert "09:00" not in [s["time"] for s in slots.json()["slots"]]  # held for the offeree
    taken = await clinic.http.post("/api/appointments", json=clinic.booking(at="09:00"))
    assert taken.status_code == 409
    # The offeree accepts: booked, and the figures count one freed slot refilled.
    # One message, with the one-click link carrying the offer's token.
    [message] = await clinic.conn.fetch(
        "SELECT to_address, subject, context FROM messages WHERE kind = 'waitlist_offer'"
    )
    assert message["to_address"] == clinic.users["patient_a"]["email"]
    assert "09:00" in message["subject"]
    link = _context(message)["links"]["accept"]
    assert f"/waitlist/{first['id']}/accept?token=" in link
    token = link.split("token=", 1)[1]
    wrong = await clinic.http.post(f"/api/waitlist/{second['id']}/accept", json={"token": token})
    assert wrong.status_code == 404  # the token opens its own entry only
    accepted = await clinic.http.post(f"/api/waitlist/{first['id']}/accept", json={"token": token})
    assert accepted.status_code == 201, accepted.text
    booking = accepted.json()
    assert booking["appointment_time"] == "09:00"
    assert booking["patient_id"] == str(clinic.users["patient_a"]["id"])
    assert await _status_of(clinic, first["id"]) == "booked"
    again = await clinic.http.post(f"/api/waitlist/{first['id']}/accept", json={"token": token})
    assert again.status_code == 409 and again.json()["error"] == "HoldExpired"
    stats = await clinic.http.get("/api/dashboard/waitlist", headers=clinic.auth("admin"))
    assert stats.status_code == 200
    figures = stats.json()
    assert figures["freed_slots"] == 1 and figures["refilled"] == 1
    assert figures["median_minutes_to_refill"] is not None
    refused = await clinic.http.get("/api/dashboard/waitlist", headers=clinic.auth("patient_a"))
    assert refused.status_code == 403
    # The booking took the interval back in its transaction: no freed slot recorded.
    assert await clinic.count("freed_slots") == 1


async def test_two_offers_of_one_slot_and_two_accepts_of_one_offer_end_in_one_booking(
    clinic: Clinic,
) -> None:
    a = await _join(clinic, "patient_a", times=["afternoon"])
    b = await _join(clinic, "patient_b", times=["afternoon"])
    slot = {
        "dentist_id": str(clinic.dentists["x"]["id"]),
        "appointment_date": clinic.day.isoformat(),
        "appointment_time": "15:00",
    }
    offers = await asyncio.gather(
        *(
            clinic.http.post(
                f"/api/waitlist/{entry['id']}/offer",
                json={"slot": slot},
                headers=clinic.auth("admin"),
            )
            for entry in (a, b)
        )
    )
    assert sorted(r.status_code for r in offers) == [200, 409], [r.text for r in offers]
    winner = a if offers[0].status_code == 200 else b
    who = "patient_a" if winner is a else "patient_b"
    accepts = await asyncio.gather(
        *(
            clinic.http.post(f"/api/waitlist/{winner['id']}/accept", headers=clinic.auth(who))
            for _ in range(3)
        )
    )
    assert Counter(r.status_code for r in accepts) == {201: 1, 409: 2}
    booked = await clinic.conn.fetchval(
        "SELECT count(*) FROM appointments WHERE appointment_time = '15:00' "
        "AND dentist_id = $1 AND status IN ('pending', 'confirmed')",
        clinic.dentists["x"]["id"],
    )
    assert booked == 1
    # Not the offeree: no accept, no decline; a patient cannot offer.
    loser = b if winner is a else a
    stranger = await clinic.http.post(
        f"/api/waitlist/{winner['id']}/accept", json={"token": "x" * 32}
    )
    assert stranger.status_code == 404
    by_patient = await clinic.http.post(
        f"/api/waitlist/{loser['id']}/offer", json={"slot": slot}, headers=clinic.auth(who)
    )
    assert by_patient.status_code == 403


@pytest.fixture
def clocked(database_url: str, clock: ManualClock) -> Iterator[RunningServer]:
    """A server on the test's clock, offering every 0.2 s."""
    with serve(database_url, clock=clock, waitlist_interval_seconds=0.2) as running:
        yield running


async def test_an_offer_that_lapses_passes_to_the_next_entry(
    clinic: Clinic, clocked: RunningServer, clock: ManualClock
) -> None:
    first = await _join(clinic, "patient_a")
    second = await _join(clinic, "patient_b")
    cancelled = await clinic.http.delete(
        f"/api/appointments/{clinic.appointments['a']['id']}", headers=clinic.auth("admin")
    )
    assert cancelled.status_code == 200
    await wait_for(lambda: _offered(clinic, first["id"]), 10, what="the first offer")
    assert await _status_of(clinic, second["id"]) == "waiting"
    clock.advance(timedelta(minutes=31))  # past waitlist_offer_minutes (30)
    async with httpx.AsyncClient(base_url=clocked.base_url, timeout=30) as http:
        moved = await wait_for(lambda: _offered(clinic, second["id"]), 10, what="passed on")
        assert moved["offer"]["slot"]["time"] == "09:00"
        assert await _status_of(clinic, first["id"]) == "waiting"
        late = await http.post(
            f"/api/waitlist/{first['id']}/accept", headers=clinic.auth("patient_a")
        )
        assert late.status_code == 409 and late.json()["error"] == "HoldExpired"
        # The second declines: it waits again, and nobody of this chain is offered twice.
        declined = await http.post(
            f"/api/waitlist/{second['id']}/decline", headers=clinic.auth("patient_b")
        )
        assert declined.status_code == 204
    await wait_for(
        lambda: clinic.conn.fetchval(
            "SELECT count(*) = 0 FROM freed_slots WHERE processed_at IS NULL"
        ),
        10,
        what="the declined slot processed",
    )
    statuses = await clinic.conn.fetch(
        "SELECT status, count(*) FROM waitlist_offers GROUP BY status ORDER BY status"
    )
    assert {r["status"]: r["count"] for r in statuses} == {"declined": 1, "lapsed": 1}
    assert await _status_of(clinic, first["id"]) == "waiting"
    assert await _status_of(clinic, second["id"]) == "waiting"


async def test_a_reschedule_away_frees_the_old_time_for_the_waitlist(clinic: Clinic) -> None:
    waiting = await _join(clinic, "patient_b", times=["morning"])
    moved = await clinic.http.put(
        f"/api/appointments/{clinic.appointments['guest']['id']}",
        json={"appointment_time": "15:00"},
        headers=clinic.auth("admin"),
    )
    assert moved.status_code == 200, moved.text
    offered = await wait_for(lambda: _offered(clinic, waiting["id"]), 10, what="the offer")
    assert offered["offer"]["slot"]["time"] == "10:00"  # the time given up, not the new one
    sources = await clinic.conn.fetch("SELECT source FROM freed_slots")
    assert [r["source"] for r in sources] == ["appointment"]


def _context(message: Any) -> dict[str, Any]:
    """A message's context, whether the connection decodes jsonb or hands back text."""
    value = message["context"]
    return value if isinstance(value, dict) else orjson.loads(value)


async def test_extra_hours_are_offered_to_a_waiting_entry_they_suit(clinic: Clinic) -> None:
    evening = await _join(clinic, "patient_b", times=["evening"])
    morning = await _join(clinic, patient_email="mornings@example.com", times=["morning"])
    # Nothing in the evening yet: the dentist works 09:00-17:00.
    assert await clinic.count("freed_slots") == 0
    added = await clinic.http.post(
        f"/api/availability/{clinic.dentists['x']['id']}/exceptions",
        json={
            "date": clinic.day.isoformat(),
            "start_time": "17:00",
            "end_time": "19:00",
            "is_available": True,
            "reason": "Late clinic",
        },
        headers=clinic.auth("dentist_x"),
    )
    assert added.status_code == 201, added.text
    offered = await wait_for(lambda: _offered(clinic, evening["id"]), 10, what="the offer")
    slot = offered["offer"]["slot"]
    assert slot["dentist_id"] == str(clinic.dentists["x"]["id"])
    assert slot["date"] == clinic.day.isoformat() and slot["time"] >= "17:00"
    # The morning entry is not offered an evening slot, and the dashboard's freed slots
    # still count cancellations only.
    assert await _status_of(clinic, morning["id"]) == "waiting"
    stats = await clinic.http.get("/api/dashboard/waitlist", headers=clinic.auth("admin"))
    assert stats.json()["freed_slots"] == 0
    [message] = await clinic.conn.fetch(
        "SELECT to_address FROM messages WHERE kind = 'waitlist_offer'"
    )
    assert message["to_address"] == clinic.users["patient_b"]["email"]


async def test_longer_weekly_hours_are_offered_to_every_entry_they_suit(clinic: Clinic) -> None:
    first = await _join(clinic, "patient_a", times=["evening"])
    second = await _join(clinic, patient_email="also.evening@example.com", times=["evening"])
    dentist = clinic.dentists["x"]["id"]
    current = await clinic.http.get(f"/api/availability/{dentist}")
    weekly = current.json()["weekly"]
    assert weekly, "the test dentist has weekly hours"
    longer = [{**w, "end_time": "20:00"} for w in weekly]
    saved = await clinic.http.put(
        f"/api/availability/{dentist}", json={"weekly": longer}, headers=clinic.auth("admin")
    )
    assert saved.status_code == 200, saved.text
    one = await wait_for(lambda: _offered(clinic, first["id"]), 10, what="the first offer")
    two = await wait_for(lambda: _offered(clinic, second["id"]), 10, what="the second offer")
    times = {one["offer"]["slot"]["time"], two["offer"]["slot"]["time"]}
    assert len(times) == 2 and all(t >= "17:00" for t in times), times
    # One change of hours, one record for the offerer (the editor saved several rows).
    assert await clinic.count("freed_slots") == 1


async def test_new_hours_with_nobody_waiting_record_nothing(clinic: Clinic) -> None:
    added = await clinic.http.post(
        f"/api/availability/{clinic.dentists['y']['id']}/exceptions",
        json={
            "date": clinic.day.isoformat(),
            "start_time": "17:00",
            "end_time": "18:00",
            "is_available": True,
        },
        headers=clinic.auth("admin"),
    )
    assert added.status_code == 201, added.text
    assert await clinic.count("freed_slots") == 0


@pytest.mark.parametrize(
    ("zone", "hour", "local_shift"),
    [("America/Los_Angeles", 2, -1), ("Pacific/Auckland", 20, 1)],
    ids=["behind-utc", "ahead-of-utc"],
)
async def test_today_is_the_clinics_date_not_utcs(
    clinic: Clinic, database_url: str, zone: str, hour: int, local_shift: int
) -> None:
    """At 02:00 UTC it is still yesterday evening in Los Angeles, and at 20:00 UTC it is
    already tomorrow in Auckland: a guest waiting for "today" means the clinic's today."""
    await clinic.conn.execute("UPDATE clinic_settings SET timezone = $1", zone)
    utc_day = datetime.now(UTC).date()
    instant = datetime.combine(utc_day, dtime(hour), tzinfo=UTC)
    local_today = utc_day + timedelta(days=local_shift)
    guest = {
        "treatment_type_id": STANDARD,
        "times": ["evening"],
        "patient_name": "Gail Guest",
        "patient_email": "gail.guest@example.com",
        "patient_phone": "+1 555 0142",
    }
    with serve(database_url, clock=ManualClock(instant)) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            on = local_today.isoformat()
            today = {"earliest_date": on, "latest_date": on}
            joined = await http.post("/api/waitlist", json={**guest, **today})
            assert joined.status_code == 201, joined.text
            assert joined.json()["earliest_date"] == local_today.isoformat()
            yesterday = local_today - timedelta(days=1)
            over = {"earliest_date": yesterday.isoformat(), "latest_date": yesterday.isoformat()}
            refused = await http.post("/api/waitlist", json={**guest, **over})
            assert refused.status_code == 422, refused.text
            # A range from the clinic's yesterday on starts at its today.
            across = {**over, "latest_date": (local_today + timedelta(days=3)).isoformat()}
            clamped = await http.post("/api/waitlist", json={**guest, **across})
            assert clamped.status_code == 201, clamped.text
            assert clamped.json()["earliest_date"] == local_today.isoformat()
    assert (
        await clinic.conn.fetchval(
            "SELECT count(*) FROM waitlist_entries WHERE patient_email = 'gail.guest@example.com'"
        )
        == 2
    )
