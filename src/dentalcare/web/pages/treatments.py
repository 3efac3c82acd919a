"""Booking starts with the treatment: the ones the caller may book (length and price),
then the dentists who perform one, with their next free starts for it. Picking a start
holds it (`web.pages.booking`); all of it plain links and forms.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.availability import service as availability
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.dentists import service as dentists
from dentalcare.errors import NotFound
from dentalcare.treatments import service as treatments
from dentalcare.web.chrome import facts_of
from dentalcare.web.errors import not_found
from dentalcare.web.pages import picker
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import PageUser
from dentalcare.web.templating import render

router = APIRouter()

# How far ahead the treatment page looks for each dentist's next free starts.
NEXT_DAYS = 14
NEXT_STARTS = 6


@router.get("/book")
async def treatment_list(request: Request, uow: Uow, user: PageUser) -> Response:
    """The treatments the caller may book, with their length and price."""
    offered = [t for t in await treatments.list_treatments(uow=uow, caller=user) if t["active"]]
    return render(request, "patient/treatments.html", {"page": "treatments", "treatments": offered})


@router.get("/book/{treatment_id}")
async def treatment_dentists(
    request: Request,
    treatment_id: str,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    clock: AppClock,
) -> Response:
    """The dentists who perform a treatment and their next free starts for it."""
    try:
        treatment = await treatments.get_treatment(
            uow=uow, caller=user, treatment_id=parse_id(treatment_id)
        )
    except NotFound:
        raise not_found("That treatment cannot be booked online.") from None
    if not treatment["active"]:
        raise not_found("That treatment is no longer offered.")
    now = clock.now()
    performing = [
        d
        for d in await dentists.list_dentists(uow=uow, caller=user)
        if picker.performs(treatment, d["id"])
    ]
    today = picker.local_today(facts_of(request).timezone, now)
    free = await availability.free_slots_of_dentists(
        uow=uow,
        settings=settings,
        dentist_ids=[UUID(d["id"]) for d in performing],
        start=today,
        end=today + timedelta(days=NEXT_DAYS - 1),
        now=now,
        treatment_id=UUID(treatment["id"]),
    )
    shown = []
    for dentist in performing:
        starts = free.get(UUID(dentist["id"]), [])[:NEXT_STARTS]
        shown.append(
            {
                **dentist,
                "minutes": picker.with_minutes(treatment, dentist["slot_minutes"])["minutes"],
                "next": [{"date": s.date.isoformat(), "time": f"{s.time:%H:%M}"} for s in starts],
            }
        )
    context = {
        "page": "treatment-dentists",
        "dentist_zones": {d["id"]: d["timezone"] for d in performing},
        "treatment": treatment,
        "dentists": shown,
        "days": NEXT_DAYS,
    }
    return render(request, "patient/treatment_dentists.html", context)
