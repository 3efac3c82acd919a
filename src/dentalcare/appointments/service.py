"""Appointment rules: book, list, read, change, cancel — the request owns the transaction."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from dentalcare import cursors
from dentalcare.appointments import repository, rules
from dentalcare.appointments.schemas import (
    AppointmentCreate,
    AppointmentUpdate,
    appointment_json,
    guest_appointment_json,
)
from dentalcare.audit import service as audit
from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.clinic import service as clinic
from dentalcare.config import Settings
from dentalcare.db.claims import Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import (
    Forbidden,
    InvalidTransition,
    NotFound,
    PolicyViolation,
    SlotUnavailable,
    TooManyBookings,
    Unauthorized,
    ValidationError,
)
from dentalcare.holds import service as holds
from dentalcare.outbox import bookings as messages
from dentalcare.outbox.enqueue import message_rows
from dentalcare.ratelimit import Throttle
from dentalcare.timezones import zone
from dentalcare.treatments.service import BookedTreatment
from dentalcare.vocabulary import BookingSource, Status, is_staff

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
DEADLOCK_RETRIES = 5
REFERENCE_ATTEMPTS = 5
_TRANSITION_SQLSTATE = "DCT01"

log = logging.getLogger(__name__)


class _NotOffered(Exception):
    """Raised inside a savepoint (rolling it back) when a slot is not free; the 409 and
    its alternatives are computed once the savepoint is gone."""

    def __init__(self, dentist: Any, treatment: BookedTreatment, *, taken: bool) -> None:
        super().__init__("slot not offered")
        self.dentist = dentist
        self.treatment = treatment
        self.taken = taken


def new_reference() -> str:
    """A short, human-friendly booking reference such as DC-7K3P9QX."""
    bits = secrets.randbits(35)  # 7 characters of 5 bits from one draw
    return "DC-" + "".join(REFERENCE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(7))


def _actor(
    caller: Principal | None, guest_email: str | None, owner: Claims | None = None
) -> tuple[str, Claims]:
    """The rules' name for the caller and the claims their transactions run with.

    `owner`: a one-click link from a message acts for the appointment's own patient (or
    guest), under the same rules as they do."""
    if owner is not None:
        return ("patient" if owner.role == "patient" else "guest"), owner
    if caller is not None:
        return caller.role, caller.claims
    if guest_email:
        return "guest", Claims("anonymous", guest_email=guest_email)
    raise Unauthorized("Log in first, or give the booking reference and e-mail address.")


def _describe(name: str, on: date, at: Any) -> str:
    return f"{name} at {at.hour:02d}:{at.minute:02d} on {on.isoformat()}"


async def _slot_unavailable(
    *,
    uow: UnitOfWork,
    settings: Settings,
    dentist: Any,
    treatment: BookedTreatment | None,
    on: date,
    at: Any,
    now: datetime,
    taken: bool,
) -> SlotUnavailable:
    requested = datetime.combine(on, at, zone(dentist["timezone"]))
    options = await availability.alternatives(
        uow=uow,
        settings=settings,
        dentist_id=dentist["id"],
        treatment=treatment,
        after=requested,
        now=now,
    )
    what = _describe(dentist["name"], on, at)
    detail = (
        f"{dentist['name']} is already booked at {at:%H:%M} on {on.isoformat()}."
        if taken
        else f"{what} is not a free slot"
        + (f" for {treatment.name}." if treatment is not None else ".")
    )
    return SlotUnavailable(detail, alternatives=options)


async def _check_slot(
    uow: UnitOfWork,
    *,
    settings: Settings,
    dentist_id: UUID,
    treatment_id: UUID | None,
    staff: bool,
    on: date,
    at: Any,
    now: datetime,
    ignore_appointment: UUID | None = None,
    patient_email: str | None = None,
) -> tuple[asyncpg.Record, BookedTreatment, bool, bool]:
    """(dentist, treatment, slot offered?, slot blocked only by bookings or holds?) for
    a booking of the treatment at (on, at). The dentist's row also holds what a new
    booking's messages need of the clinic and of `patient_email`."""
    try:
        row, inputs, treatment = await availability.snapshot_for_booking(
            await uow.connection(),
            dentist_id=dentist_id,
            treatment_id=treatment_id,
            staff=staff,
            on=on,
            now=now,
            ignore_appointment=ignore_appointment,
            patient_email=patient_email,
        )
    except NotFound as exc:
        raise ValidationError(
            "dentist_id: no such dentist.",
            fields=[{"loc": ["body", "dentist_id"], "msg": "no such dentist"}],
        ) from exc
    kind = availability.engine_treatment(treatment)

    def offers(*, booked: bool) -> bool:
        free = inputs.free(
            row, treatment=kind, settings=settings, start=on, end=on, now=now, booked=booked
        )
        return any(s.time == at for s in free)

    if offers(booked=True):
        return row, treatment, True, False
    return row, treatment, False, offers(booked=False)


