"""Availability rules: weekly schedules, exceptions, and free slots from the pure engine."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from dentalcare.auth.tokens import Principal
from dentalcare.availability import repository
from dentalcare.availability.cache import Key, SlotsCache
from dentalcare.availability.schemas import (
    ExceptionCreate,
    WeeklyWindow,
    exception_json,
    outside_hours_json,
    window_json,
)
from dentalcare.availability.slots import (
    BusyTimes,
    DateException,
    Slot,
    Treatment,
    Window,
    working_intervals,
)
from dentalcare.availability.slots import (
    free_slots as engine_free_slots,
)
from dentalcare.config import Settings
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.dentists import repository as dentists
from dentalcare.errors import BadRequest, Forbidden, NotFound, ValidationError
from dentalcare.jsonshape import hh_mm, iso_instant
from dentalcare.timezones import zone
from dentalcare.treatments import service as treatments
from dentalcare.treatments.service import BookedTreatment
from dentalcare.vocabulary import is_staff

MAX_RANGE_DAYS = 62
# How far from today a booking's date or a slot range may lie. Past dates are fine (they
# are simply not free: 409, or no slots), but year 1 or 9999 is a typo or a probe, and
# would overflow date arithmetic on its way to the database.
DAYS_BACK = 366
DAYS_AHEAD = 2 * 366


def check_bookable_date(value: date, *, now: datetime, loc: tuple[str, str]) -> None:
    """`value` lies between a year before and two years after `now`'s date (UTC): 422
    for a body field (`loc` ("body", name)), 400 for a query parameter ("query", name).

    Checked here rather than in the schemas: a schema could only read the system clock,
    and the application's clock is injected."""
    today = now.astimezone(UTC).date()
    first, last = today - timedelta(days=DAYS_BACK), today + timedelta(days=DAYS_AHEAD)
    if first <= value <= last:
        return
    msg = f"must be between {first.isoformat()} and {last.isoformat()}"
    error = ValidationError if loc[0] == "body" else BadRequest
    raise error(f"{loc[1]}: {msg}", fields=[{"loc": list(loc), "msg": msg}])


def require_schedule_owner(caller: Principal, dentist_id: UUID) -> None:
    """Only that dentist or an admin may change a schedule."""
    if caller.role == "admin" or (caller.role == "dentist" and caller.dentist_id == dentist_id):
        return
    raise Forbidden("Only this dentist or an admin may change the schedule.")


def _visible(row: asyncpg.Record | None, caller: Principal | None) -> asyncpg.Record:
    if row is None or (not row["active"] and (caller is None or caller.role != "admin")):
        raise NotFound("No such dentist.")
    return row


async def get_availability(
    *, uow: UnitOfWork, caller: Principal | None, dentist_id: UUID, now: datetime | None = None
) -> dict[str, Any]:
    """The weekly schedule and the upcoming exceptions of a dentist."""
    dentist = _visible(await dentists.dentist_by_id((await uow.connection()), dentist_id), caller)
    today = (now or datetime.now(UTC)).astimezone(zone(dentist["timezone"])).date()
    conn = await uow.connection()
    return await _availability_json(conn, dentist, today)


async def _availability_json(
    conn: asyncpg.Connection, dentist: asyncpg.Record, today: date
) -> dict[str, Any]:
    weekly = await repository.weekly_windows(conn, dentist["id"])
    exceptions = await repository.exceptions_from(conn, dentist["id"], today)
    return {
        "dentist_id": str(dentist["id"]),
        "timezone": dentist["timezone"],
        "slot_minutes": dentist["slot_minutes"],
        "weekly": [window_json(w) for w in weekly],
        "exceptions": [exception_json(e) for e in exceptions],
    }


def _check_no_overlap(windows: Sequence[WeeklyWindow]) -> None:
    ordered = sorted(enumerate(windows), key=lambda iw: (iw[1].day_of_week, iw[1].start_time))
    for (_, before), (index, after) in zip(ordered, ordered[1:], strict=False):
        if before.day_of_week == after.day_of_week and after.start_time < before.end_time:
            raise ValidationError(
                f"weekly: the windows {hh_mm(before.start_time)}–{hh_mm(before.end_time)} and "
                f"{hh_mm(after.start_time)}–{hh_mm(after.end_time)} on day "
                f"{after.day_of_week} overlap.",
                fields=[{"loc": ["body", "weekly", str(index)], "msg": "overlaps another window"}],
            )


