"""Appointment rules: book, list, read, change, cancel — the request owns the transaction."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.appointments import repository, rules
from dentalcare.appointments.schemas import (
    AppointmentCreate,
    AppointmentUpdate,
    appointment_json,
    guest_appointment_json,
)
from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.availability.slots import Slot, is_free
from dentalcare.availability.slots import free_slots as engine_free_slots
from dentalcare.config import Settings
from dentalcare.db.claims import Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import (
    BadRequest,
    Forbidden,
    InvalidTransition,
    NotFound,
    SlotUnavailable,
    TooManyBookings,
    Unauthorized,
    ValidationError,
)
from dentalcare.jsonshape import iso_instant
from dentalcare.ratelimit import Throttle
from dentalcare.timezones import zone
from dentalcare.vocabulary import BookingSource, Status

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
ALTERNATIVES = 5
ALTERNATIVES_HORIZON_DAYS = 21
DEADLOCK_RETRIES = 5
REFERENCE_ATTEMPTS = 5
_TRANSITION_SQLSTATE = "DCT01"


class _NotOffered(Exception):
    """Raised inside a savepoint (rolling it back) when a slot is not free; the 409 and
    its alternatives are computed once the savepoint is gone."""

    def __init__(self, dentist: Any, *, taken: bool) -> None:
        super().__init__("slot not offered")
        self.dentist = dentist
        self.taken = taken


def new_reference() -> str:
    """A short, human-friendly booking reference such as DC-7K3P9QX."""
    bits = secrets.randbits(35)  # 7 characters of 5 bits from one draw
    return "DC-" + "".join(REFERENCE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(7))


def _actor(caller: Principal | None, guest_email: str | None) -> tuple[str, Claims]:
    """The rules' name for the caller and the claims their transactions run with."""
    if caller is not None:
        return caller.role, caller.claims
    if guest_email:
        return "guest", Claims("anonymous", guest_email=guest_email)
    raise Unauthorized("Log in first, or give the booking reference and e-mail address.")


def _describe(name: str, on: date, at: Any) -> str:
    return f"{name} at {at.hour:02d}:{at.minute:02d} on {on.isoformat()}"


