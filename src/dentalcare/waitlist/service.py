"""Waitlist rules: join, list, cancel; accept or decline an offer; staff offer by hand.

An offer is a hold (the holds domain's table, so the slot is kept exactly as a booking
form's hold is) made for the offeree with a random token: the same token is the one-click
accept link's, stored only as its SHA-256. It lives `waitlist_offer_minutes`; the
offerer (offers.py) passes the slot on when it lapses or is declined."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentCreate
from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.clinic import service as clinic
from dentalcare.config import Settings
from dentalcare.db import locks
from dentalcare.db.claims import SYSTEM
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import (
    Conflict,
    Forbidden,
    HoldExpired,
    NotFound,
    SlotUnavailable,
    ValidationError,
)
from dentalcare.holds import repository as holds
from dentalcare.ratelimit import Throttle
from dentalcare.vocabulary import is_staff
from dentalcare.waitlist import repository
from dentalcare.waitlist.messages import public_link, queue_message
from dentalcare.waitlist.schemas import (
    SlotPick,
    WaitlistCreate,
    entry_json,
    recall_json,
    time_of_day,
)


def token_hash(token: str) -> bytes:
    """What is stored of an offer's token."""
    return hashlib.sha256(token.encode()).digest()


def _invalid(field: str, msg: str) -> ValidationError:
    return ValidationError(f"{field}: {msg}.", fields=[{"loc": ["body", field], "msg": msg}])


def _listed(row: asyncpg.Record) -> dict[str, Any]:
    offer = None
    if row["offer_status"] is not None:
        offer = {
            "status": row["offer_status"],
            "hold_id": row["hold_id"],
            "dentist_id": row["offer_dentist_id"],
            "appointment_date": row["appointment_date"],
            "appointment_time": row["appointment_time"],
            "starts_at": row["starts_at"],
            "expires_at": row["expires_at"],
        }
    return entry_json(row, offer)


async def join(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal | None,
    request: WaitlistCreate,
    now: datetime,
) -> dict[str, Any]:
    """Put the caller (or, for staff, the person named) on the waitlist. Dates are the
    clinic's: "today" is the date on its wall clock, not in UTC."""
    if caller is not None and caller.role == "dentist":
        raise Forbidden("Dentists cannot join the waitlist; ask the clinic's staff.")
    today = await clinic.today(uow=uow, settings=settings, now=now)
    if request.latest_date < today:
        raise _invalid("latest_date", "the range is over already")
    staff = caller is not None and is_staff(caller.role)
    conn = await uow.connection()
    name, email, phone = request.patient_name, request.patient_email, request.patient_phone
    patient_id: UUID | None = None
    if caller is not None and caller.role == "patient":
        patient_id = caller.user_id
        name = name or caller.full_name
        email = email or caller.email
        phone = phone or caller.phone
    elif staff and request.patient_id is not None:
        async with uow.acting_as(SYSTEM):
            user = await repository.user_contact(await uow.connection(), request.patient_id)
        if user is None or user["role"] != "patient":
            raise _invalid("patient_id", "no such patient")
        patient_id = user["id"]
        name, email, phone = (
            name or user["full_name"],
            email or user["email"],
            phone or user["phone"],
        )
    elif request.patient_id is not None:
        raise _invalid("patient_id", "only staff may name a patient")
    for field, value in (
        ("patient_name", name),
        ("patient_email", email),
        ("patient_phone", phone),
    ):
        if not value:
            raise _invalid(field, "required")
    treatment = await conn.fetchrow(
        "SELECT id FROM treatment_types WHERE id = $1 AND active AND (bookable_online OR $2)",
        request.treatment_type_id,
        staff,
    )
    if treatment is None:
        raise _invalid("treatment_type_id", "no such treatment")
    if (
        request.dentist_id is not None
        and (await conn.fetchval("SELECT active FROM dentists WHERE id = $1", request.dentist_id))
        is not True
    ):
        raise _invalid("dentist_id", "no such dentist")
    # As the service: a guest may add an entry but not read entries back (RETURNING).
    async with uow.acting_as(SYSTEM):
        row = await repository.insert_entry(
            await uow.connection(),
            patient_id=patient_id,
            patient_name=name,
            patient_email=str(email),
            patient_phone=phone,
            treatment_type_id=request.treatment_type_id,
            dentist_id=request.dentist_id,
            earliest_date=max(request.earliest_date, today),
            latest_date=request.latest_date,
            times=list(request.times),
            created_by=caller.user_id if caller is not None else None,
        )
    return entry_json(row)


