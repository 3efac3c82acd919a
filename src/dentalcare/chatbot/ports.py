"""The clinic as the booking assistant sees it: value types and the `ClinicPort` protocol.

The dialogue talks to the clinic only through `ClinicPort`, so it can run against the
real services (`chatbot.clinic.ServiceClinic`) or an in-memory clinic
(`chatbot.memory.MemoryClinic`) in tests and the evaluation, and so every booking rule
stays in the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Protocol
from uuid import UUID

from dentalcare.jsonshape import hh_mm


@dataclass(frozen=True, slots=True)
class DentistInfo:
    """A dentist in the directory."""

    id: UUID
    name: str
    specialization: str
    # The dentist's IANA time zone (None: the clinic's).
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class OfferedSlot:
    """A free slot: `date` and `time` in the dentist's own time zone (`zone`; None: the
    clinic's), `starts_at` aware."""

    dentist_id: UUID
    dentist_name: str
    date: date
    time: time
    starts_at: datetime
    zone: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the slot: dentist, date and time as text."""
        return (str(self.dentist_id), self.date.isoformat(), hh_mm(self.time) or "")

    def to_json(self) -> dict[str, Any]:
        """The slot as JSON, for the session state."""
        out = {
            "dentist_id": str(self.dentist_id),
            "dentist_name": self.dentist_name,
            "date": self.date.isoformat(),
            "time": hh_mm(self.time),
            "starts_at": self.starts_at.isoformat(),
        }
        if self.zone:
            out["zone"] = self.zone
        return out

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> OfferedSlot:
        """The slot from its JSON form."""
        return cls(
            dentist_id=UUID(value["dentist_id"]),
            dentist_name=value["dentist_name"],
            date=date.fromisoformat(value["date"]),
            time=time.fromisoformat(value["time"]),
            starts_at=datetime.fromisoformat(value["starts_at"]),
            zone=value.get("zone"),
        )


@dataclass(frozen=True, slots=True)
class HeldSlot:
    """A hold the clinic keeps for the conversation: which slot (`slot_key`, as
    `OfferedSlot.key` joined by "|") for which treatment kind, until when, and for a guest
    the hold's token. Kept in the stored state only: never shown to the patient."""

    hold_id: str
    slot_key: str
    expires_at: datetime
    treatment: str | None = None
    token: str | None = None

    def keeps(self, slot: OfferedSlot, *, treatment: str | None, now: datetime) -> bool:
        """Whether this hold still keeps `slot` for `treatment` at `now`."""
        return (
            self.slot_key == "|".join(slot.key)
            and self.treatment == treatment
            and self.expires_at > now
        )

    def to_json(self) -> dict[str, Any]:
        """The hold as JSON, for the stored state."""
        return {
            "hold_id": self.hold_id,
            "slot_key": self.slot_key,
            "expires_at": self.expires_at.isoformat(),
            "treatment": self.treatment,
            "token": self.token,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> HeldSlot:
        """The hold from its JSON form."""
        return cls(
            hold_id=str(value["hold_id"]),
            slot_key=str(value["slot_key"]),
            expires_at=datetime.fromisoformat(value["expires_at"]),
            treatment=value.get("treatment"),
            token=value.get("token"),
        )


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """Who the appointment is for."""

    name: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class WaitlistRequest:
    """A waitlist entry the conversation asks for: the treatment kind (a treatment type's
    name; None: the clinic's default), the dentist (None: any), the dates (inclusive), the
    times of day ("morning", "afternoon", "evening") and who it is for."""

    treatment_name: str | None
    dentist_id: UUID | None
    earliest: date
    latest: date
    times: tuple[str, ...]
    patient: PatientDetails


@dataclass(frozen=True, slots=True)
class TreatmentFacts:
    """A treatment as the clinic offers it: how long it takes and what it costs (None:
    not published), the price as the clinic writes it ("£45", "from $120")."""

    name: str
    minutes: int | None = None
    price: str | None = None


@dataclass(frozen=True, slots=True)
class ClinicFacts:
    """What the assistant may tell about the clinic (None: not published)."""

    name: str
    phone: str | None = None
    address: str | None = None
    treatments: tuple[TreatmentFacts, ...] = ()

    def treatment(self, name: str | None) -> TreatmentFacts | None:
        """The facts about one treatment, by name."""
        return next((t for t in self.treatments if t.name == name), None)


class ClinicPort(Protocol):
    """Everything the booking assistant may ask of the clinic."""

    async def dentists(self) -> list[DentistInfo]:
        """The active dentists."""
        ...

    async def free_slots(
        self,
        *,
        dentist_ids: Sequence[UUID] | None,
        start: date,
        end: date,
        treatment_name: str | None = None,
        ignore_hold: HeldSlot | None = None,
    ) -> list[OfferedSlot]:
        """Free slots from `start` to `end` (inclusive) of these dentists (None: all) who
        perform the treatment of kind `treatment_name` (None: the clinic's default), each
        of its length, by time (`ignore_hold`: as if the conversation's own hold were not
        there, so its slot counts as free to it)."""
        ...

    async def hold(
        self, *, slot: OfferedSlot, treatment_name: str | None, previous: HeldSlot | None
    ) -> HeldSlot:
        """Hold `slot` for this conversation for the clinic's `hold_minutes` (as the
        logged-in patient, or as a guest with a new token); `previous`, the caller's one
        live hold, is released. Raises `SlotUnavailable` if it is taken or held."""
        ...

    async def release(self, *, hold: HeldSlot) -> None:
        """Give the hold back (nothing happens if it has lapsed or gone already)."""
        ...

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
        """Book `slot` for `treatment_name` (a treatment type's name; None: the clinic's
        default); the appointment JSON. With the conversation's `hold` on it the hold
        becomes the booking; a hold that has lapsed or gone is booked without. Raises
        `SlotUnavailable` if it is not free."""
        ...

    async def join_waitlist(self, *, request: WaitlistRequest) -> dict[str, Any]:
        """Put the patient on the waitlist (as the logged-in patient, or as a guest); the
        entry's JSON. When a matching slot frees up the clinic offers it by e-mail with a
        link to accept. Raises `ValidationError` for details the clinic refuses."""
        ...

    async def find_booking(self, *, reference: str, email: str | None) -> dict[str, Any] | None:
        """The caller's appointment by reference (a guest must give its e-mail), or None."""
        ...

    async def cancel(self, *, booking: dict[str, Any], reason: str) -> dict[str, Any]:
        """Cancel the appointment; the updated appointment JSON."""
        ...

    async def reschedule(self, *, booking: dict[str, Any], slot: OfferedSlot) -> dict[str, Any]:
        """Move the appointment to `slot`; raises `SlotUnavailable` if it is not free."""
        ...

    async def opening_hours(self) -> str:
        """The clinic's opening hours, as a sentence."""
        ...

    async def clinic_facts(self) -> ClinicFacts:
        """The clinic's name, phone, address and treatments (length and price)."""
        ...