async def alternatives(
    *, uow: UnitOfWork, settings: Settings, dentist_id: UUID, after: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The next free slots of the dentist after `after` (up to five)."""
    start_at = max(after, now)
    first = start_at.date() - timedelta(days=1)
    slots: list[Slot] = await availability.free_slots(
        uow=uow,
        settings=settings,
        dentist_id=dentist_id,
        start=first,
        end=first + timedelta(days=ALTERNATIVES_HORIZON_DAYS),
        now=now,
    )
    later = [s for s in slots if s.starts_at >= start_at][:ALTERNATIVES]
    return [
        {
            "date": s.date.isoformat(),
            "time": f"{s.time:%H:%M}",
            "starts_at": iso_instant(s.starts_at),
        }
        for s in later
    ]


async def _slot_unavailable(
    *,
    uow: UnitOfWork,
    settings: Settings,
    dentist: Any,
    on: date,
    at: Any,
    now: datetime,
    taken: bool,
) -> SlotUnavailable:
    requested = datetime.combine(on, at, zone(dentist["timezone"]))
    options = await alternatives(
        uow=uow, settings=settings, dentist_id=dentist["id"], after=requested, now=now
    )
    what = _describe(dentist["name"], on, at)
    detail = (
        f"{dentist['name']} is already booked at {at:%H:%M} on {on.isoformat()}."
        if taken
        else f"{what} is not a free slot."
    )
    return SlotUnavailable(detail, alternatives=options)


async def _check_slot(
    conn: asyncpg.Connection,
    *,
    settings: Settings,
    dentist_id: UUID,
    on: date,
    at: Any,
    now: datetime,
    ignore_appointment: UUID | None = None,
) -> tuple[asyncpg.Record, bool, bool]:
    """(dentist, slot offered?, slot blocked only by a booking?) for (on, at)."""
    try:
        row, weekly, exceptions, busy = await availability._engine_inputs(
            conn, dentist_id=dentist_id, start=on, end=on, ignore_appointment=ignore_appointment
        )
    except NotFound as exc:
        raise ValidationError(
            "dentist_id: no such dentist.",
            fields=[{"loc": ["body", "dentist_id"], "msg": "no such dentist"}],
        ) from exc
    common = {
        "weekly": weekly,
        "exceptions": exceptions,
        "timezone": zone(row["timezone"]),
        "slot_minutes": row["slot_minutes"],
        "now": now,
        "min_notice": timedelta(minutes=settings.min_notice_minutes),
    }
    if is_free(busy=busy, on=on, at=at, **common):
        return row, True, False
    unbooked = engine_free_slots(busy=[], start=on, end=on, **common)
    taken = any(s.time == at for s in unbooked)
    return row, False, taken


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
) -> dict[str, Any]:
    """Book a slot that /slots offers; exactly one of two concurrent bookings of it wins."""
    now = now or datetime.now(UTC)
    if caller is None:
        claims = Claims("anonymous", guest_email=str(request.patient_email))
        patient_id, default_source = None, "manual"
    elif caller.role == "patient":
        claims, patient_id, default_source = caller.claims, caller.user_id, "manual"
    elif caller.role == "admin":
        claims, patient_id, default_source = caller.claims, None, "admin"
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
    async with uow.acting_as(claims):
        if guest_address is not None and settings.rate_limits_enabled:
            await _check_guest_cap(
                uow=uow, settings=settings, request=request, address=guest_address, now=now
            )
        return await _insert_booking(
            uow=uow,
            settings=settings,
            values=values,
            on=on,
            at=at,
            now=now,
            guest_address=guest_address,
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
) -> dict[str, Any]:
    dentist, offered, taken = await _check_slot(
        await uow.connection(),
        settings=settings,
        dentist_id=values["dentist_id"],
        on=on,
        at=at,
        now=now,
    )
    if not offered:
        raise await _slot_unavailable(
            uow=uow, settings=settings, dentist=dentist, on=on, at=at, now=now, taken=taken
        )
    values["duration_minutes"] = dentist["slot_minutes"]
    conn = await uow.connection()
    for _ in range(REFERENCE_ATTEMPTS):
        values["booking_reference"] = new_reference()
        # Two bookings racing for the slot both pass the check above; the insert of the
        # second waits for the first and then inserts nothing (ON CONFLICT DO NOTHING).
        row = await repository.try_insert_appointment(conn, values, guest_address=guest_address)
        if row is not None:
            return appointment_json({**row, "dentist_name": dentist["name"]})
        if await repository.reference_taken(conn, values["booking_reference"]):
            continue  # a reference collision (35 random bits): draw another
        raise await _slot_unavailable(
            uow=uow, settings=settings, dentist=dentist, on=on, at=at, now=now, taken=True
        )
    raise RuntimeError("could not book after several attempts")


def _cursor_encode(row: asyncpg.Record) -> str:
    raw = f"{row['starts_at'].isoformat()}|{row['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        instant, _, ident = raw.partition("|")
        return datetime.fromisoformat(instant), UUID(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The cursor is not one this API handed out.") from exc


async def list_appointments(
    *,
    uow: UnitOfWork,
    status: Status | None,
    dentist_id: UUID | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the appointments the unit of work's claims can see, by start time."""
    after = _cursor_decode(cursor) if cursor else None
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
    return {
        "items": [appointment_json(r) for r in rows],
        "next_cursor": _cursor_encode(rows[-1]) if more else None,
    }


async def get_appointment(*, uow: UnitOfWork, appointment_id: UUID) -> dict[str, Any]:
    """One appointment the unit of work's claims can see (404 otherwise, never 403)."""
    conn = await uow.connection()
    row = await repository.appointment_by_id(conn, appointment_id)
    if row is None:
        raise NotFound("No such appointment.")
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
) -> dict[str, Any]:
    """Change status, time (reschedule), notes, payment or phone, by the role rules."""
    now = now or datetime.now(UTC)
    if request.appointment_date is not None:
        availability.check_bookable_date(
            request.appointment_date, now=now, loc=("body", "appointment_date")
        )
    actor, claims = _actor(caller, guest_email)
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
            moving = (on, at) != (current["appointment_date"], current["appointment_time"])
            if moving:
                rules.check_still_open(target or current["status"], what="rescheduled")
                dentist, offered, taken = await _check_slot(
                    conn,
                    settings=settings,
                    dentist_id=current["dentist_id"],
                    on=on,
                    at=at,
                    now=now,
                    ignore_appointment=appointment_id,
                )
                if not offered:
                    raise _NotOffered(dentist, taken=taken)
            else:
                changes.pop("appointment_date", None)
                changes.pop("appointment_time", None)
            if not changes:
                return appointment_json(current)
            row = await repository.update_appointment(conn, appointment_id, changes)
    except _NotOffered as refused:
        raise await _slot_unavailable(
            uow=uow,
            settings=settings,
            dentist=refused.dentist,
            on=on,
            at=at,
            now=now,
            taken=refused.taken,
        ) from None
    except asyncpg.ExclusionViolationError:
        assert dentist is not None
        raise await _slot_unavailable(
            uow=uow, settings=settings, dentist=dentist, on=on, at=at, now=now, taken=True
        ) from None
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == _TRANSITION_SQLSTATE:
            raise InvalidTransition(str(exc)) from exc
        raise
    assert row is not None and current is not None
    return appointment_json({**row, "dentist_name": current["dentist_name"]})


async def cancel_appointment(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal | None,
    appointment_id: UUID,
    reason: str | None = None,
    guest_email: str | None = None,
    now: datetime | None = None,
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
    )