async def list_entries(
    *,
    uow: UnitOfWork,
    caller: Principal,
    status: str | None,
    dentist_id: UUID | None,
    treatment_type_id: UUID | None,
) -> list[dict[str, Any]]:
    """Every entry for staff, a patient's own (row-level security decides)."""
    if caller.role == "dentist":
        raise Forbidden("The waitlist is the clinic staff's.")
    rows = await repository.list_entries(
        await uow.connection(),
        status=status,
        dentist_id=dentist_id,
        treatment_type_id=treatment_type_id,
        limit=500,
    )
    return [_listed(r) for r in rows]


async def open_offers(*, uow: UnitOfWork, caller: Principal, now: datetime) -> list[dict[str, Any]]:
    """The caller's own live offers (a patient's; nobody else has any to take)."""
    if caller.role != "patient":
        return []
    rows = await repository.open_offers_of_patient(await uow.connection(), caller.user_id, now=now)
    return [dict(r) for r in rows]


async def _release_offer(
    conn: asyncpg.Connection, offer: asyncpg.Record, status: str, *, now: datetime
) -> None:
    """End a live offer and give its slot back (the freed-slot trigger passes it on)."""
    await repository.resolve_offer(conn, offer["id"], status, now=now)
    await holds.delete_hold(conn, offer["hold_id"])


async def cancel_entry(
    *, uow: UnitOfWork, caller: Principal | None, entry_id: UUID, now: datetime
) -> dict[str, Any]:
    """Leave the waitlist (the owner) or take someone off (staff); a live offer's slot is
    passed on."""
    if caller is None or caller.role == "dentist":
        raise NotFound("No such waitlist entry.")
    conn = await uow.connection()
    entry = await repository.entry_by_id(conn, entry_id, lock=True)
    if entry is None:
        raise NotFound("No such waitlist entry.")
    if entry["status"] in ("waiting", "offered"):
        async with uow.acting_as(SYSTEM):
            conn = await uow.connection()
            offer = await repository.live_offer_of(conn, entry_id, lock=True)
            if offer is not None:
                await _release_offer(conn, offer, "declined", now=now)
            await repository.set_entry_status(conn, entry_id, "cancelled")
        conn = await uow.connection()
        entry = await repository.entry_by_id(conn, entry_id)
        assert entry is not None
    return entry_json(entry)


async def _offer_for(
    uow: UnitOfWork, *, caller: Principal | None, entry_id: UUID, token: str | None
) -> tuple[asyncpg.Record, asyncpg.Record | None]:
    """(entry, its live offer) if the caller is the offeree (logged in as the entry's
    patient, or holding the link's token) or staff; 404 otherwise."""
    conn = await uow.connection()
    entry = await repository.entry_by_id(conn, entry_id, lock=True)
    if entry is None:
        raise NotFound("No such waitlist entry.")
    offer = await repository.live_offer_of(conn, entry_id, lock=True)
    owner = caller is not None and (is_staff(caller.role) or entry["patient_id"] == caller.user_id)
    if not owner:
        if not token:
            raise NotFound("No such waitlist entry.")
        by_token = await repository.offer_by_token(conn, token_hash(token))
        if by_token is None or by_token["entry_id"] != entry_id:
            raise NotFound("No such waitlist entry.")
        if by_token["status"] != "live":
            raise HoldExpired("This offer is no longer open: it was used, declined or lapsed.")
    return entry, offer