async def book_appointment(
    *,
    uow: UnitOfWork,
    settings: Settings,
    throttle: Throttle,
    caller: Principal | None,
    request: AppointmentCreate,
    source: BookingSource | None = None,
    urgency: str | None = None,
    now: datetime | None = None,
    hold_token: str | None = None,
) -> dict[str, Any]:
    """Book a slot that /slots offers (or exactly the caller's hold); exactly one of two
    concurrent bookings of it wins."""
    now = now or datetime.now(UTC)
    if caller is None:
        claims = Claims("anonymous", guest_email=str(request.patient_email))
        patient_id, default_source = None, "manual"
    elif caller.role == "patient":
        claims, patient_id, default_source = caller.claims, caller.user_id, "manual"
    elif is_staff(caller.role):
        claims, patient_id = caller.claims, None
        default_source = "front_desk" if caller.role == "front_desk" else "admin"
    else:
        raise Forbidden("Dentists cannot book appointments; ask the clinic's admin.")
    availability.check_bookable_date(
        request.appointment_date, now=now, loc=("body", "appointment_date")
    )
    throttle.booking(caller.user_id if caller else None)
    values = request.model_dump()
    values.update(
        patient_id=patient_id,
        patient_email=str(request.patient_email),
        booking_source=source or default_source,
        urgency=urgency,
    )
    on, at = request.appointment_date, request.appointment_time
    # A guest's booking is noted with the client address it came from (the caps count it).
    guest_address = throttle.address[:100] if caller is None else None
    staff = caller is not None and is_staff(caller.role)
    preferred_chair: UUID | None = None
    async with uow.acting_as(claims):
        if guest_address is not None and settings.rate_limits_enabled:
            await _check_guest_cap(
                uow=uow, settings=settings, request=request, address=guest_address, now=now
            )
        if request.hold_id is not None:
            hold = await holds.claim_hold(
                uow=uow, caller=caller, hold_id=request.hold_id, token=hold_token, now=now
            )
            _check_matches_hold(request, hold)
            values["treatment_type_id"] = hold["treatment_type_id"]
            preferred_chair = hold["chair_id"]
        return await _insert_booking(
            uow=uow,
            settings=settings,
            values=values,
            on=on,
            at=at,
            now=now,
            guest_address=guest_address,
            staff=staff,
            preferred_chair=preferred_chair,
        )


def _check_matches_hold(request: AppointmentCreate, hold: asyncpg.Record) -> None:
    """A booking with a hold books exactly the held slot (422 when the body says another)."""
    mismatched = [
        name
        for name, given, held in (
            ("dentist_id", request.dentist_id, hold["dentist_id"]),
            ("appointment_date", request.appointment_date, hold["appointment_date"]),
            ("appointment_time", request.appointment_time, hold["appointment_time"]),
            ("treatment_type_id", request.treatment_type_id, hold["treatment_type_id"]),
        )
        if given is not None and given != held
    ]
    if mismatched:
        raise ValidationError(
            f"hold_id: the hold is for another {mismatched[0].replace('_', ' ')}.",
            fields=[{"loc": ["body", m], "msg": "differs from the hold"} for m in mismatched],
        )


