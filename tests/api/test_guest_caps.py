"""A guest cannot squat the clinic's slots: upcoming guest bookings are capped per e-mail
address, per phone number and per client address (409 TooManyBookings). Patients who
log in and staff are not held to it; cancelled and past bookings do not count.

The server here allows 2 per e-mail, 2 per phone and 3 per address; connections leave
from different loopback addresses (127.0.0.x) so that the caps can be told apart.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from dentalcare.clock import ManualClock
from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer, serve

PER_EMAIL, PER_PHONE, PER_ADDRESS = 2, 2, 3
SLOTS = [f"{hour:02d}:{minute:02d}" for hour in range(11, 18) for minute in (0, 30)]


@pytest.fixture
def capped_server(database_url: str, clock: ManualClock) -> Iterator[RunningServer]:
    """A server with the abuse limits on and small guest caps (the booking rate high)."""
    with serve(
        database_url,
        clock=clock,
        rate_limits_enabled=True,
        bookings_per_minute=1000,
        guest_active_bookings_per_email=PER_EMAIL,
        guest_active_bookings_per_phone=PER_PHONE,
        guest_active_bookings_per_address=PER_ADDRESS,
    ) as running:
        yield running


@asynccontextmanager
async def client_from(server: RunningServer, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections leave from `address` (any of 127.0.0.0/8)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(
        base_url=server.base_url, transport=transport, timeout=30
    ) as client:
        yield client


class Guest:
    """Bookings by one guest identity on free slots of dentist Y, one after the other."""

    def __init__(self, clinic: Clinic, http: httpx.AsyncClient, *, skip: int = 0) -> None:
        self.clinic, self.http = clinic, http
        self.slots = iter(SLOTS[skip:])

    async def book(self, **person: Any) -> httpx.Response:
        body = self.clinic.booking("y", at=next(self.slots), **person)
        return await self.http.post("/api/appointments", json=body)


def person(n: int, **changes: str) -> dict[str, str]:
    """A distinct guest: their own e-mail and phone unless `changes` says otherwise."""
    values = {"patient_email": f"guest{n}@example.com", "patient_phone": f"+1 555 01{n:02d}"}
    values.update(changes)
    return values


async def test_one_e_mail_address_holds_at_most_the_cap(
    clinic: Clinic, capped_server: RunningServer
) -> None:
    async with client_from(capped_server, "127.0.0.121") as http:
        guest = Guest(clinic, http)
        email = {"patient_email": "squatter@example.com"}
        codes = [(await guest.book(**person(i, **email))).status_code for i in range(PER_EMAIL)]
        assert codes == [201] * PER_EMAIL
        before = await clinic.count()
        refused = await guest.book(**person(9, patient_email="SQUATTER@example.com"))
        assert refused.status_code == 409
        body = refused.json()
        assert body["error"] == "TooManyBookings"
        assert body["detail"].startswith("This e-mail address already has 2 upcoming bookings")
        assert "log in" in body["detail"]
        assert await clinic.count() == before, "nothing written"


async def test_one_phone_number_however_written_holds_at_most_the_cap(
    clinic: Clinic, capped_server: RunningServer
) -> None:
    async with client_from(capped_server, "127.0.0.122") as http:
        guest = Guest(clinic, http)
        spellings = ["+1 555 0142", "+1-555-0142", "(1) 555.0142"]
        codes = [
            (await guest.book(**person(i, patient_phone=phone))).status_code
            for i, phone in enumerate(spellings)
        ]
        assert codes == [201, 201, 409]
        refused = await guest.book(**person(7, patient_phone="15550142"))
        assert refused.json()["detail"].startswith("This phone number already has 2")


async def test_one_address_holds_at_most_the_cap_and_others_go_on(
    clinic: Clinic, capped_server: RunningServer
) -> None:
    """New e-mail and phone every time, one address: the address's own cap stops it."""
    async with client_from(capped_server, "127.0.0.123") as http:
        guest = Guest(clinic, http)
        codes = [(await guest.book(**person(i))).status_code for i in range(PER_ADDRESS + 2)]
        assert codes == [201] * PER_ADDRESS + [409, 409]
        refused = await guest.book(**person(20))
        assert refused.json()["detail"].startswith("Your network address already has 3")
    async with client_from(capped_server, "127.0.0.124") as http:
        other = await Guest(clinic, http, skip=PER_ADDRESS + 3).book(**person(30))
        assert other.status_code == 201, other.text