async def accept_offer(
    *,
    uow: UnitOfWork,
    settings: Settings,
    throttle: Throttle,
    caller: Principal | None,
    entry_id: UUID,
    token: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Book the offered slot: 409 HoldExpired once the offer lapsed; the database's
    occupancy constraint decides if someone else is booking the same time."""
    async with uow.acting_as(SYSTEM):
        entry, offer = await _offer_for(uow, caller=caller, entry_id=entry_id, token=token)
        if offer is None or offer["expires_at"] <= now:
            raise HoldExpired("This offer has lapsed; the time may be someone else's now.")
        conn = await uow.connection()
        # The hold goes and the booking takes its interval in this transaction: at commit
        # the freed-slot trigger sees the interval taken and records nothing.
        await holds.delete_hold(conn, offer["hold_id"])
    request = AppointmentCreate(
        dentist_id=offer["dentist_id"],
        appointment_date=offer["appointment_date"],
        appointment_time=offer["appointment_time"],
        treatment_type_id=offer["treatment_type_id"],
        patient_name=entry["patient_name"],
        patient_email=entry["patient_email"],
        patient_phone=entry["patient_phone"],
        notes="Booked from the waitlist.",
    )
    booker: Principal | None = None
    if entry["patient_id"] is not None:
        # The offeree is a registered patient (logged in, or proven by the link's token):
        # the booking is theirs, as if they had booked it themselves.
        booker = Principal(
            user_id=entry["patient_id"],
            role="patient",
            email=entry["patient_email"],
            full_name=entry["patient_name"],
            phone=entry["patient_phone"],
            dentist_id=None,
            token_expires_at=0,
        )
    try:
        appointment = await appointments.book_appointment(
            uow=uow,
            settings=settings,
            throttle=throttle,
            caller=booker,
            request=request,
            now=now,
        )
    except SlotUnavailable as exc:
        raise HoldExpired("This time was taken meanwhile; you stay on the waitlist.") from exc
    appointment_id = UUID(appointment["id"])
    async with uow.acting_as(SYSTEM):
        conn = await uow.connection()
        await repository.resolve_offer(
            conn, offer["id"], "accepted", now=now, appointment_id=appointment_id
        )
        await repository.set_entry_status(conn, entry_id, "booked", appointment_id=appointment_id)
    return appointment


async def decline_offer(
    *, uow: UnitOfWork, caller: Principal | None, entry_id: UUID, token: str | None, now: datetime
) -> None:
    """Say no to an offer: the entry waits again, the slot goes to the next entry."""
    async with uow.acting_as(SYSTEM):
        _, offer = await _offer_for(uow, caller=caller, entry_id=entry_id, token=token)
        if offer is None:
            raise HoldExpired("There is no open offer on this entry.")
        conn = await uow.connection()
        await _release_offer(conn, offer, "declined", now=now)
        await repository.set_entry_status(conn, entry_id, "waiting")


async def make_offer(
    *,
    uow: UnitOfWork,
    settings: Settings,
    entry: asyncpg.Record,
    dentist: asyncpg.Record,
    slot: Any,
    treatment_id: UUID,
    treatment: Any,
    freed_slot_id: int | None,
    offered_by: str,
    now: datetime,
) -> asyncpg.Record | None:
    """Hold `slot` for the entry and tell them (None if the slot was taken meanwhile)."""
    conn = await uow.connection()
    token = secrets.token_urlsafe(24)
    await locks.queue_for_dentist(conn, dentist["id"])  # as bookings and holds do
    hold = await holds.insert_hold(
        conn,
        dentist_id=dentist["id"],
        treatment_type_id=treatment_id,
        on=slot.date,
        at=slot.time,
        duration_minutes=treatment.duration_minutes,
        buffer_before_minutes=treatment.buffer_before_minutes,
        buffer_after_minutes=treatment.buffer_after_minutes,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        expires_at=now + timedelta(minutes=settings.waitlist_offer_minutes),
        user_id=None,
        token_hash=token_hash(token),
    )
    if hold is None:
        return None
    offer = await repository.insert_offer(
        conn,
        entry_id=entry["id"],
        freed_slot_id=freed_slot_id,
        hold_id=hold["id"],
        dentist_id=dentist["id"],
        treatment_type_id=treatment_id,
        appointment_date=slot.date,
        appointment_time=slot.time,
        starts_at=slot.starts_at,
        expires_at=hold["expires_at"],
        token_hash=token_hash(token),
        offered_by=offered_by,
    )
    await repository.set_entry_status(conn, entry["id"], "offered")
    await queue_message(
        conn,
        kind="waitlist_offer",
        to_email=entry["patient_email"],
        to_phone=entry["patient_phone"],
        user_id=entry["patient_id"],
        context={
            "patient_name": entry["patient_name"],
            "dentist_name": dentist["name"],
            "treatment_name": treatment.name,
            "date": slot.date.isoformat(),
            "time": f"{slot.time:%H:%M}",
            "expires_at": hold["expires_at"].isoformat(),
            "links": {
                "accept": public_link(f"/waitlist/{entry['id']}/accept?token={token}"),
            },
        },
        dedupe_key=f"waitlist_offer:{offer['id']}",
    )
    return offer


def matching_slots(
    slots: list[Any], *, entry: asyncpg.Record, starts_at: datetime | None, ends_at: datetime | None
) -> list[Any]:
    """The free slots an entry wants (its times of day), overlapping the freed interval."""
    return [
        s
        for s in slots
        if time_of_day(s.time) in entry["times"]
        and (starts_at is None or s.ends_at > starts_at)
        and (ends_at is None or s.starts_at < ends_at)
    ]


async def offer_by_hand(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal,
    entry_id: UUID,
    slot: SlotPick,
    now: datetime,
) -> dict[str, Any]:
    """Staff offer a free slot to an entry (409 if it is not free, or the entry is not
    waiting)."""
    if not is_staff(caller.role):
        raise Forbidden("Only the clinic's staff offer slots by hand.")
    conn = await uow.connection()
    entry = await repository.entry_by_id(conn, entry_id, lock=True)
    if entry is None:
        raise NotFound("No such waitlist entry.")
    if entry["status"] != "waiting":
        raise Conflict(f"This entry is {entry['status']}, not waiting.")
    availability.check_bookable_date(
        slot.appointment_date, now=now, loc=("body", "slot.appointment_date")
    )
    try:
        dentist, inputs = await availability.snapshot(
            conn,
            dentist_id=slot.dentist_id,
            start=slot.appointment_date,
            end=slot.appointment_date,
            now=now,
        )
    except NotFound as exc:
        raise _invalid("slot.dentist_id", "no such dentist") from exc
    treatment = await availability.treatment_for(
        uow=uow, dentist=dentist, treatment_id=entry["treatment_type_id"], staff=True
    )
    free = [
        s
        for s in inputs.free(
            dentist,
            treatment=availability.engine_treatment(treatment),
            settings=settings,
            start=slot.appointment_date,
            end=slot.appointment_date,
            now=now,
        )
        if s.time == slot.appointment_time
    ]
    offer = None
    if free:
        async with uow.acting_as(SYSTEM):
            offer = await make_offer(
                uow=uow,
                settings=settings,
                entry=entry,
                dentist=dentist,
                slot=free[0],
                treatment_id=treatment.id,
                treatment=treatment,
                freed_slot_id=None,
                offered_by="staff",
                now=now,
            )
    if offer is None:
        raise SlotUnavailable(
            f"{dentist['name']} is not free at {slot.appointment_time:%H:%M} on "
            f"{slot.appointment_date.isoformat()} for {treatment.name}."
        )
    row = await repository.entry_by_id(await uow.connection(), entry_id)
    assert row is not None
    return entry_json(row, offer)


async def list_recalls(
    *, uow: UnitOfWork, caller: Principal, due_before: Any
) -> list[dict[str, Any]]:
    """Recalls due before a date (staff)."""
    if not is_staff(caller.role):
        raise Forbidden("The recall list is the clinic staff's.")
    rows = await repository.list_recalls(await uow.connection(), due_before=due_before, limit=1000)
    return [recall_json(r) for r in rows]


async def dashboard(*, uow: UnitOfWork, caller: Principal) -> dict[str, Any]:
    """The waitlist's figures for the admin dashboard."""
    if not is_staff(caller.role):
        raise Forbidden("The dashboard is the clinic staff's.")
    row = await repository.figures(await uow.connection())
    median = row["median_seconds"]
    return {
        "freed_slots": row["freed"],
        "refilled": row["refilled"],
        "refill_share": round(row["refilled"] / row["freed"], 3) if row["freed"] else None,
        "median_minutes_to_refill": round(float(median) / 60, 1) if median is not None else None,
        "waiting": row["waiting"],
        "live_offers": row["live_offers"],
    }


async def recent_offers(*, uow: UnitOfWork, caller: Principal) -> list[dict[str, Any]]:
    """The latest offers, newest first, with whom and how each ended (staff)."""
    if not is_staff(caller.role):
        raise Forbidden("The offer chains are the clinic staff's.")
    rows = await repository.offer_chain(await uow.connection(), limit=100)
    return [
        {
            "entry_id": str(r["entry_id"]),
            "patient_name": r["patient_name"],
            "chain": r["origin"],
            "date": r["appointment_date"].isoformat(),
            "time": f"{r['appointment_time']:%H:%M}",
            "offered_by": r["offered_by"],
            "status": r["status"],
            "created_at": r["created_at"],
            "expires_at": r["expires_at"],
        }
        for r in rows
    ]
