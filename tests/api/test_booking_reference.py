"""A booking reference drawn twice is drawn again; a taken slot is still a 409."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dentalcare.appointments import service
from tests.fixtures.clinic import Clinic


@pytest.fixture
def scripted_references(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The references the next bookings draw, in order (the live server runs in this
    process); then random ones again."""
    queue: list[str] = []
    draw = service.new_reference
    monkeypatch.setattr(service, "new_reference", lambda: queue.pop(0) if queue else draw())
    yield queue


async def test_a_reference_in_use_is_drawn_again_not_refused(
    clinic: Clinic, scripted_references: list[str]
) -> None:
    first = await clinic.http.post("/api/appointments", json=clinic.booking(at="09:30"))
    assert first.status_code == 201, first.text
    taken = first.json()["booking_reference"]
    scripted_references.extend([taken, taken, "DC-NEWREF7"])
    second = await clinic.http.post("/api/appointments", json=clinic.booking(at="10:30"))
    assert second.status_code == 201, second.text
    assert second.json()["booking_reference"] == "DC-NEWREF7"


async def test_the_same_slot_twice_is_409_with_alternatives(clinic: Clinic) -> None:
    first = await clinic.http.post("/api/appointments", json=clinic.booking(at="09:30"))
    assert first.status_code == 201
    again = await clinic.http.post("/api/appointments", json=clinic.booking(at="09:30"))
    assert again.status_code == 409
    assert again.json()["error"] == "SlotUnavailable"
    assert again.json()["alternatives"]  # the transaction was still usable to find them