async def _check_guest_cap(
    *,
    uow: UnitOfWork,
    settings: Settings,
    request: AppointmentCreate,
    address: str,
    now: datetime,
) -> None:
    """TooManyBookings if this guest already holds as many upcoming bookings as a guest
    may, by e-mail address, phone number or client address (0 in the settings: no cap)."""
    held = await repository.guest_upcoming_bookings(
        await uow.connection(),
        email=str(request.patient_email).lower(),
        phone=request.patient_phone,
        address=address or None,
        now=now,
    )
    for count, cap, what in (
        (held["by_email"], settings.guest_active_bookings_per_email, "This e-mail address"),
        (held["by_phone"], settings.guest_active_bookings_per_phone, "This phone number"),
        (held["by_address"], settings.guest_active_bookings_per_address, "Your network address"),
    ):
        if cap and count >= cap:
            raise TooManyBookings(
                f"{what} already has {count} upcoming bookings, the most a guest may hold. "
                "Cancel one you no longer need, log in to your account, or call the clinic."
            )


async def _insert_booking(
    *,
    uow: UnitOfWork,
    settings: Settings,
    values: dict[str, Any],
    on: date,
    at: Any,
    now: datetime,
    guest_address: str | None,
    staff: bool,
    preferred_chair: UUID | None,
) -> dict[str, Any]:
    dentist, treatment, offered, taken = await _check_slot(
        uow,
        settings=settings,
        dentist_id=values["dentist_id"],
        treatment_id=values.get("treatment_type_id"),
        staff=staff,
        on=on,
        at=at,
        now=now,
        patient_email=values["patient_email"],
    )
    if not offered:
        raise await _slot_unavailable(
            uow=uow,
            settings=settings,
            dentist=dentist,
            treatment=treatment,
            on=on,
            at=at,
            now=now,
            taken=taken,
        )
    values.update(
        treatment_type_id=treatment.id,
        duration_minutes=treatment.duration_minutes,
        buffer_before_minutes=treatment.buffer_before_minutes,
        buffer_after_minutes=treatment.buffer_after_minutes,
        chair_id=preferred_chair,
    )
    warnings = await check_patient_overlap(
        uow=uow,
        settings=settings,
        dentist=dentist,
        treatment=treatment,
        values=values,
        on=on,
        at=at,
        now=now,
    )
    conn = await uow.connection()
    swept = False
    for _ in range(REFERENCE_ATTEMPTS):
        values["id"] = uuid4()
        values["booking_reference"] = new_reference()
        # Two bookings racing for the slot both pass the check above; the insert of the
        # second waits for the first and then inserts nothing (its trigger finds the
        # dentist or every chair taken).
        try:
            # A savepoint: two inserts that each find the other's in-progress row in an
            # exclusion index wait for each other, and PostgreSQL's deadlock detector
            # aborts one; the victim rolls back to here and tries again (it then waits
            # for the winner and finds the interval taken).
            async with uow.attempt() as conn:
                # Bookings for one dentist queue in the insert until the one ahead commits
                # (with chairs, occupy() queues every chair-picking writer): a flood for
                # one dentist otherwise deadlocks in the exclusion index over and over.
                # Its messages go in the same statement, written from the facts the
                # insert will give.
                written = []
                if settings.email_enabled:
                    expected = _expected_facts(values, dentist, treatment, on=on, at=at)
                    written = messages.booking_messages(expected, settings=settings, now=now)
                row = await repository.try_insert_appointment(
                    conn,
                    values,
                    guest_address=guest_address,
                    messages=message_rows(written),
                )
                if row is not None and written and not _as_expected(row, expected):
                    log.warning("booking %s: its messages are written again", row["id"])
                    await messages.rewrite_booked(
                        conn,
                        settings=settings,
                        now=now,
                        facts=_message_facts(row, dentist, treatment),
                    )
        except asyncpg.DeadlockDetectedError:
            continue
        if row is not None:
            booked = {**row, "dentist_name": dentist["name"], "treatment_name": treatment.name}
            return {**appointment_json(booked), **warnings}
        if await repository.reference_taken(conn, values["booking_reference"]):
            # A reference collision (35 random bits): the trigger took the interval
            # before the insert gave up; give it back and draw another.
            await repository.release_interval(conn, values["id"])
            continue
        if not swept and await repository.release_expired_holds(conn, now=now):
            # A hold that lapsed moments ago still held the interval (the sweeper runs
            # every second): it is gone now, try once more.
            swept = True
            continue
        raise await _slot_unavailable(
            uow=uow,
            settings=settings,
            dentist=dentist,
            treatment=treatment,
            on=on,
            at=at,
            now=now,
            taken=True,
        )
    raise RuntimeError("could not book after several attempts")


