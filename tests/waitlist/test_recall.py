"""Recall: completing a visit whose treatment recalls sets the due date; the message goes
out on the due date (not before); booking that treatment clears it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from dentalcare.clock import ManualClock
from dentalcare.waitlist.offers import RecallSender
from tests.fixtures.clinic import Clinic
from tests.fixtures.database import app_pool
from tests.fixtures.rows import make_appointment


async def _recall_treatment(clinic: Clinic) -> dict[str, Any]:
    response = await clinic.http.post(
        "/api/treatment-types",
        json={"name": "Check-up and clean", "duration_minutes": 30, "recall_months": 6},
        headers=clinic.auth("admin"),
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _complete_visit(clinic: Clinic, treatment_id: str, on: date, email: str) -> None:
    row = await make_appointment(
        clinic.conn,
        dentist_id=clinic.dentists["y"]["id"],
        patient_id=clinic.users["patient_a"]["id"],
        on=on,
        at=time(15),
        status="confirmed",
        patient_email=email,
        treatment_type_id=treatment_id,
    )
    await clinic.conn.execute(
        "UPDATE appointments SET status = 'completed' WHERE id = $1", row["id"]
    )


async def _recalls(clinic: Clinic, **params: str) -> list[dict[str, Any]]:
    response = await clinic.http.get("/api/recalls", params=params, headers=clinic.auth("admin"))
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def test_completing_a_recall_treatment_sets_the_due_date_and_booking_clears_it(
    clinic: Clinic,
) -> None:
    check_up = await _recall_treatment(clinic)
    email = clinic.users["patient_a"]["email"]
    visit = date(2026, 3, 31)
    await _complete_visit(clinic, check_up["id"], visit, email)
    # A visit of a treatment without recall_months sets nothing.
    await clinic.conn.execute(
        "UPDATE appointments SET status = 'confirmed' WHERE id = $1", clinic.appointments["b"]["id"]
    )
    await clinic.conn.execute(
        "UPDATE appointments SET status = 'completed' WHERE id = $1", clinic.appointments["b"]["id"]
    )
    [recall] = await _recalls(clinic)
    assert recall["due_date"] == "2026-09-30"  # six months on (end of month kept in range)
    assert recall["last_visit"] == "2026-03-31"
    assert recall["patient_id"] == str(clinic.users["patient_a"]["id"])
    assert recall["contacted_at"] is None and recall["booked_appointment_id"] is None
    assert await _recalls(clinic, due_before="2026-09-30") == []
    assert len(await _recalls(clinic, due_before="2026-10-01")) == 1
    for who in ("patient_a", "dentist_x", "anon"):
        refused = await clinic.http.get("/api/recalls", headers=clinic.auth(who))
        assert refused.status_code in (401, 403), who
    bad = await clinic.http.get(
        "/api/recalls", params={"due_before": "soon"}, headers=clinic.auth("admin")
    )
    assert bad.status_code == 400
    # Booking another treatment does not clear it; booking the check-up does.
    other = await clinic.http.post(
        "/api/appointments", json=clinic.booking(at="13:00", patient_email=email)
    )
    assert other.status_code == 201
    assert (await _recalls(clinic))[0]["booked_appointment_id"] is None
    booked = await clinic.http.post(
        "/api/appointments",
        json=clinic.booking(at="14:00", patient_email=email, treatment_type_id=check_up["id"]),
    )
    assert booked.status_code == 201, booked.text
    assert (await _recalls(clinic))[0]["booked_appointment_id"] == booked.json()["id"]


async def test_the_recall_message_goes_out_on_the_due_date_once(
    clinic: Clinic, database_url: str
) -> None:
    check_up = await _recall_treatment(clinic)
    await _complete_visit(clinic, check_up["id"], date(2026, 3, 30), "recall.me@example.com")
    assert (await _recalls(clinic))[0]["due_date"] == "2026-09-30"
    clock = ManualClock(datetime(2026, 9, 29, 12, tzinfo=UTC))
    async with app_pool(database_url) as db:
        sender = RecallSender(unit_of_work=db.unit_of_work, clock=clock, interval=60)
        assert await sender.run() == 0  # the day before: nothing
        assert (await _recalls(clinic))[0]["contacted_at"] is None
        clock.advance(timedelta(days=1))
        assert await sender.run() == 1
        assert (await _recalls(clinic))[0]["contacted_at"].startswith("2026-09-30")
        assert await sender.run() == 0  # once only
    [message] = await clinic.conn.fetch(
        "SELECT to_address, subject, context FROM messages WHERE kind = 'recall_due'"
    )
    assert message["to_address"] == "recall.me@example.com"
    assert "Check-up and clean" in message["subject"]
    assert _context(message)["links"]["book"].endswith(f"/book/{check_up['id']}")


def _context(message: Any) -> dict[str, Any]:
    """A message's context, whether the connection decodes jsonb or hands back text."""
    value = message["context"]
    return value if isinstance(value, dict) else orjson.loads(value)
