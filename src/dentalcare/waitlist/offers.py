"""The background jobs: offering freed slots to the waitlist, and sending recalls.

Both work from rows committed with the change that caused them (freed_slots, written by
the occupancy trigger and, for new hours, by the schedule tables' triggers (migration
0022); recalls, written by the appointments trigger), one small
transaction at a time with SKIP LOCKED: every service process runs them, none does a row
twice, and a process dying mid-way leaves the row for the next run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import asyncpg

from dentalcare.availability import service as availability
from dentalcare.clock import Clock
from dentalcare.config import Settings
from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import DentalCareError
from dentalcare.holds import repository as holds
from dentalcare.periodic import PeriodicJob
from dentalcare.timezones import zone
from dentalcare.waitlist import repository
from dentalcare.waitlist.messages import public_link, queue_message
from dentalcare.waitlist.service import make_offer, matching_slots

log = logging.getLogger(__name__)

CANDIDATES_PER_SLOT = 50
FREED_PER_RUN = 200
RECALLS_PER_RUN = 200
# Offers one change of hours may make in a pass (the rest wait for the next change).
HOURS_OFFERS_PER_RUN = 50


class WaitlistOfferer(PeriodicJob):
    """Every `interval` seconds: lapse expired offers (their slots are freed again),
    expire entries whose range has passed, and offer each freed slot to the first
    matching waiting entry."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[Claims], UnitOfWork],
        settings: Settings,
        clock: Clock,
        interval: float,
    ) -> None:
        super().__init__(name="offering freed slots", run=self.run, interval=interval)
        self._unit_of_work = unit_of_work
        self._settings = settings
        self._clock = clock

    async def run(self) -> int:
        """One pass; how many offers were made."""
        # Idle passes touch one table per transaction: a pass never holds a lock on one
        # table while waiting for another (nothing to deadlock with, e.g. a TRUNCATE).
        now = self._clock.now()
        async with self._unit_of_work(SYSTEM) as uow:
            lapsed = await repository.any_lapsed(await uow.connection(), now=now)
        if lapsed:
            async with self._unit_of_work(SYSTEM) as uow:
                conn = await uow.connection()
                for offer in await repository.lapsed_offers(conn, now=now):
                    await repository.resolve_offer(conn, offer["id"], "lapsed", now=now)
                    await holds.delete_hold(conn, offer["hold_id"])
                    await repository.set_entry_status(conn, offer["entry_id"], "waiting")
        async with self._unit_of_work(SYSTEM) as uow:
            await repository.expire_entries(
                await uow.connection(), today=now.astimezone(UTC).date()
            )
        made = 0
        for _ in range(FREED_PER_RUN):
            async with self._unit_of_work(SYSTEM) as uow:
                outcome = await self._offer_next(uow)
            if outcome is None:
                break
            made += outcome == "offered"
        return made

    async def _offer_next(self, uow: UnitOfWork) -> str | None:
        now = self._clock.now()
        conn = await uow.connection()
        freed = await repository.next_freed_slot(conn)
        if freed is None:
            return None
        outcome = "no_match"
        dentist = await repository.dentist_zone(conn, freed["dentist_id"])
        if freed["ends_at"] <= now or dentist is None or not dentist["active"]:
            outcome = "past"
        else:
            tz = zone(dentist["timezone"])
            first: date = freed["starts_at"].astimezone(tz).date()
            last: date = (freed["ends_at"] - timedelta(microseconds=1)).astimezone(tz).date()
            day = first
            if freed["source"] == "hours":
                # New hours may open many slots over many days: every waiting entry that
                # one suits is offered one (each entry holds at most one live offer).
                offered = 0
                while day <= last and offered < HOURS_OFFERS_PER_RUN:
                    while offered < HOURS_OFFERS_PER_RUN:
                        if await self._offer_on(uow, freed, day, now) != "offered":
                            break
                        offered += 1
                    day += timedelta(days=1)
                outcome = "offered" if offered else "no_match"
            while day <= last and outcome == "no_match":
                outcome = await self._offer_on(uow, freed, day, now)
                day += timedelta(days=1)
        await repository.mark_freed_slot(
            await uow.connection(), freed["id"], outcome=outcome, now=now
        )
        return outcome

    async def _offer_on(
        self, uow: UnitOfWork, row: asyncpg.Record, day: date, now: datetime
    ) -> str:
        conn = await uow.connection()
        entries = await repository.candidates(
            conn,
            dentist_id=row["dentist_id"],
            on=day,
            origin=row["origin"],
            limit=CANDIDATES_PER_SLOT,
        )
        if not entries:
            return "no_match"
        try:
            dentist, inputs = await availability.snapshot(
                conn, dentist_id=row["dentist_id"], start=day, end=day, now=now
            )
        except DentalCareError:
            return "past"
        for entry in entries:
            try:
                treatment = await availability.treatment_for(
                    uow=uow, dentist=dentist, treatment_id=entry["treatment_type_id"], staff=True
                )
            except DentalCareError:
                continue
            free = inputs.free(
                dentist,
                treatment=availability.engine_treatment(treatment),
                settings=self._settings,
                start=day,
                end=day,
                now=now,
            )
            for slot in matching_slots(
                free,
                entry=entry,
                starts_at=row["starts_at"],
                ends_at=row["ends_at"],
            ):
                offer = await make_offer(
                    uow=uow,
                    settings=self._settings,
                    entry=entry,
                    dentist=dentist,
                    slot=slot,
                    treatment_id=treatment.id,
                    treatment=treatment,
                    freed_slot_id=row["id"],
                    offered_by="auto",
                    now=now,
                )
                if offer is not None:
                    return "offered"
        return "no_match"


class RecallSender(PeriodicJob):
    """Every `interval` seconds: a `recall_due` message to each patient whose recall is
    due today (or overdue and never contacted), with a booking link for the treatment."""

    def __init__(
        self, *, unit_of_work: Callable[[Claims], UnitOfWork], clock: Clock, interval: float
    ) -> None:
        super().__init__(name="sending recalls", run=self.run, interval=interval)
        self._unit_of_work = unit_of_work
        self._clock = clock

    async def run(self) -> int:
        """Send what is due; how many went."""
        now = self._clock.now()
        async with self._unit_of_work(SYSTEM) as uow:
            conn = await uow.connection()
            due = await repository.recalls_to_send(
                conn, today=now.astimezone(UTC).date(), limit=RECALLS_PER_RUN
            )
            for recall in due:
                await queue_message(
                    conn,
                    kind="recall_due",
                    to_email=recall["patient_email"],
                    user_id=recall["patient_id"],
                    context={
                        "patient_name": recall["patient_name"],
                        "treatment_name": recall["treatment_name"],
                        "due_date": recall["due_date"].isoformat(),
                        "links": {"book": public_link(f"/book/{recall['treatment_type_id']}")},
                    },
                    dedupe_key=f"recall_due:{recall['id']}:{recall['due_date'].isoformat()}",
                )
                await repository.mark_contacted(conn, recall["id"], now=now)
        return len(due)