def _expected_facts(
    values: dict[str, Any],
    dentist: asyncpg.Record,
    treatment: BookedTreatment,
    *,
    on: date,
    at: Any,
) -> dict[str, Any]:
    """`_message_facts` of the row `values` will insert, known before the insert: the
    trigger puts the visit at the dentist's wall-clock (on, at), and a booking starts
    pending."""
    starts_at = datetime.combine(on, at, zone(dentist["timezone"]))
    ends_at = starts_at + timedelta(minutes=values["duration_minutes"])
    row = {**values, "status": "pending", "starts_at": starts_at, "ends_at": ends_at}
    return _message_facts(row, dentist, treatment)


def _as_expected(row: asyncpg.Record, expected: dict[str, Any]) -> bool:
    """Whether the inserted row is what the messages were written from (not if the
    dentist's zone changed between the snapshot and the insert, say)."""
    return all(row[k] == expected[k] for k in ("status", "starts_at", "ends_at"))


def _message_facts(
    row: Mapping[str, Any], dentist: asyncpg.Record, treatment: BookedTreatment
) -> dict[str, Any]:
    """What the booking's messages say (outbox.repository.booking_facts' columns), from
    the row and the booking's snapshot (`dentist`: with the clinic's settings and the
    patient's reminder opt-out)."""
    return {
        **row,
        "dentist_name": dentist["name"],
        "dentist_timezone": dentist["timezone"],
        "treatment_name": treatment.name,
        "name": dentist["clinic_name"],
        "address": dentist["clinic_address"],
        "phone": dentist["clinic_phone"],
        "reminder_hours": dentist["clinic_reminder_hours"],
        "opted_out": dentist["reminders_opted_out"],
    }