async def replace_weekly(
    *,
    uow: UnitOfWork,
    caller: Principal,
    dentist_id: UUID,
    windows: Sequence[WeeklyWindow],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Replace the weekly schedule; booked appointments stay and those now outside are listed."""
    require_schedule_owner(caller, dentist_id)
    _check_no_overlap(windows)
    now = now or datetime.now(UTC)
    conn = await uow.connection()
    dentist = _visible(await dentists.lock_dentist(conn, dentist_id), caller)
    if not dentist["active"]:
        raise NotFound("No such dentist.")
    await repository.replace_weekly(
        conn,
        dentist_id=dentist_id,
        windows=[(w.day_of_week, w.start_time, w.end_time, w.is_available) for w in windows],
    )
    today = now.astimezone(zone(dentist["timezone"])).date()
    body = await _availability_json(conn, dentist, today)
    body["appointments_outside_hours"] = await _outside_hours(conn, dentist, now, body)
    return body


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


async def _outside_hours(
    conn: asyncpg.Connection, dentist: asyncpg.Record, now: datetime, body: dict[str, Any]
) -> list[dict[str, Any]]:
    weekly = [
        Window(
            w["day_of_week"],
            time.fromisoformat(w["start_time"]),
            time.fromisoformat(w["end_time"]),
            w["is_available"],
        )
        for w in body["weekly"]
    ]
    exceptions = [
        DateException(
            date.fromisoformat(e["date"]),
            time.fromisoformat(e["start_time"]) if e["start_time"] else None,
            time.fromisoformat(e["end_time"]) if e["end_time"] else None,
            e["is_available"],
            date.fromisoformat(e["until"]) if e.get("until") else None,
        )
        for e in body["exceptions"]
    ]
    outside = []
    rows = await repository.upcoming_bookings(conn, dentist_id=dentist["id"], after=now)
    for row in rows:
        on, at = row["appointment_date"], row["appointment_time"]
        begins = _minutes(at)
        ends = begins + row["duration_minutes"]
        intervals = working_intervals(weekly=weekly, exceptions=exceptions, on=on)
        if not any(_minutes(s) <= begins and ends <= _minutes(e) for s, e in intervals):
            outside.append(outside_hours_json(row))
    return outside


async def add_exception(
    *,
    uow: UnitOfWork,
    caller: Principal,
    dentist_id: UUID,
    request: ExceptionCreate,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Add time off or extra hours on a date."""
    require_schedule_owner(caller, dentist_id)
    conn = await uow.connection()
    dentist = _visible(await dentists.dentist_by_id(conn, dentist_id), caller)
    today = (now or datetime.now(UTC)).astimezone(zone(dentist["timezone"])).date()
    if request.date < today:
        raise ValidationError(
            "date: the date is in the past.",
            fields=[{"loc": ["body", "date"], "msg": "is in the past"}],
        )
    row = await repository.insert_exception(
        conn,
        dentist_id=dentist_id,
        on=request.date,
        start=request.start_time,
        end=request.end_time,
        is_available=request.is_available,
        reason=request.reason,
        until=request.until,
    )
    # Bookings the time off now covers stay, and are listed to whoever added it.
    body = await _availability_json(conn, dentist, today)
    outside = await _outside_hours(conn, dentist, now or datetime.now(UTC), body)
    return {**exception_json(row), "appointments_outside_hours": outside}


async def delete_exception(
    *, uow: UnitOfWork, caller: Principal, dentist_id: UUID, exception_id: UUID
) -> None:
    """Remove an exception."""
    require_schedule_owner(caller, dentist_id)
    conn = await uow.connection()
    if not await repository.delete_exception(
        conn, dentist_id=dentist_id, exception_id=exception_id
    ):
        raise NotFound("No such exception for this dentist.")


# ------------------------------------------------------------------------------- slots


def _busy_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    # Local dates span at most ±14 h around UTC midnight, and buffers at most 2 h either
    # side: a day's margin covers every zone.
    return (
        datetime.combine(start, time.min, UTC) - timedelta(days=1),
        datetime.combine(end, time.min, UTC) + timedelta(days=2),
    )


@dataclass(frozen=True, slots=True)
class EngineInputs:
    """One dentist's schedule and busy times, the chairs' and the clinic's closures."""

    weekly: list[Window]
    exceptions: list[DateException]
    busy: BusyTimes
    # None: the clinic has no chairs (every dentist as if with a chair of their own).
    chairs: list[BusyTimes] | None
    closures: frozenset[date]

    def free(
        self,
        row: asyncpg.Record,
        *,
        treatment: Treatment,
        settings: Settings,
        start: date,
        end: date,
        now: datetime,
        booked: bool = True,
    ) -> list[Slot]:
        """The free starts of `treatment` on local dates start..end (`booked` False: as if
        nothing were booked or held, to tell "taken" from "never offered")."""
        return engine_free_slots(
            weekly=self.weekly,
            exceptions=self.exceptions,
            busy=self.busy if booked else [],
            timezone=zone(row["timezone"]),
            slot_minutes=row["slot_minutes"],
            start=start,
            end=end,
            now=now,
            min_notice=timedelta(minutes=settings.min_notice_minutes),
            treatment=treatment,
            closures=self.closures,
            chairs=self.chairs if booked or self.chairs is None else [[] for _ in self.chairs],
        )


def _inputs_of(row: asyncpg.Record) -> EngineInputs:
    weekly = [Window(*w) for w in row["weekly"]]
    exceptions = [DateException(*e) for e in row["exceptions"]]
    # The snapshot's int8 arrays go to the engine as they are: no object per interval.
    busy = BusyTimes(row["busy_starts"], row["busy_ends"])
    chairs: list[BusyTimes] | None = None
    if row["chair_ids"]:
        # Ordered by chair position (1-based in chair_ids): each chair's slice by bisection.
        positions = row["chair_busy_positions"]
        starts, ends = row["chair_busy_starts"], row["chair_busy_ends"]
        bounds = [bisect_left(positions, p) for p in range(1, len(row["chair_ids"]) + 2)]
        chairs = [
            BusyTimes(starts[lo:hi], ends[lo:hi])
            for lo, hi in zip(bounds, bounds[1:], strict=False)
        ]
    return EngineInputs(weekly, exceptions, busy, chairs, frozenset(row["closures"]))


def engine_treatment(treatment: BookedTreatment) -> Treatment:
    """The slot engine's view of a booked treatment."""
    return Treatment(
        treatment.duration_minutes,
        treatment.buffer_before_minutes,
        treatment.buffer_after_minutes,
    )


async def snapshot(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    start: date,
    end: date,
    now: datetime,
    ignore_appointment: UUID | None = None,
    ignore_hold: UUID | None = None,
) -> tuple[asyncpg.Record, EngineInputs]:
    """The dentist and the engine's inputs for local dates start..end (404 for a removed
    or unknown dentist)."""
    busy_from, busy_to = _busy_bounds(start, end)
    row = await repository.schedule_snapshot(
        conn,
        dentist_id=dentist_id,
        first=start,
        last=end,
        busy_from=busy_from,
        busy_to=busy_to,
        now=now,
        ignore_appointment=ignore_appointment,
        ignore_hold=ignore_hold,
    )
    if row is None or not row["active"]:
        raise NotFound("No such dentist.")
    return row, _inputs_of(row)


async def snapshot_for_booking(
    conn: asyncpg.Connection,
    *,
    dentist_id: UUID,
    treatment_id: UUID | None,
    staff: bool,
    on: date,
    now: datetime,
    ignore_appointment: UUID | None = None,
    field: str = "treatment_type_id",
    patient_email: str | None = None,
) -> tuple[asyncpg.Record, EngineInputs, BookedTreatment]:
    """`snapshot` for the day `on` and `treatment_for`, in one round trip: the dentist,
    the engine's inputs and the treatment a booking takes (404 for a removed or unknown
    dentist, then 422 as `treatment_for`). The row also has what the booking's messages
    need of the clinic and of `patient_email` (`schedule_for_booking`)."""
    busy_from, busy_to = _busy_bounds(on, on)
    row = await repository.schedule_for_booking(
        conn,
        dentist_id=dentist_id,
        treatment_id=treatment_id,
        day=on,
        busy_from=busy_from,
        busy_to=busy_to,
        now=now,
        ignore_appointment=ignore_appointment,
        patient_email=patient_email,
    )
    if row is None or not row["active"]:
        raise NotFound("No such dentist.")
    treatment = treatments.booked_from(
        None
        if row["treatment_id"] is None
        else {c: row[f"treatment_{c}"] for c in repository.BOOKING_TREATMENT_COLUMNS},
        dentist_id=row["id"],
        dentist_name=row["name"],
        slot_minutes=row["slot_minutes"],
        staff=staff,
        field=field,
    )
    return row, _inputs_of(row), treatment


async def treatment_for(
    *,
    uow: UnitOfWork,
    dentist: asyncpg.Record,
    treatment_id: UUID | None,
    staff: bool,
    field: str = "treatment_type_id",
) -> BookedTreatment:
    """The treatment a booking with `dentist` takes (the clinic's default when None)."""
    return await treatments.booked_treatment(
        uow=uow,
        treatment_id=treatment_id,
        dentist_id=dentist["id"],
        dentist_name=dentist["name"],
        slot_minutes=dentist["slot_minutes"],
        staff=staff,
        field=field,
    )


async def free_slots_of_dentists(
    *,
    uow: UnitOfWork,
    settings: Settings,
    dentist_ids: Sequence[UUID],
    start: date,
    end: date,
    now: datetime | None = None,
    treatment_id: UUID | None = None,
    ignore_hold: UUID | None = None,
) -> dict[UUID, list[Slot]]:
    """Free slots of `treatment_id` (the default type when None) with several dentists on
    local dates start..end, in one query; removed or unknown dentists, and those who do
    not perform the treatment, are left out (`ignore_hold`: as if that hold, the caller's
    own, were not there)."""
    now = now or datetime.now(UTC)
    busy_from, busy_to = _busy_bounds(start, end)
    rows = await repository.schedule_snapshots(
        await uow.connection(),
        dentist_ids=dentist_ids,
        first=start,
        last=end,
        busy_from=busy_from,
        busy_to=busy_to,
        now=now,
        ignore_hold=ignore_hold,
    )
    result: dict[UUID, list[Slot]] = {}
    try:
        kind = await treatments.booking_treatment(uow=uow, treatment_id=treatment_id)
    except ValidationError:
        return result
    for row in rows:
        if not row["active"]:
            continue
        try:
            treatment = treatments.booked_with(
                kind,
                dentist_id=row["id"],
                dentist_name=row["name"],
                slot_minutes=row["slot_minutes"],
                staff=True,
            )
        except ValidationError:
            continue  # this dentist does not perform it
        result[row["id"]] = _inputs_of(row).free(
            row,
            treatment=engine_treatment(treatment),
            settings=settings,
            start=start,
            end=end,
            now=now,
        )
    return result


async def free_slots(
    *,
    uow: UnitOfWork,
    settings: Settings,
    dentist_id: UUID,
    start: date,
    end: date,
    now: datetime | None = None,
    treatment: BookedTreatment | None = None,
    ignore_appointment: UUID | None = None,
) -> list[Slot]:
    """The dentist's free starts of `treatment` (the default type when None) on local
    dates start..end (inclusive)."""
    now = now or datetime.now(UTC)
    row, inputs = await snapshot(
        await uow.connection(),
        dentist_id=dentist_id,
        start=start,
        end=end,
        now=now,
        ignore_appointment=ignore_appointment,
    )
    if treatment is None:
        treatment = await treatment_for(uow=uow, dentist=row, treatment_id=None, staff=True)
    return inputs.free(
        row,
        treatment=engine_treatment(treatment),
        settings=settings,
        start=start,
        end=end,
        now=now,
    )


ALTERNATIVES = 5
ALTERNATIVES_HORIZON_DAYS = 21


async def alternatives(
    *,
    uow: UnitOfWork,
    settings: Settings,
    dentist_id: UUID,
    treatment: BookedTreatment | None,
    after: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """The dentist's next free starts of `treatment` after `after` (up to five)."""
    start_at = max(after, now)
    first = start_at.date() - timedelta(days=1)
    try:
        slots = await free_slots(
            uow=uow,
            settings=settings,
            dentist_id=dentist_id,
            start=first,
            end=first + timedelta(days=ALTERNATIVES_HORIZON_DAYS),
            now=now,
            treatment=treatment,
        )
    except NotFound:
        return []
    later = [s for s in slots if s.starts_at >= start_at][:ALTERNATIVES]
    return [
        {
            "date": s.date.isoformat(),
            "time": f"{s.time:%H:%M}",
            "starts_at": iso_instant(s.starts_at),
        }
        for s in later
    ]


def slot_json(slot: Slot) -> dict[str, Any]:
    """A slot as the contract's JSON object (instants as UTC datetimes: the JSON response
    renders them as ISO 8601 with offset, much faster than isoformat() here)."""
    return {
        "date": slot.date.isoformat(),
        "time": f"{slot.time.hour:02d}:{slot.time.minute:02d}",
        "starts_at": slot.starts_at.astimezone(UTC),
        "ends_at": slot.ends_at.astimezone(UTC),
    }


def check_slots_range(start: date, end: date, *, now: datetime) -> None:
    """The slots query's dates: each bookable (400), in order, at most 62 days."""
    for name, given in (("from", start), ("to", end)):
        check_bookable_date(given, now=now, loc=("query", name))
    if end < start:
        raise BadRequest("'to' must not be before 'from'.")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise BadRequest(f"The range may cover at most {MAX_RANGE_DAYS} days.")


@dataclass(frozen=True, slots=True)
class SlotsAnswer:
    """GET /api/dentists/{id}/slots's answer, its slots, and when the first live hold
    counted in it expires (None: none is live)."""

    body: dict[str, Any]
    slots: list[Slot]
    hold_expires: datetime | None


async def slots_answer(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal | None,
    dentist_id: UUID,
    start: date | None,
    end: date | None,
    treatment_id: UUID | None = None,
    now: datetime | None = None,
    ignore_hold: UUID | None = None,
) -> SlotsAnswer:
    """GET /api/dentists/{id}/slots: free starts of a treatment in at most 62 days
    (`ignore_hold`: as if that hold, the caller's own, were not there)."""
    now = now or datetime.now(UTC)
    if start is None or end is None:
        # A date given is refused before the dentist is looked up for the other one.
        for name, given in (("from", start), ("to", end)):
            if given is not None:
                check_bookable_date(given, now=now, loc=("query", name))
        dentist = await dentists.dentist_by_id((await uow.connection()), dentist_id)
        if dentist is None or not dentist["active"]:
            raise NotFound("No such dentist.")
        today = now.astimezone(zone(dentist["timezone"])).date()
        start = start or today
        end = end or start + timedelta(days=6)
    check_slots_range(start, end, now=now)
    row, inputs = await snapshot(
        await uow.connection(),
        dentist_id=dentist_id,
        start=start,
        end=end,
        now=now,
        ignore_hold=ignore_hold,
    )
    try:
        treatment = await treatment_for(
            uow=uow,
            dentist=row,
            treatment_id=treatment_id,
            staff=caller is not None and is_staff(caller.role),
            field="treatment_type_id",
        )
    except ValidationError as exc:
        raise ValidationError(
            exc.detail, fields=[{"loc": ["query", "treatment_type_id"], "msg": exc.detail}]
        ) from exc
    slots = inputs.free(
        row,
        treatment=engine_treatment(treatment),
        settings=settings,
        start=start,
        end=end,
        now=now,
    )
    body = {
        "dentist_id": str(dentist_id),
        "timezone": row["timezone"],
        "slot_minutes": row["slot_minutes"],
        "treatment_type_id": str(treatment.id),
        "duration_minutes": treatment.duration_minutes,
        "slots": [slot_json(s) for s in slots],
    }
    return SlotsAnswer(body, slots, row["next_hold_expiry"])


async def slots_json(
    *,
    uow: UnitOfWork,
    settings: Settings,
    cache: SlotsCache | None,
    caller: Principal | None,
    dentist_id: UUID,
    start: date | None,
    end: date | None,
    treatment_id: UUID | None,
    now: datetime,
) -> bytes:
    """GET /api/dentists/{id}/slots rendered, from the process's cache when it holds the
    answer (both dates given; see cache.py), without touching the database."""
    key: Key | None = None
    generation = 0
    if cache is not None and start is not None and end is not None:
        check_slots_range(start, end, now=now)
        key = (dentist_id, start, end, treatment_id, caller is not None and is_staff(caller.role))
        cached = cache.lookup(key, now)
        if cached is not None:
            return cached
        generation = cache.generation  # read before the query: see SlotsCache.store
    answer = await slots_answer(
        uow=uow,
        settings=settings,
        caller=caller,
        dentist_id=dentist_id,
        start=start,
        end=end,
        treatment_id=treatment_id,
        now=now,
    )
    if cache is None or key is None:
        return orjson.dumps(answer.body)
    return cache.store(
        key,
        generation=generation,
        body=answer.body,
        starts=[s.starts_at for s in answer.slots],
        now=now,
        expires=answer.hold_expires,
    )


async def dentists_with_hours(*, uow: UnitOfWork, now: datetime | None = None) -> set[str]:
    """Ids of the dentists who have opening hours (weekly, or extra hours still to come):
    a dentist without any has nothing to book, whatever the directory lists."""
    # A day's margin: "still to come" in the dentist's zone, whichever it is.
    since = (now or datetime.now(UTC)).date() - timedelta(days=1)
    ids = await repository.dentists_with_hours(await uow.connection(), since=since)
    return {str(i) for i in ids}
