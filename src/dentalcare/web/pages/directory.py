"""The patient site: the dentist directory, and the week picker that rescheduling uses
(booking itself, treatment first, is `web.pages.booking`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.config import Settings
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.dentists import service as dentists
from dentalcare.errors import NotFound
from dentalcare.timezones import zone
from dentalcare.web.errors import not_found
from dentalcare.web.session import PageUser
from dentalcare.web.templating import render
from dentalcare.web.views import Week, build_week, parse_start

router = APIRouter()

WEEKS_AHEAD = 26
GONE = "This dentist is not taking bookings here any more."


def parse_id(value: str) -> UUID:
    """A UUID from a path, or the 404 page."""
    try:
        return UUID(value)
    except ValueError:
        raise not_found() from None


async def visible_dentist(
    uow: UnitOfWork, user: Principal | None, dentist_id: UUID
) -> dict[str, Any]:
    """A dentist in the directory, or the 404 page."""
    try:
        return await dentists.get_dentist(uow=uow, caller=user, dentist_id=dentist_id)
    except NotFound:
        raise not_found(GONE) from None


async def slot_week(
    *, uow: UnitOfWork, settings: Settings, dentist: dict[str, Any], week: str | None
) -> Week:
    """A dentist's free slots on 7 days from `week` (default today), in their time zone."""
    today = datetime.now(UTC).astimezone(zone(dentist["timezone"])).date()
    last = today + timedelta(weeks=WEEKS_AHEAD)
    start = min(max(parse_start(week, today), today), last)
    answer = await availability.slots_answer(
        uow=uow,
        settings=settings,
        caller=None,
        dentist_id=UUID(dentist["id"]),
        start=start,
        end=start + timedelta(days=6),
    )
    return build_week(start, today, answer.body["slots"], date_key="date")


@router.get("/")
async def directory(
    request: Request, uow: Uow, user: PageUser, q: str = "", specialty: str = ""
) -> Response:
    """Every dentist, searchable by name and specialty."""
    q, specialty = q.strip()[:100], specialty.strip()[:120]
    everyone = await dentists.list_dentists(uow=uow, caller=user)
    shown = everyone
    if q or specialty:
        shown = await dentists.list_dentists(
            uow=uow, caller=user, search=q or None, specialization=specialty or None
        )
    with_hours = await availability.dentists_with_hours(uow=uow)
    context = {
        "page": "directory",
        "dentists": shown,
        "with_hours": with_hours,
        "specialties": sorted({d["specialization"] for d in everyone}),
        "q": q,
        "specialty": specialty,
        "total": len(everyone),
        # Only a dentist with opening hours is taking bookings (issue 18): no hours, no slots.
        "taking": sum(1 for d in everyone if d["id"] in with_hours),
    }
    return render(request, "patient/directory.html", context)


@router.get("/dentists/{dentist_id}/week")
async def week_fragment(
    request: Request,
    dentist_id: str,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    start: str | None = None,
) -> Response:
    """The week picker of the reschedule page (htmx fragment)."""
    try:
        dentist = await dentists.get_dentist(uow=uow, caller=user, dentist_id=parse_id(dentist_id))
    except NotFound:
        return render(request, "partials/picker_gone.html", {"message": GONE})
    if not dentist["active"]:
        return render(request, "partials/picker_gone.html", {"message": GONE})
    week = await slot_week(uow=uow, settings=settings, dentist=dentist, week=start)
    return render(request, "partials/slot_picker.html", {"dentist": dentist, "week": week})
