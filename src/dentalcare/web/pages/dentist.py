"""The dentist portal: today, the week calendar and upcoming appointments, kept live."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.availability import service as availability
from dentalcare.clinic import service as clinic
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.dentists import service as dentists
from dentalcare.timezones import zone
from dentalcare.vocabulary import ACTIVE, Status
from dentalcare.web.calendar import week_calendar
from dentalcare.web.session import DentistPage
from dentalcare.web.templating import render
from dentalcare.web.views import build_week, parse_start

router = APIRouter()

UPCOMING_DAYS = 60
# The filter chips over the upcoming list: everything, or one status.
FILTERS: dict[str, Status | None] = {
    "all": None,
    "pending": "pending",
    "confirmed": "confirmed",
    "cancelled": "cancelled",
}


async def appointments_between(uow: UnitOfWork, start: date, end: date) -> list[dict[str, Any]]:
    """The dentist's appointments on local dates start..end (at most 200)."""
    page = await appointments.list_appointments(
        uow=uow,
        status=None,
        dentist_id=None,
        date_from=start,
        date_to=end,
        limit=200,
        cursor=None,
    )
    items: list[dict[str, Any]] = page["items"]
    return items


def greeting(hour: int) -> str:
    """Good morning / afternoon / evening."""
    if hour < 12:
        return "Good morning"
    return "Good afternoon" if hour < 18 else "Good evening"


@router.get("/dentist")
async def board(
    request: Request,
    user: DentistPage,
    uow: Uow,
    settings: AppSettings,
    week: str | None = None,
    show: str = "all",
) -> Response:
    """Today's list, the week calendar (visits as long as they last, time off, closed
    days) and the upcoming appointments."""
    assert user.dentist_id is not None
    dentist = await dentists.get_dentist(uow=uow, caller=user, dentist_id=user.dentist_id)
    now = datetime.now(UTC).astimezone(zone(dentist["timezone"]))
    today = now.date()
    start = parse_start(week, today)
    show = show if show in FILTERS else "all"
    todays = await appointments_between(uow, today, today)
    upcoming = await appointments_between(
        uow, today + timedelta(days=1), today + timedelta(days=UPCOMING_DAYS)
    )
    shown = [a for a in upcoming if FILTERS[show] in (None, a["status"])]
    in_week = await appointments_between(uow, start, start + timedelta(days=6))
    schedule = await availability.get_availability(uow=uow, caller=user, dentist_id=user.dentist_id)
    closures = (await clinic.get_clinic(uow=uow, settings=settings))["closures"]
    context = {
        "page": "dentist-board",
        "dentist": dentist,
        "dentist_zones": {dentist["id"]: dentist["timezone"]},
        "greeting": greeting(now.hour),
        "today": today,
        "todays": todays,
        "upcoming": shown,
        "show": show,
        "filters": list(FILTERS),
        "week": build_week(start, today, in_week, date_key="appointment_date"),
        "calendar": week_calendar(
            start=start,
            today=today,
            appointments=in_week,
            weekly=schedule["weekly"],
            exceptions=schedule["exceptions"],
            closures=closures,
        ),
        "counts": {
            "today": sum(1 for a in todays if a["status"] in ACTIVE),
            "pending": sum(1 for a in todays + upcoming if a["status"] == "pending"),
            "week": sum(1 for a in in_week if a["status"] != "cancelled"),
        },
    }
    return render(request, "dentist/board.html", context)
