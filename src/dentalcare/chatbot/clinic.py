"""`ServiceClinic`: the `ClinicPort` on the real services — the same rules as the web form.

Bookings go through `appointments.service.book_appointment` with `source="chatbot"`, so
the slot rules, the no-double-booking constraint, RLS and the realtime events are the
ones every other channel gets. A guest acts with the claims of the booking's e-mail
address; a logged-in patient with their own.

Reads run as short transactions of their own (the turn thinks between them with nothing
held); a booking, cancellation, move, hold or release opens the transaction that the
turn's transcript is then saved in, so the change and the conversation that mentions it
commit together (a turn that loses the race to save takes its hold back with it).

Waitlist entries go through `waitlist.service.join` as the booking page's do (a patient's
as theirs, a guest's with the name, e-mail and phone the chat took), in the turn's
transaction like a booking.

Holds go through `holds.service` as the booking page's do: the logged-in patient's as
theirs (one live hold per patient, so a chat hold replaces one on the booking page, as a
second page would), a guest's with a token that only the stored state keeps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pydantic

from dentalcare.appointments import repository as appointments_repository
from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentCreate, AppointmentUpdate, appointment_json
from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.chatbot import repository
from dentalcare.chatbot.ports import (
    ClinicFacts,
    DentistInfo,
    HeldSlot,
    OfferedSlot,
    PatientDetails,
    TreatmentFacts,
    WaitlistRequest,
)
from dentalcare.chatbot.treatments import KINDS, clinic_type
from dentalcare.clinic import service as clinic_settings
from dentalcare.config import Settings
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.dentists import service as dentists
from dentalcare.errors import HoldExpired, NotFound, ValidationError
from dentalcare.holds import service as holds
from dentalcare.holds.schemas import HoldCreate
from dentalcare.ratelimit import UNLIMITED, Throttle
from dentalcare.treatments import service as treatment_types
from dentalcare.waitlist import service as waitlist
from dentalcare.waitlist.schemas import WaitlistCreate

_REFERENCE = re.compile(r"DC-[0-9A-Z]{6,10}")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _validation_error(exc: pydantic.ValidationError) -> ValidationError:
    errors = exc.errors()
    fields = [
        {"loc": ["body", *(str(p) for p in e.get("loc", ()))], "msg": str(e.get("msg", ""))}
        for e in errors
    ]
    first = fields[0] if fields else {"loc": [], "msg": "invalid"}
    return ValidationError(f"{first['loc'][-1]}: {first['msg']}", fields=fields)


class ServiceClinic:
    """The clinic as the services see it, for one caller (a patient, or None for a guest)."""

    def __init__(
        self,
        *,
        uow: UnitOfWork,
        settings: Settings,
        caller: Principal | None,
        throttle: Throttle = UNLIMITED,
        now: datetime | None = None,
    ) -> None:
        self.uow = uow
        self.settings = settings
        self.caller = caller if caller is not None and caller.role == "patient" else None
        self.throttle = throttle
        self.now = now
        self._directory: list[DentistInfo] | None = None
        # The treatment types a patient may book online (read once per request).
        self._types: list[dict[str, Any]] | None = None
        # Free slots read during this request, until it books or changes something.
        self._slots: dict[tuple[UUID, date, date, UUID | None, UUID | None], list[OfferedSlot]] = {}

    async def dentists(self) -> list[DentistInfo]:
        """The active directory (read once per request)."""
        if self._directory is None:
            async with self.uow.transaction():
                rows = await dentists.list_dentists(uow=self.uow)
            self._directory = [
                DentistInfo(UUID(r["id"]), r["name"], r["specialization"], r.get("timezone"))
                for r in rows
            ]
        return self._directory

    async def treatment_types(self) -> list[dict[str, Any]]:
        """The clinic's treatment types a patient may book online (API.md shape)."""
        if self._types is None:
            async with self.uow.transaction():
                self._types = await treatment_types.list_treatments(uow=self.uow, caller=None)
        return self._types

    async def treatment_type(self, kind: str | None) -> dict[str, Any] | None:
        """The clinic's own treatment type for a kind ("Check-up" may be the clinic's
        "Routine exam"); None: none fits, the clinic's default is booked."""
        types = await self.treatment_types()
        index = clinic_type(kind, [t["name"] for t in types])
        return None if index is None else types[index]

    async def _type_id(self, kind: str | None) -> UUID | None:
        found = await self.treatment_type(kind)
        return UUID(found["id"]) if found is not None else None

    async def free_slots(
        self,
        *,
        dentist_ids: Sequence[UUID] | None,
        start: date,
        end: date,
        treatment_name: str | None = None,
        ignore_hold: HeldSlot | None = None,
    ) -> list[OfferedSlot]:
        """Free slots of the treatment the kind `treatment_name` maps to (the clinic's
        default when none fits) with these dentists (None: all) who perform it, each of the
        treatment's length, from the slot engine, by start time (`ignore_hold`: the
        conversation's own hold does not count as busy)."""
        directory = {d.id: d for d in await self.dentists()}
        wanted = [i for i in (dentist_ids or list(directory)) if i in directory]
        type_id = await self._type_id(treatment_name)
        own = UUID(ignore_hold.hold_id) if ignore_hold is not None else None

        missing = [i for i in wanted if (i, start, end, type_id, own) not in self._slots]
        if missing:
            # One query for every dentist not read yet in this turn.
            async with self.uow.transaction():
                fresh = await availability.free_slots_of_dentists(
                    uow=self.uow,
                    settings=self.settings,
                    dentist_ids=missing,
                    start=start,
                    end=end,
                    now=self.now,
                    treatment_id=type_id,
                    ignore_hold=own,
                )
            for dentist_id in missing:
                dentist = directory[dentist_id]
                self._slots[(dentist_id, start, end, type_id, own)] = [
                    OfferedSlot(
                        dentist_id, dentist.name, s.date, s.time, s.starts_at, dentist.timezone
                    )
                    # Absent: removed since the directory was read, or not a performer.
                    for s in fresh.get(dentist_id, [])
                ]
        found = [self._slots[(i, start, end, type_id, own)] for i in wanted]
        return sorted(
            (s for own in found for s in own), key=lambda s: (s.starts_at, s.dentist_name)
        )

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
        """Book through the booking service (`booking_source` "chatbot"), as the clinic's
        treatment type for the kind `treatment_name` (its default when none fits),
        converting the conversation's `hold` on the slot while it lives."""
        type_id = await self._type_id(treatment_name)
        try:
            request = AppointmentCreate(
                dentist_id=slot.dentist_id,
                appointment_date=slot.date,
                appointment_time=slot.time,
                patient_name=patient.name,
                patient_email=patient.email,
                patient_phone=patient.phone,
                chief_complaint=chief_complaint[:2000] if chief_complaint else None,
                symptoms=symptoms[:4000] if symptoms else None,
                treatment_type_id=type_id,
            )
        except pydantic.ValidationError as exc:
            raise _validation_error(exc) from None
        self._slots.clear()
        if hold is not None:
            try:
                async with self.uow.savepoint():
                    return await appointments.book_appointment(
                        uow=self.uow,
                        settings=self.settings,
                        throttle=self.throttle,
                        caller=self.caller,
                        request=request.model_copy(update={"hold_id": UUID(hold.hold_id)}),
                        source="chatbot",
                        urgency=urgency,
                        now=self.now,
                        hold_token=hold.token,
                    )
            except (HoldExpired, NotFound):
                pass  # lapsed, swept or replaced since: book the slot as any other
        return await appointments.book_appointment(
            uow=self.uow,
            settings=self.settings,
            throttle=self.throttle,
            caller=self.caller,
            request=request,
            source="chatbot",
            urgency=urgency,
            now=self.now,
        )

    async def hold(
        self, *, slot: OfferedSlot, treatment_name: str | None, previous: HeldSlot | None
    ) -> HeldSlot:
        """Hold the slot through the holds service for the clinic's `hold_minutes` (the
        caller's previous hold goes); SlotUnavailable if it is taken or held."""
        request = HoldCreate(
            dentist_id=slot.dentist_id,
            appointment_date=slot.date,
            appointment_time=slot.time,
            treatment_type_id=await self._type_id(treatment_name),
        )
        self._slots.clear()
        # A savepoint: a refused hold leaves the turn's transaction (and the previous
        # hold) as it was.
        async with self.uow.savepoint():
            created = await holds.create_hold(
                uow=self.uow,
                settings=self.settings,
                throttle=self.throttle,
                caller=self.caller,
                request=request,
                token=previous.token if previous is not None else None,
                now=self.now,
            )
        expires_at = created["expires_at"]
        return HeldSlot(
            hold_id=str(created["hold_id"]),
            slot_key="|".join(slot.key),
            expires_at=(
                expires_at
                if isinstance(expires_at, datetime)
                else datetime.fromisoformat(str(expires_at))
            ),
            treatment=treatment_name,
            token=created.get("hold_token"),
        )

    async def release(self, *, hold: HeldSlot) -> None:
        """Give the hold back through the holds service (gone already: nothing to do)."""
        self._slots.clear()
        try:
            async with self.uow.savepoint():
                await holds.release_hold(
                    uow=self.uow, caller=self.caller, hold_id=UUID(hold.hold_id), token=hold.token
                )
        except NotFound:
            pass  # lapsed and swept, replaced by another of the caller's, or booked

    async def join_waitlist(self, *, request: WaitlistRequest) -> dict[str, Any]:
        """Join through the waitlist service, as the clinic's treatment type for the kind
        (its default treatment when none fits, as a booking would be)."""
        type_id = await self._type_id(request.treatment_name)
        if type_id is None:
            async with self.uow.transaction():
                facts = await clinic_settings.clinic_facts(uow=self.uow, settings=self.settings)
            type_id = facts.default_treatment_type_id
        try:
            create = WaitlistCreate.model_validate(
                {
                    "treatment_type_id": type_id,
                    "dentist_id": request.dentist_id,
                    "earliest_date": request.earliest,
                    "latest_date": request.latest,
                    "times": list(request.times),
                    "patient_name": request.patient.name,
                    "patient_email": request.patient.email,
                    "patient_phone": request.patient.phone,
                }
            )
        except pydantic.ValidationError as exc:
            raise _validation_error(exc) from None
        return await waitlist.join(
            uow=self.uow,
            settings=self.settings,
            caller=self.caller,
            request=create,
            now=self.now or datetime.now(UTC),
        )

    async def find_booking(self, *, reference: str, email: str | None) -> dict[str, Any] | None:
        """A guest's booking by reference and e-mail; a patient's own by reference alone."""
        if not _REFERENCE.fullmatch(reference):
            return None
        async with self.uow.transaction() as conn:
            if email is None and self.caller is not None:
                row = await appointments_repository.appointment_by_reference(conn, reference)
                if row is not None:
                    return appointment_json(row)
                email = self.caller.email  # a booking made as a guest with the same address
            if not email:
                return None
            try:
                return await appointments.lookup_by_reference(
                    uow=self.uow, throttle=self.throttle, reference=reference, email=email
                )
            except NotFound:
                return None

    def _acting_for(self, booking: dict[str, Any]) -> tuple[Principal | None, str | None]:
        """(caller, guest e-mail) under which the booking can be changed."""
        if self.caller is not None and booking.get("patient_id"):
            return self.caller, None
        return None, str(booking["patient_email"])

    async def cancel(self, *, booking: dict[str, Any], reason: str) -> dict[str, Any]:
        """Cancel through the appointment service."""
        caller, guest_email = self._acting_for(booking)
        self._slots.clear()
        return await appointments.cancel_appointment(
            uow=self.uow,
            settings=self.settings,
            caller=caller,
            appointment_id=UUID(str(booking["id"])),
            reason=reason,
            guest_email=guest_email,
        )

    async def reschedule(self, *, booking: dict[str, Any], slot: OfferedSlot) -> dict[str, Any]:
        """Move the appointment through the appointment service (same slot rules)."""
        caller, guest_email = self._acting_for(booking)
        self._slots.clear()
        return await appointments.update_appointment(
            uow=self.uow,
            settings=self.settings,
            caller=caller,
            appointment_id=UUID(str(booking["id"])),
            request=AppointmentUpdate(appointment_date=slot.date, appointment_time=slot.time),
            guest_email=guest_email,
            now=self.now,
        )

    async def opening_hours(self) -> str:
        """The hours at least one dentist works, day by day, in words."""
        async with self.uow.transaction() as conn:
            rows = await repository.clinic_hours(conn)
        return describe_hours({r["day_of_week"]: (r["opens"], r["closes"]) for r in rows})

    async def clinic_facts(self) -> ClinicFacts:
        """Name, phone and address from the clinic settings; each kind's length and price
        from the clinic's treatment type for it (the usual length when there is none)."""
        async with self.uow.transaction():
            settings = await clinic_settings.clinic_facts(uow=self.uow, settings=self.settings)
        treatments = []
        for kind in KINDS.values():
            found = await self.treatment_type(kind.name)
            if found is None:
                treatments.append(TreatmentFacts(kind.name, kind.minutes, None))
                continue
            price = found.get("price")
            treatments.append(
                TreatmentFacts(
                    kind.name,
                    found.get("duration_minutes") or kind.minutes,
                    None if price is None else written_price(float(price)),
                )
            )
        return ClinicFacts(
            name=settings.name,
            phone=settings.phone or None,
            address=settings.address or None,
            treatments=tuple(treatments),
        )


