"""An in-memory clinic implementing `ClinicPort`: for unit tests, the evaluation and demos.

Its free slots come from the service's own slot engine (`availability.slots.free_slots`):
weekly hours, date exceptions, the dentist's time zone and slot length, the appointments
already booked and the minimum notice, so a conversation in memory is offered what the
service would offer. It follows the same rules the services enforce where the dialogue
can notice them: only free slots can be booked (else `SlotUnavailable` with
alternatives), a guest finds a booking only with its e-mail address, cancelled
appointments free their slot, waitlist entries need a valid e-mail address (they are
kept in `waitlist`; nothing offers them slots here). Holds behave as the holds
service's: a live hold is busy to everyone but its holder, one per caller (a guest's
token, or the logged-in caller), for `hold_minutes`; booking with it converts it, and a
lapsed one is busy to nobody.
"""

from __future__ import annotations

import itertools
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from dentalcare.availability.slots import Busy, DateException, Window, free_slots
from dentalcare.chatbot.memory_holds import MemoryHold, MemoryHolds
from dentalcare.chatbot.ports import (
    ClinicFacts,
    DentistInfo,
    HeldSlot,
    OfferedSlot,
    PatientDetails,
    TreatmentFacts,
    WaitlistRequest,
)
from dentalcare.chatbot.treatments import KINDS
from dentalcare.errors import SlotUnavailable, ValidationError
from dentalcare.vocabulary import ACTIVE

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DAWN = datetime.min.replace(tzinfo=UTC)  # a `now` before every slot: notice never bites
# The assistant's demo dentists (the tests and the evaluation seed the database with them).
DEMO_DENTISTS = (
    ("Dr Sarah Smith", "General Dentistry"),
    ("Dr Raj Patel", "Orthodontics"),
    ("Dr Li Chen", "Pediatric Dentistry"),
    ("Dr Mark Johnson", "Oral Surgery"),
    ("Dr Ana Garcia", "Endodontics"),
)

# The demo clinic's prices (made up, as the demo clinic is).
DEMO_PRICES = {
    "Check-up": "£30",
    "Scale & polish": "£45",
    "Filling": "from £75",
    "Root canal": "from £350",
    "Extraction": "from £120",
    "Wisdom tooth removal": "from £250",
    "Orthodontic consultation": "£50",
    "Child check-up": "free for under-18s",
    "Emergency visit": "£60",
    "Whitening": "£300",
}
DEMO_FACTS = ClinicFacts(
    name="DentalCareConnect",
    phone="020 7946 0000",
    address="1 Example Street, London",
    treatments=tuple(
        TreatmentFacts(kind.name, kind.minutes, DEMO_PRICES.get(kind.name))
        for kind in KINDS.values()
    ),
)


@dataclass
class MemoryDentist:
    """A dentist, their weekly hours ({weekday: [(start, end), ...]}, 0 = Monday, wall
    clock in their zone), date exceptions (time off or extra hours) and time zone (None:
    the clinic's)."""

    info: DentistInfo
    hours: dict[int, list[tuple[time, time]]]
    slot_minutes: int = 30
    exceptions: list[DateException] = field(default_factory=list)
    timezone: ZoneInfo | None = None


def weekday_hours(
    start: time = time(9), end: time = time(17), *, days: Iterable[int] = range(5)
) -> dict[int, list[tuple[time, time]]]:
    """`start` to `end` on `days` (default Monday to Friday)."""
    return {day: [(start, end)] for day in days}