async def list_appointments(
    *,
    uow: UnitOfWork,
    status: Status | None,
    dentist_id: UUID | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    cursor: str | None,
    reader: Principal | None = None,
) -> dict[str, Any]:
    """A page of the appointments the unit of work's claims can see, by start time.

    With a clinic `reader` (a dentist or staff, through the API: the page carries the
    patients' medical fields) each appointment on the page gets a `read` entry in the
    audit log, in the same transaction, as `get_appointment` writes for one."""
    after = cursors.decode(cursor) if cursor else None
    audited = reader is not None and (reader.role == "dentist" or is_staff(reader.role))
    if audited:
        await uow.writable()
    conn = await uow.connection()
    rows = await repository.list_appointments(
        conn,
        status=status,
        dentist_id=dentist_id,
        date_from=date_from,
        date_to=date_to,
        after=after,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if audited:
        await audit.record_reads(
            conn,
            entity="appointment",
            entity_ids=[r["id"] for r in rows],
            fields=audit.MEDICAL_FIELDS,
        )
    return {
        "items": [appointment_json(r) for r in rows],
        "next_cursor": cursors.encode(rows[-1]["starts_at"], rows[-1]["id"]) if more else None,
    }


async def get_appointment(
    *, uow: UnitOfWork, appointment_id: UUID, caller: Principal | None = None
) -> dict[str, Any]:
    """One appointment the unit of work's claims can see (404 otherwise, never 403).

    With a clinic `caller` (a dentist or staff) it carries the patient's medical fields,
    and the read is written to the audit log in the same transaction."""
    audited = caller is not None and (caller.role == "dentist" or is_staff(caller.role))
    if audited:
        await uow.writable()
    conn = await uow.connection()
    row = await repository.appointment_by_id(conn, appointment_id)
    if row is None:
        raise NotFound("No such appointment.")
    if audited:
        await audit.record_read(
            conn, entity="appointment", entity_id=appointment_id, fields=audit.MEDICAL_FIELDS
        )
    return appointment_json(row)


async def check_in(
    *, uow: UnitOfWork, appointment_id: UUID, now: datetime | None = None
) -> dict[str, Any]:
    """The patient has arrived: `arrived_at` is set (once; a second check-in keeps it)."""
    conn = await uow.connection()
    row = await repository.appointment_by_id(conn, appointment_id, lock=True)
    if row is None:
        raise NotFound("No such appointment.")
    rules.check_still_open(row["status"], what="checked in")
    if row["arrived_at"] is None:
        await repository.mark_arrived(conn, appointment_id, at=now or datetime.now(UTC))
        row = await repository.appointment_by_id(conn, appointment_id)
        assert row is not None
    return appointment_json(row)


async def lookup_by_reference(
    *, uow: UnitOfWork, throttle: Throttle, reference: str, email: str
) -> dict[str, Any]:
    """A guest's own appointment by reference and e-mail (404 unless both match), without
    its medical fields; each attempt counts against the look-up limits."""
    throttle.lookup(reference)
    async with uow.acting_as(Claims("anonymous", guest_email=email.strip())):
        conn = await uow.connection()
        row = await repository.appointment_by_reference(conn, reference)
    if row is None:
        raise NotFound("No booking matches this reference and e-mail address.")
    return guest_appointment_json(row)


async def update_appointment(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal | None,
    appointment_id: UUID,
    request: AppointmentUpdate,
    guest_email: str | None = None,
    now: datetime | None = None,
    owner: Claims | None = None,
) -> dict[str, Any]:
    """Change status, time (reschedule), notes, payment or phone, by the role rules."""
    now = now or datetime.now(UTC)
    if request.appointment_date is not None:
        availability.check_bookable_date(
            request.appointment_date, now=now, loc=("body", "appointment_date")
        )
    actor, claims = _actor(caller, guest_email, owner)
    for _ in range(DEADLOCK_RETRIES):
        try:
            async with uow.acting_as(claims):
                return await _update_once(
                    uow=uow,
                    settings=settings,
                    actor=actor,
                    appointment_id=appointment_id,
                    request=request,
                    now=now,
                )
        except asyncpg.DeadlockDetectedError:
            continue  # two reschedules into one slot; see book_appointment
    raise RuntimeError("could not update after several attempts")


async def _update_once(
    *,
    uow: UnitOfWork,
    settings: Settings,
    actor: str,
    appointment_id: UUID,
    request: AppointmentUpdate,
    now: datetime,
) -> dict[str, Any]:
    changes = request.model_dump(exclude_unset=True)
    for required in (
        "status",
        "appointment_date",
        "appointment_time",
        "payment_status",
        "patient_phone",
    ):
        if required in changes and changes[required] is None:
            del changes[required]
    target = changes.get("status")
    current: asyncpg.Record | None = None
    dentist: Any = None
    treatment: BookedTreatment | None = None
    try:
        # A savepoint: a refused move leaves the request's transaction usable for the
        # 409's alternatives, and a deadlock victim can try again.
        async with uow.savepoint() as conn:
            current = await repository.appointment_by_id(conn, appointment_id, lock=True)
            if current is None:
                raise NotFound("No such appointment.")
            # Visibility first: someone else's appointment is a 404, never a 403.
            rules.check_permitted(actor, changes, target)
            if target == current["status"]:
                del changes["status"]
                target = None
            if target is not None:
                rules.check_transition(current["status"], target)
                rules.check_begun(target, starts_at=current["starts_at"], now=now)
            elif changes:
                rules.check_still_open(current["status"], what="changed")
            on = changes.get("appointment_date", current["appointment_date"])
            at = changes.get("appointment_time", current["appointment_time"])
            dentist_id = changes.get("dentist_id") or current["dentist_id"]
            moving = (on, at, dentist_id) != (
                current["appointment_date"],
                current["appointment_time"],
                current["dentist_id"],
            )
            if moving or target == "cancelled":
                await _check_notice(
                    uow=uow,
                    settings=settings,
                    actor=actor,
                    starts_at=current["starts_at"],
                    now=now,
                    what="rescheduled" if moving else "cancelled",
                )
            if moving:
                rules.check_still_open(target or current["status"], what="rescheduled")
                dentist, treatment, offered, taken = await _check_slot(
                    uow,
                    settings=settings,
                    dentist_id=dentist_id,
                    treatment_id=current["treatment_type_id"],
                    staff=True,  # a booked treatment stays bookable for its patient
                    on=on,
                    at=at,
                    now=now,
                    ignore_appointment=appointment_id,
                )
                if not offered:
                    raise _NotOffered(dentist, treatment, taken=taken)
                changes.update(
                    appointment_date=on,
                    appointment_time=at,
                    dentist_id=dentist_id,
                    duration_minutes=treatment.duration_minutes,
                    buffer_before_minutes=treatment.buffer_before_minutes,
                    buffer_after_minutes=treatment.buffer_after_minutes,
                )
            else:
                changes.pop("appointment_date", None)
                changes.pop("appointment_time", None)
                changes.pop("dentist_id", None)
            if not changes:
                return appointment_json(current)
            row = await repository.update_appointment(conn, appointment_id, changes)
    except _NotOffered as refused:
        raise await _slot_unavailable(
            uow=uow,
            settings=settings,
            dentist=refused.dentist,
            treatment=refused.treatment,
            on=on,
            at=at,
            now=now,
            taken=refused.taken,
        ) from None
    except asyncpg.ExclusionViolationError:
        assert dentist is not None
        raise await _slot_unavailable(
            uow=uow,
            settings=settings,
            dentist=dentist,
            treatment=treatment,
            on=on,
            at=at,
            now=now,
            taken=True,
        ) from None
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == _TRANSITION_SQLSTATE:
            raise InvalidTransition(str(exc)) from exc
        raise
    assert row is not None and current is not None
    await _tell_patient(
        uow, settings=settings, actor=actor, current=current, row=row, moving=moving, now=now
    )
    name = dentist["name"] if dentist is not None else current["dentist_name"]
    return appointment_json({**row, "dentist_name": name})


def _cancelled_by(actor: str) -> messages.CancelledBy:
    if actor in ("patient", "guest"):
        return "patient"
    return "dentist" if actor == "dentist" else "clinic"


async def _tell_patient(
    uow: UnitOfWork,
    *,
    settings: Settings,
    actor: str,
    current: asyncpg.Record,
    row: asyncpg.Record,
    moving: bool,
    now: datetime,
) -> None:
    """The messages the change causes, in its transaction (outbox.bookings)."""
    conn = await uow.connection()
    if row["status"] == "cancelled" and current["status"] != "cancelled":
        await messages.cancelled(
            conn,
            settings=settings,
            appointment_id=row["id"],
            by=_cancelled_by(actor),
            reason=row["cancellation_reason"],
            now=now,
        )
    elif moving:
        await messages.rescheduled(
            conn,
            settings=settings,
            appointment_id=row["id"],
            previous_starts_at=current["starts_at"],
            previous_dentist_id=current["dentist_id"],
            now=now,
        )
    elif row["status"] == "confirmed" and current["status"] == "pending":
        await messages.confirmed(conn, settings=settings, appointment_id=row["id"], now=now)


async def _check_notice(
    *,
    uow: UnitOfWork,
    settings: Settings,
    actor: str,
    starts_at: datetime,
    now: datetime,
    what: str,
) -> None:
    """PolicyViolation when a patient or guest cancels or moves a visit within the
    clinic's cancellation notice (staff and dentists may)."""
    if actor not in ("patient", "guest"):
        return
    facts = await clinic.clinic_facts(uow=uow, settings=settings)
    hours = facts.cancellation_notice_hours
    if hours and starts_at - now < timedelta(hours=hours):
        call = f"call {facts.name} on {facts.phone}" if facts.phone else f"call {facts.name}"
        raise PolicyViolation(
            f"This appointment starts in less than {hours} hours, so it can no longer be "
            f"{what} online; please {call}."
        )


async def cancel_appointment(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal | None,
    appointment_id: UUID,
    reason: str | None = None,
    guest_email: str | None = None,
    now: datetime | None = None,
    owner: Claims | None = None,
) -> dict[str, Any]:
    """Cancel (the row is kept); cancelling a cancelled appointment changes nothing."""
    cancelled: Status = "cancelled"
    fields: dict[str, Any] = {"status": cancelled}
    if reason:
        fields["cancellation_reason"] = reason
    return await update_appointment(
        uow=uow,
        settings=settings,
        caller=caller,
        appointment_id=appointment_id,
        request=AppointmentUpdate(**fields),
        guest_email=guest_email,
        now=now,
        owner=owner,
    )


# ---------------------------------------------------------------- one patient, one place
#
# A patient cannot be in two chairs at once (issue 18). Kept apart from the booking flow
# above: one call, in _insert_booking, once the slot itself is known to be free. The
# patient's time is the treatment's, without the buffers (those are the chair's).

# Sources whose bookings are made by the clinic's staff: warned, not refused.
STAFF_SOURCES: frozenset[str] = frozenset({"admin", "front_desk"})


async def check_patient_overlap(
    *,
    uow: UnitOfWork,
    settings: Settings,
    dentist: Any,
    treatment: BookedTreatment,
    values: dict[str, Any],
    on: date,
    at: Any,
    now: datetime,
) -> dict[str, Any]:
    """Refuse (409 SlotUnavailable) an online booking that overlaps another active
    appointment of the same patient (the same account, or for a guest the same e-mail
    address) with any dentist; let a staff booking through with `{"warnings": [...]}` to
    add to the 201 body. Nothing to add: `{}`."""
    starts_at = datetime.combine(on, at, zone(dentist["timezone"]))
    ends_at = starts_at + timedelta(minutes=values["duration_minutes"])
    staff = values["booking_source"] in STAFF_SOURCES
    patient_id: UUID | None = values["patient_id"]
    email = str(values["patient_email"])
    # Two online bookings of one patient at once would each miss the other: they check
    # one after the other (staff bookings only warn, and take no lock).
    clashes = await repository.booking_overlaps(
        await uow.connection(),
        starts_at=starts_at,
        ends_at=ends_at,
        patient_id=patient_id,
        email=email,
        guests_only=not staff,
        lock=not staff,
    )
    if not clashes:
        return {}

    def said(clash: asyncpg.Record) -> str:
        on_day = _describe(
            clash["dentist_name"], clash["appointment_date"], clash["appointment_time"]
        )
        return f"{on_day} ({clash['booking_reference']})"

    if staff:
        warnings = [
            {
                "warning": "PatientOverlap",
                "detail": f"{values['patient_name']} already has an appointment then: {said(c)}.",
                "appointment_id": str(c["id"]),
                "booking_reference": c["booking_reference"],
            }
            for c in clashes
        ]
        return {"warnings": warnings}
    first = clashes[0]
    # A guest proved nothing but an e-mail address: say there is a clash, not its details.
    detail = (
        f"You already have an appointment then: {said(first)}. "
        "Choose a time that does not overlap it."
        if patient_id is not None
        else "This e-mail address already has an appointment at that time. "
        "Choose a time that does not overlap it."
    )
    options = await availability.alternatives(
        uow=uow,
        settings=settings,
        dentist_id=dentist["id"],
        treatment=treatment,
        after=first["ends_at"],
        now=now,
    )
    raise SlotUnavailable(detail, alternatives=options)