def written_price(value: float) -> str:
    """A price as a clinic writes it (`120`, `85.50`, `1,200`), as the web pages show it."""
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def facts_from_settings(settings: Settings) -> ClinicFacts:
    """The clinic's facts as the settings give them."""
    # Read from the settings only, until the clinic settings and treatment types have
    # tables (issue 12): Settings has no phone yet, and no prices are published.
    phone = getattr(settings, "clinic_phone", None)
    return ClinicFacts(
        name=settings.clinic_name,
        phone=str(phone) if phone else None,
        address=settings.clinic_address or None,
        treatments=tuple(TreatmentFacts(k.name, k.minutes, None) for k in KINDS.values()),
    )


def describe_hours(hours: dict[int, tuple[Any, Any]]) -> str:
    """E.g. "We're open Mon–Fri 09:00–17:00, Sat 10:00–13:00; closed Sun."."""
    if not hours:
        return "Our opening hours aren't published yet — please call the clinic."
    groups: list[tuple[int, int, str]] = []
    for day in range(7):
        if day not in hours:
            continue
        opens, closes = hours[day]
        span = f"{opens:%H:%M}–{closes:%H:%M}"
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == span:
            groups[-1] = (groups[-1][0], day, span)
        else:
            groups.append((day, day, span))
    parts = [
        (_DAY_NAMES[a] if a == b else f"{_DAY_NAMES[a]}–{_DAY_NAMES[b]}") + f" {span}"
        for a, b, span in groups
    ]
    closed = [_DAY_NAMES[d] for d in range(7) if d not in hours]
    tail = f"; closed {', '.join(closed)}" if closed else ""
    return f"We're open {', '.join(parts)}{tail}. Times can differ per dentist."
