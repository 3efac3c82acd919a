"""The in-memory clinic offers the slots the service offers: same engine, same rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from dentalcare.availability.slots import DateException
from dentalcare.chatbot.memory import MemoryClinic, MemoryDentist
from dentalcare.chatbot.ports import DentistInfo, OfferedSlot, PatientDetails
from dentalcare.clock import ManualClock
from tests.fixtures.clinic import working_dentist
from tests.fixtures.rows import add_weekly_hours, make_appointment
from tests.fixtures.servers import serve

NEW_YORK = ZoneInfo("America/New_York")
# Saturday 09:00 in New York; clocks there spring forward at 02:00 on Sunday 9 March 2031.
SATURDAY_MORNING = datetime(2031, 3, 8, 14, 0, tzinfo=UTC)
FIRST, LAST = date(2031, 3, 8), date(2031, 3, 12)
NIGHT, DAY = (time(1), time(4)), (time(9), time(12, 30))
TIME_OFF = DateException(date(2031, 3, 10), time(10), time(11), is_available=False)
EXTRA_HOURS = DateException(date(2031, 3, 11), time(14), time(15, 30), is_available=True)
BOOKED = (date(2031, 3, 11), time(9, 45))
NOTICE = timedelta(minutes=120)
PATIENT = PatientDetails("Pat Test", "pat@example.com", "+1 555 0102")


def offered(slots: list[OfferedSlot]) -> list[tuple[str, str, datetime]]:
    return [(s.date.isoformat(), f"{s.time:%H:%M}", s.starts_at) for s in slots]


def memory_clinic(
    clock: ManualClock, dentist_id: UUID | None = None
) -> tuple[MemoryClinic, MemoryDentist]:
    """The same dentist in memory: both windows, the exceptions, the booking, the notice."""
    dentist = MemoryDentist(
        DentistInfo(dentist_id or uuid4(), "Dr Night Owl", "General Dentistry"),
        hours={day: [NIGHT, DAY] for day in range(7)},
        slot_minutes=45,
        exceptions=[TIME_OFF, EXTRA_HOURS],
        timezone=NEW_YORK,
    )
    clinic = MemoryClinic(dentists_=[dentist], now=clock.now, min_notice=NOTICE)
    on, at = BOOKED
    clinic.add_booking(next(s for s in clinic.slots_of(dentist, on, on) if s.time == at), PATIENT)
    return clinic, dentist


async def test_memory_and_service_offer_the_same_slots(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    """45-minute slots in New York across the spring-forward night, time off, extra hours,
    a booking and two hours' notice: the memory clinic and GET /slots agree exactly."""
    clock = ManualClock(SATURDAY_MORNING)
    row = await working_dentist(
        owner_conn, timezone="America/New_York", slot_minutes=45, start=NIGHT[0], end=NIGHT[1]
    )
    await add_weekly_hours(owner_conn, dentist_ids=[row["id"]], start=DAY[0], end=DAY[1])
    for exception in (TIME_OFF, EXTRA_HOURS):
        await owner_conn.execute(
            """INSERT INTO availability_exceptions (dentist_id, date, start_time, end_time,
                                                    is_available, reason)
               VALUES ($1, $2, $3, $4, $5, 'test')""",
            row["id"],
            exception.date,
            exception.start,
            exception.end,
            exception.is_available,
        )
    await make_appointment(
        owner_conn, dentist_id=row["id"], on=BOOKED[0], at=BOOKED[1], duration_minutes=45
    )
    with serve(database_url, clock=clock, min_notice_minutes=NOTICE.seconds // 60) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            response = await http.get(
                f"/api/dentists/{row['id']}/slots",
                params={"from": FIRST.isoformat(), "to": LAST.isoformat()},
            )
    assert response.status_code == 200, response.text
    from_service = [
        (s["date"], s["time"], datetime.fromisoformat(s["starts_at"]))
        for s in response.json()["slots"]
    ]
    clinic, _ = memory_clinic(clock, row["id"])
    from_memory = offered(await clinic.free_slots(dentist_ids=None, start=FIRST, end=LAST))
    assert from_memory == from_service

    times = {(d, t) for d, t, _ in from_memory}
    assert [t for d, t, _ in from_memory if d == "2031-03-08"] == ["11:15"]  # notice
    assert ("2031-03-09", "02:30") not in times  # the hour that does not exist
    assert ("2031-03-09", "03:15") in times
    assert ("2031-03-10", "09:45") not in times and ("2031-03-10", "11:00") in times
    assert ("2031-03-11", "09:45") not in times and ("2031-03-11", "14:45") in times


async def test_memory_slots_follow_the_clock_and_the_bookings() -> None:
    clock = ManualClock(SATURDAY_MORNING)
    clinic, dentist = memory_clinic(clock)
    saturday = await clinic.free_slots(dentist_ids=None, start=FIRST, end=FIRST)
    assert [f"{s.time:%H:%M}" for s in saturday] == ["11:15"]
    assert all(s.starts_at.tzinfo == NEW_YORK for s in saturday)
    clock.advance(timedelta(hours=2))  # 11:00 in New York: 11:15 is now too soon
    assert await clinic.free_slots(dentist_ids=None, start=FIRST, end=FIRST) == []

    on, at = BOOKED
    [booking] = clinic.appointments.values()
    assert booking["ends_at"] == "2031-03-11T14:30:00+00:00"  # 09:45 EDT plus 45 minutes
    cancelled = await clinic.cancel(booking=dict(booking), reason="test")
    assert cancelled["status"] == "cancelled"
    freed = await clinic.free_slots(dentist_ids=[dentist.info.id], start=on, end=on)
    assert at in {s.time for s in freed}


async def test_a_booking_can_move_within_its_own_time() -> None:
    """Rescheduling does not count the booking's own time as taken (as the service)."""
    clock = ManualClock(SATURDAY_MORNING)
    clinic, dentist = memory_clinic(clock)
    [booking] = clinic.appointments.values()
    dentist.slot_minutes = 30  # the grid moves: 10:00 now overlaps the 09:45-10:30 booking
    on = BOOKED[0]
    ten = next(s for s in clinic.slots_of(dentist, on, on) if s.time == time(10))
    moved = await clinic.reschedule(booking=dict(booking), slot=ten)
    assert (moved["appointment_time"], moved["ends_at"]) == ("10:00", "2031-03-11T14:45:00+00:00")
