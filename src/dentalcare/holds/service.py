"""Hold rules: one live hold per caller, only on a slot /slots offers, kept for the
clinic's `hold_minutes`; booking with it converts it; expired ones are swept away."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.clinic import service as clinic
from dentalcare.clock import Clock
from dentalcare.config import Settings
from dentalcare.db import locks
from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import Conflict, HoldExpired, NotFound, SlotUnavailable, ValidationError
from dentalcare.holds import repository
from dentalcare.holds.schemas import HoldCreate, hold_json
from dentalcare.periodic import PeriodicJob
from dentalcare.ratelimit import Throttle
from dentalcare.timezones import zone
from dentalcare.vocabulary import is_staff

SWEEP_BATCH = 500


def token_hash(token: str | None) -> bytes | None:
    """What is stored of a guest's hold token (its SHA-256)."""
    return hashlib.sha256(token.encode()).digest() if token else None


def _owned_by(hold: asyncpg.Record, caller: Principal | None, token: str | None) -> bool:
    if hold["user_id"] is not None:
        return caller is not None and caller.user_id == hold["user_id"]
    digest = token_hash(token)
    return digest is not None and secrets.compare_digest(digest, bytes(hold["token_hash"]))


async def create_hold(
    *,
    uow: UnitOfWork,
    settings: Settings,
    throttle: Throttle,
    caller: Principal | None,
    request: HoldCreate,
    token: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Hold a free slot for the caller (their previous hold is released); 409
    SlotUnavailable with alternatives when it is taken or held by someone else."""
    now = now or datetime.now(UTC)
    throttle.hold(caller.user_id if caller else None)
    availability.check_bookable_date(
        request.appointment_date, now=now, loc=("body", "appointment_date")
    )
    conn = await uow.connection()
    user_id = caller.user_id if caller is not None else None
    await repository.delete_holds_of(
        conn, user_id=user_id, token_hash=None if caller else token_hash(token)
    )
    try:
        dentist, inputs = await availability.snapshot(
            conn,
            dentist_id=request.dentist_id,
            start=request.appointment_date,
            end=request.appointment_date,
            now=now,
        )
    except NotFound as exc:
        raise ValidationError(
            "dentist_id: no such dentist.",
            fields=[{"loc": ["body", "dentist_id"], "msg": "no such dentist"}],
        ) from exc
    treatment = await availability.treatment_for(
        uow=uow,
        dentist=dentist,
        treatment_id=request.treatment_type_id,
        staff=caller is not None and is_staff(caller.role),
    )
    on, at = request.appointment_date, request.appointment_time
    offered = [
        s
        for s in inputs.free(
            dentist,
            treatment=availability.engine_treatment(treatment),
            settings=settings,
            start=on,
            end=on,
            now=now,
        )
        if s.time == at
    ]
    facts = await clinic.clinic_facts(uow=uow, settings=settings)
    new_token = secrets.token_urlsafe(24) if caller is None else None
    row = None
    if offered:
        slot = offered[0]
        # Holds and bookings for one dentist queue here (as bookings do): two inserts
        # racing in the exclusion index otherwise deadlock, and one gets a 500.
        await locks.queue_for_dentist(conn, dentist["id"])
        try:
            row = await repository.insert_hold(
                conn,
                dentist_id=dentist["id"],
                treatment_type_id=treatment.id,
                on=on,
                at=at,
                duration_minutes=treatment.duration_minutes,
                buffer_before_minutes=treatment.buffer_before_minutes,
                buffer_after_minutes=treatment.buffer_after_minutes,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                expires_at=now + timedelta(minutes=facts.hold_minutes),
                user_id=user_id,
                token_hash=token_hash(new_token),
            )
        except asyncpg.UniqueViolationError as exc:
            # Two holds by one caller at once: the other one won; this request changes
            # nothing (its transaction is rolled back).
            raise Conflict("Another time is being held for you right now; try again.") from exc
    if row is None:
        requested = datetime.combine(on, at, zone(dentist["timezone"]))
        raise SlotUnavailable(
            f"{dentist['name']} is not free at {at:%H:%M} on {on.isoformat()} "
            f"for {treatment.name}.",
            alternatives=await availability.alternatives(
                uow=uow,
                settings=settings,
                dentist_id=dentist["id"],
                treatment=treatment,
                after=requested,
                now=now,
            ),
        )
    return hold_json(row, token=new_token)


async def release_hold(
    *, uow: UnitOfWork, caller: Principal | None, hold_id: UUID, token: str | None
) -> None:
    """Give a hold back (404 unless the caller made it)."""
    conn = await uow.connection()
    hold = await repository.hold_by_id(conn, hold_id, lock=True)
    if hold is None or not _owned_by(hold, caller, token):
        raise NotFound("No such hold.")
    await repository.delete_hold(conn, hold_id)


async def claim_hold(
    *,
    uow: UnitOfWork,
    caller: Principal | None,
    hold_id: UUID,
    token: str | None,
    now: datetime,
) -> asyncpg.Record:
    """Take the caller's live hold for their booking: it is deleted (its interval freed
    for the booking in the same transaction) and returned. 404 for someone else's or an
    unknown hold, 409 HoldExpired for a lapsed one."""
    conn = await uow.connection()
    hold = await repository.hold_by_id(conn, hold_id, lock=True)
    if hold is None or not _owned_by(hold, caller, token):
        raise NotFound("No such hold: it was never made, or not by you.")
    if hold["expires_at"] <= now:
        raise HoldExpired(
            "Your hold on this time has expired; choose the time again (it may be taken)."
        )
    await repository.delete_hold(conn, hold_id)
    return hold


class HoldSweeper(PeriodicJob):
    """Deletes expired holds every `interval` seconds (RELEASED events follow at commit),
    in every service process; a hold another process is deleting is skipped."""

    def __init__(
        self, *, unit_of_work: Callable[[Claims], UnitOfWork], clock: Clock, interval: float
    ) -> None:
        super().__init__(name="releasing lapsed holds", run=self.sweep, interval=interval)
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def sweep(self) -> int:
        """Release every hold expired by now; how many went."""
        total = 0
        while True:
            async with self._unit_of_work(SYSTEM) as uow:
                released = await repository.release_expired(
                    await uow.connection(), now=self._clock.now(), batch=SWEEP_BATCH
                )
            total += released
            if released < SWEEP_BATCH:
                return total