async def test_cancelled_and_past_bookings_free_the_room(
    clinic: Clinic, capped_server: RunningServer
) -> None:
    async with client_from(capped_server, "127.0.0.125") as http:
        guest = Guest(clinic, http)
        email = {"patient_email": "busy@example.com"}
        first = (await guest.book(**person(1, **email))).json()
        assert (await guest.book(**person(2, **email))).status_code == 201
        assert (await guest.book(**person(3, **email))).status_code == 409
        cancelled = await http.delete(
            f"/api/appointments/{first['id']}", headers=clinic.auth("admin")
        )
        assert cancelled.status_code == 200
        assert (await guest.book(**person(4, **email))).status_code == 201, "room again"
        # A booking that has begun holds nothing any more: move one into the past (as the
        # owner, beside the rules) and the cap counts one fewer.
        assert (await guest.book(**person(5, **email))).status_code == 409
        await clinic.conn.execute(
            """UPDATE appointments SET appointment_date = appointment_date - 30
               WHERE id = (SELECT a.id FROM appointments a
                           JOIN guest_bookings g ON g.appointment_id = a.id
                           WHERE a.patient_email = 'busy@example.com'
                             AND a.status = 'pending' LIMIT 1)"""
        )
        assert (await guest.book(**person(6, **email))).status_code == 201


async def test_patients_and_staff_are_not_held_to_the_guest_caps(
    clinic: Clinic, capped_server: RunningServer
) -> None:
    """A logged-in patient (their account's own rules apply) and an admin booking for
    someone are not guest bookings; nor do they count against a guest's cap."""
    async with client_from(capped_server, "127.0.0.126") as http:
        guest = Guest(clinic, http)
        same = {"patient_email": "family@example.com", "patient_phone": "+1 555 0177"}
        for who in ("patient_a", "patient_a", "patient_a", "admin", "admin"):
            body = clinic.booking("y", at=next(guest.slots), **same)
            response = await http.post("/api/appointments", json=body, headers=clinic.auth(who))
            assert response.status_code == 201, response.text
        codes = [(await guest.book(**same)).status_code for _ in range(PER_EMAIL + 1)]
        assert codes == [201] * PER_EMAIL + [409]


async def test_concurrent_bookings_cannot_slip_past_the_cap_together(
    clinic: Clinic, capped_server: RunningServer
) -> None:
    """Twelve bookings of one e-mail at once, each on a slot of its own: exactly the cap
    gets in (the counts are taken in turn, up to each booking's commit)."""
    async with client_from(capped_server, "127.0.0.127") as http:
        bodies = [
            clinic.booking("y", at=at, **person(i, patient_email="racer@example.com"))
            for i, at in enumerate(SLOTS[:12])
        ]
        responses = await asyncio.gather(
            *(http.post("/api/appointments", json=body) for body in bodies)
        )
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: PER_EMAIL, 409: 12 - PER_EMAIL}, codes
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"TooManyBookings"}


async def test_without_rate_limits_there_is_no_cap(clinic: Clinic) -> None:
    """RATE_LIMITS_ENABLED=false (benchmarks, the default test server) turns the caps off;
    the bookings are still recorded as guest bookings."""
    guest = Guest(clinic, clinic.http)
    codes = [(await guest.book()).status_code for _ in range(6)]
    assert codes == [201] * 6
    recorded = await clinic.conn.fetchval(
        """SELECT count(*) FROM guest_bookings g JOIN appointments a ON a.id = g.appointment_id
           WHERE a.patient_email = 'jane.guest@example.com' AND g.address = '127.0.0.1'"""
    )
    assert recorded == 6
