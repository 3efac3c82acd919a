"""The booking page's parts: which treatment, its free starts in a week, the browser's hold.

Shared by the dentist's profile (picker and form) and the treatment-first pages.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.config import Settings
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.timezones import zone
from dentalcare.treatments import service as treatments
from dentalcare.web import localtime
from dentalcare.web.holding import PageHold
from dentalcare.web.views import Week, build_week, parse_start

WEEKS_AHEAD = 26


def performs(treatment: dict[str, Any], dentist_id: str) -> bool:
    """Whether the dentist performs the treatment (no dentists named: everyone does)."""
    return not treatment["dentist_ids"] or dentist_id in treatment["dentist_ids"]


def with_minutes(treatment: dict[str, Any], slot_minutes: int) -> dict[str, Any]:
    """The treatment with `minutes`: its length with this dentist (a type without a length
    takes the dentist's slot length)."""
    return {**treatment, "minutes": treatment["duration_minutes"] or slot_minutes}


async def dentist_treatments(
    *, uow: UnitOfWork, caller: Principal | None, dentist: dict[str, Any]
) -> list[dict[str, Any]]:
    """The active treatments the dentist performs that the caller may book (only the
    online-bookable ones for patients and guests), each with its `minutes`."""
    offered = await treatments.list_treatments(uow=uow, caller=caller)
    return [
        with_minutes(t, dentist["slot_minutes"])
        for t in offered
        if t["active"] and performs(t, dentist["id"])
    ]


def choose_treatment(
    options: list[dict[str, Any]],
    *,
    wanted: str | None,
    hold: PageHold | None,
    default_id: str,
) -> dict[str, Any] | None:
    """The treatment the page shows: the one asked for, else the held one, else the
    clinic's default, else the first (None when the dentist offers none)."""
    by_id = {t["id"]: t for t in options}
    for candidate in (wanted, hold.treatment_type_id if hold else None, default_id):
        if candidate in by_id:
            return by_id[candidate]
    return options[0] if options else None


def local_today(timezone: str, now: datetime) -> date:
    """Today on a dentist's clock."""
    return now.astimezone(zone(timezone)).date()


async def slot_week(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal | None,
    dentist: dict[str, Any],
    treatment: dict[str, Any],
    week: str | None,
    hold: PageHold | None,
    now: datetime,
) -> Week:
    """The free starts of `treatment` with the dentist on 7 days from `week` (default
    today), as if the browser's own live hold on this dentist were not there (picking
    another start gives it back); its start is marked `mine`."""
    today = local_today(dentist["timezone"], now)
    last = today + timedelta(weeks=WEEKS_AHEAD)
    start = min(max(parse_start(week, today), today), last)
    end = start + timedelta(days=6)
    answer = await availability.slots_answer(
        uow=uow,
        settings=settings,
        caller=caller,
        dentist_id=UUID(dentist["id"]),
        start=start,
        end=end,
        treatment_id=UUID(treatment["id"]),
        now=now,
        ignore_hold=own_hold(hold, dentist_id=dentist["id"], now=now),
    )
    mine = (hold.date, hold.time) if hold and hold.is_for(dentist["id"], treatment["id"]) else None
    slots: list[dict[str, Any]] = [
        {"date": s["date"], "time": s["time"], "mine": (s["date"], s["time"]) == mine}
        for s in answer.body["slots"]
    ]
    return build_week(start, today, slots, date_key="date")


def own_hold(hold: PageHold | None, *, dentist_id: str, now: datetime) -> UUID | None:
    """The browser's live hold on this dentist, which its own pages look past."""
    if hold is None or not hold.live(now) or not hold.is_for(dentist_id):
        return None
    try:
        return UUID(hold.hold_id)
    except ValueError:
        return None


async def free_times(
    *,
    uow: UnitOfWork,
    settings: Settings,
    caller: Principal | None,
    dentist_id: str,
    treatment_id: str,
    on: date,
    hold: PageHold | None,
    now: datetime,
) -> list[str]:
    """The free starts of a treatment on one day, as the browser's own page sees them."""
    answer = await availability.slots_answer(
        uow=uow,
        settings=settings,
        caller=caller,
        dentist_id=UUID(dentist_id),
        start=on,
        end=on,
        treatment_id=UUID(treatment_id),
        now=now,
        ignore_hold=own_hold(hold, dentist_id=dentist_id, now=now),
    )
    return [s["time"] for s in answer.body["slots"]]


def hold_view(hold: PageHold, *, timezone: str, now: datetime) -> dict[str, Any]:
    """What the form says about a live hold: until when (dentist's clock) and how long."""
    until = hold.expires_at.astimezone(zone(timezone))
    return {
        "hold": hold,
        "until": f"{until:%H:%M} {localtime.abbreviation(until)}",
        "seconds_left": max(0, int((hold.expires_at - now).total_seconds())),
    }