@dataclass
class MemoryClinic:
    """A clinic held in memory. `now` is injected; `caller_email` stands for a logged-in
    patient; `min_notice` is the service's `min_notice_minutes`; `holds.minutes` the
    clinic's `hold_minutes`."""

    dentists_: list[MemoryDentist]
    now: Callable[[], datetime]
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    caller_email: str | None = None
    min_notice: timedelta = timedelta(0)
    facts: ClinicFacts = DEMO_FACTS
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    holds: MemoryHolds = field(default_factory=MemoryHolds)
    waitlist: list[dict[str, Any]] = field(default_factory=list)
    _references: itertools.count[int] = field(default_factory=lambda: itertools.count(100001))

    async def dentists(self) -> list[DentistInfo]:
        """The dentists (with their own time zone, if they have one)."""
        return [
            replace(d.info, timezone=d.timezone.key) if d.timezone else d.info
            for d in self.dentists_
        ]

    def _dentist(self, dentist_id: UUID) -> MemoryDentist:
        return next(d for d in self.dentists_ if d.info.id == dentist_id)

    def _busy(
        self,
        dentist: MemoryDentist,
        *,
        ignore: str | None = None,
        ignore_holds: frozenset[str] = frozenset(),
    ) -> list[Busy]:
        """The dentist's active appointments (but `ignore`, a booking reference) and live
        holds (but those in `ignore_holds`)."""
        booked = [
            Busy(datetime.fromisoformat(a["starts_at"]), datetime.fromisoformat(a["ends_at"]))
            for reference, a in self.appointments.items()
            if a["dentist_id"] == str(dentist.info.id)
            and a["status"] in ACTIVE
            and reference != ignore
        ]
        length = timedelta(minutes=dentist.slot_minutes)
        held = self.holds.busy(dentist.info.id, length=length, now=self.now(), ignore=ignore_holds)
        return booked + held

    def live_holds(self) -> dict[str, MemoryHold]:
        """The holds that have not lapsed, by id."""
        return self.holds.live(self.now())

    def lapse_holds(self) -> None:
        """Every hold lapses now (as if its holder had taken longer than `hold_minutes`)."""
        self.holds.lapse(self.now())

    def _owner(self, token: str | None) -> str | None:
        """Who holds with `token`: the logged-in caller, or the guest with that token."""
        if self.caller_email:
            return f"user:{self.caller_email.lower()}"
        return f"token:{token}" if token else None

    async def hold(
        self, *, slot: OfferedSlot, treatment_name: str | None, previous: HeldSlot | None
    ) -> HeldSlot:
        """Hold a free slot for `hold_minutes` (the caller's previous hold goes);
        SlotUnavailable, changing nothing, if it is taken or held by someone else."""
        owner = self._owner(previous.token if previous is not None else None)
        own = self.holds.of(owner)
        free = self._free(
            dentist_ids=[slot.dentist_id], start=slot.date, end=slot.date, ignore_holds=own
        )
        if slot.key not in {s.key for s in free}:
            raise await self._unavailable(slot)
        for hold_id in own:  # one live hold per caller
            self.holds.drop(hold_id, owner=owner)
        token = None if self.caller_email else secrets.token_urlsafe(24)
        hold_id, expires_at = self.holds.add(slot, owner=self._owner(token) or "", now=self.now())
        return HeldSlot(hold_id, "|".join(slot.key), expires_at, treatment_name, token)

    async def release(self, *, hold: HeldSlot) -> None:
        """Give the caller's hold back (gone already, or not theirs: nothing happens)."""
        self.holds.drop(hold.hold_id, owner=self._owner(hold.token))

    def _engine(
        self,
        dentist: MemoryDentist,
        start: date,
        end: date,
        *,
        busy: Sequence[Busy],
        now: datetime,
        min_notice: timedelta,
    ) -> list[OfferedSlot]:
        slots = free_slots(
            weekly=[
                Window(day, begin, finish)
                for day, spans in dentist.hours.items()
                for begin, finish in spans
            ],
            exceptions=dentist.exceptions,
            busy=busy,
            timezone=dentist.timezone or self.timezone,
            slot_minutes=dentist.slot_minutes,
            start=start,
            end=end,
            now=now,
            min_notice=min_notice,
        )
        zone = dentist.timezone.key if dentist.timezone else None
        return [
            OfferedSlot(dentist.info.id, dentist.info.name, s.date, s.time, s.starts_at, zone)
            for s in slots
        ]

    def slots_of(self, dentist: MemoryDentist, start: date, end: date) -> list[OfferedSlot]:
        """Every slot of the dentist's hours from start to end, free or not."""
        return self._engine(dentist, start, end, busy=[], now=_DAWN, min_notice=timedelta(0))

    async def free_slots(
        self,
        *,
        dentist_ids: Sequence[UUID] | None,
        start: date,
        end: date,
        treatment_name: str | None = None,
        ignore_hold: HeldSlot | None = None,
    ) -> list[OfferedSlot]:
        """Free slots (past the minimum notice) from the slot engine, ordered by start (one
        length per dentist: the kind `treatment_name` does not change it here), the
        caller's own hold `ignore_hold` not counting as busy."""
        del treatment_name
        own = frozenset({ignore_hold.hold_id}) if ignore_hold is not None else frozenset()
        return self._free(dentist_ids=dentist_ids, start=start, end=end, ignore_holds=own)

    def _free(
        self,
        *,
        dentist_ids: Sequence[UUID] | None,
        start: date,
        end: date,
        ignore: str | None = None,
        ignore_holds: frozenset[str] = frozenset(),
    ) -> list[OfferedSlot]:
        now = self.now()
        out = [
            slot
            for dentist in self.dentists_
            if dentist_ids is None or dentist.info.id in dentist_ids
            for slot in self._engine(
                dentist,
                start,
                end,
                busy=self._busy(dentist, ignore=ignore, ignore_holds=ignore_holds),
                now=now,
                min_notice=self.min_notice,
            )
        ]
        return sorted(out, key=lambda s: (s.starts_at, s.dentist_name))

    def take(self, slot: OfferedSlot, *, email: str = "someone@example.com") -> dict[str, Any]:
        """Someone else books `slot` (to simulate a slot taken mid-conversation); as on the
        booking page, SlotUnavailable if it is booked or held."""
        free = self._free(dentist_ids=[slot.dentist_id], start=slot.date, end=slot.date)
        if slot.key not in {s.key for s in free}:
            raise SlotUnavailable(f"{slot.dentist_name} is not free then.", alternatives=[])
        return self._insert(slot, PatientDetails("Someone Else", email, "+1 555 0100"), {})

    def add_booking(self, slot: OfferedSlot, patient: PatientDetails) -> dict[str, Any]:
        """An existing appointment (made elsewhere) for `patient`."""
        return self._insert(slot, patient, {"booking_source": "manual"})

    def _insert(
        self, slot: OfferedSlot, patient: PatientDetails, extra: dict[str, Any]
    ) -> dict[str, Any]:
        reference = f"DC-MEM{next(self._references)}"
        duration = self._dentist(slot.dentist_id).slot_minutes
        starts = slot.starts_at.astimezone(UTC)  # elapsed time from here, as the database
        appointment = {
            "id": str(uuid.uuid4()),
            "booking_reference": reference,
            "dentist_id": str(slot.dentist_id),
            "dentist_name": slot.dentist_name,
            "patient_name": patient.name,
            "patient_email": patient.email,
            "patient_phone": patient.phone,
            "appointment_date": slot.date.isoformat(),
            "appointment_time": f"{slot.time:%H:%M}",
            "duration_minutes": duration,
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(minutes=duration)).isoformat(),
            "status": "pending",
            "booking_source": "chatbot",
            "chief_complaint": None,
            "symptoms": None,
            "urgency": None,
            "cancellation_reason": None,
            **extra,
        }
        self.appointments[reference] = appointment
        return dict(appointment)

    async def _unavailable(self, slot: OfferedSlot) -> SlotUnavailable:
        later = await self.free_slots(
            dentist_ids=[slot.dentist_id], start=slot.date, end=slot.date + timedelta(days=21)
        )
        options = [
            {"date": s.date.isoformat(), "time": f"{s.time:%H:%M}", "starts_at": s.starts_at}
            for s in later
            if s.starts_at >= slot.starts_at
        ][:5]
        return SlotUnavailable(
            f"{slot.dentist_name} is already booked at {slot.time:%H:%M} on {slot.date}.",
            alternatives=options,
        )

    async def _require_free(self, slot: OfferedSlot, *, ignore: str | None = None) -> None:
        """SlotUnavailable unless `slot` is offered (with booking `ignore` moved out of it)."""
        free = self._free(
            dentist_ids=[slot.dentist_id], start=slot.date, end=slot.date, ignore=ignore
        )
        if slot.key not in {s.key for s in free}:
            raise await self._unavailable(slot)

    async def book(
        self,
        *,
        slot: OfferedSlot,
        patient: PatientDetails,
        chief_complaint: str | None,
        symptoms: str | None,
        urgency: str,
        treatment_name: str | None = None,
        hold: HeldSlot | None = None,
    ) -> dict[str, Any]:
        """Book a free slot (the treatment's name is recorded, its length not applied);
        the caller's live `hold` on it becomes the booking (a lapsed or gone one is booked
        without, like the services)."""
        if not _EMAIL.match(patient.email):
            raise ValidationError(
                "patient_email: value is not a valid email address",
                fields=[{"loc": ["body", "patient_email"], "msg": "not a valid email address"}],
            )
        own = self.live_holds().get(hold.hold_id) if hold is not None else None
        if hold is not None and own is not None and own.owner == self._owner(hold.token):
            if own.slot.key != slot.key:
                raise ValidationError("hold_id: the hold is for another slot.")
            self.holds.drop(hold.hold_id, owner=self._owner(hold.token))  # converted
        await self._require_free(slot)
        return self._insert(
            slot,
            patient,
            {
                "chief_complaint": chief_complaint,
                "symptoms": symptoms,
                "urgency": urgency,
                "treatment_name": treatment_name,
            },
        )

    async def join_waitlist(self, *, request: WaitlistRequest) -> dict[str, Any]:
        """Keep a waiting entry (with the treatment's name, as bookings here do)."""
        if not _EMAIL.match(request.patient.email):
            raise ValidationError(
                "patient_email: value is not a valid email address",
                fields=[{"loc": ["body", "patient_email"], "msg": "not a valid email address"}],
            )
        entry = {
            "id": str(uuid.uuid4()),
            "patient_name": request.patient.name,
            "patient_email": request.patient.email,
            "patient_phone": request.patient.phone,
            "treatment_name": request.treatment_name,
            "dentist_id": str(request.dentist_id) if request.dentist_id else None,
            "earliest_date": request.earliest.isoformat(),
            "latest_date": request.latest.isoformat(),
            "times": list(request.times),
            "status": "waiting",
        }
        self.waitlist.append(entry)
        return dict(entry)

    async def find_booking(self, *, reference: str, email: str | None) -> dict[str, Any] | None:
        """A booking by reference and e-mail (None: the logged-in caller's)."""
        found = self.appointments.get(reference.upper())
        wanted = email or self.caller_email
        if found is None or wanted is None or found["patient_email"].lower() != wanted.lower():
            return None
        return dict(found)

    async def cancel(self, *, booking: dict[str, Any], reason: str) -> dict[str, Any]:
        """Cancel."""
        stored = self.appointments[booking["booking_reference"]]
        stored.update(status="cancelled", cancellation_reason=reason)
        return dict(stored)

    async def reschedule(self, *, booking: dict[str, Any], slot: OfferedSlot) -> dict[str, Any]:
        """Move to a free slot of the same dentist (its own old time does not count as taken)."""
        await self._require_free(slot, ignore=booking["booking_reference"])
        stored = self.appointments[booking["booking_reference"]]
        starts = slot.starts_at.astimezone(UTC)
        stored.update(
            appointment_date=slot.date.isoformat(),
            appointment_time=f"{slot.time:%H:%M}",
            starts_at=starts.isoformat(),
            ends_at=(starts + timedelta(minutes=stored["duration_minutes"])).isoformat(),
        )
        return dict(stored)

    async def opening_hours(self) -> str:
        """A fixed sentence."""
        return "We're open Monday to Friday, 09:00–17:00."

    async def clinic_facts(self) -> ClinicFacts:
        """The clinic's facts as given (the demo clinic's by default)."""
        return self.facts


def demo_clinic(now: Callable[[], datetime], *, days: Iterable[int] = range(5)) -> MemoryClinic:
    """The demo clinic's five dentists, 09:00–17:00 on `days` (default weekdays)."""
    dentists = [
        MemoryDentist(
            DentistInfo(uuid.uuid5(uuid.NAMESPACE_URL, name), name, spec),
            weekday_hours(days=list(days)),
        )
        for name, spec in DEMO_DENTISTS
    ]
    return MemoryClinic(dentists_=dentists, now=now)
