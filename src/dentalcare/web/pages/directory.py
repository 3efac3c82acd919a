"""The patient site: the dentist directory, a dentist's profile with the slot picker, booking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentCreate
from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.config import Settings
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.dentists import service as dentists
from dentalcare.errors import DentalCareError, NotFound, SlotUnavailable
from dentalcare.ratelimit import Limits
from dentalcare.timezones import zone
from dentalcare.web import forms
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages.bookings import remember
from dentalcare.web.session import PageUser
from dentalcare.web.templating import is_htmx, redirect, render
from dentalcare.web.views import Week, build_week, clean_form, parse_start

router = APIRouter()

BOOKING_FIELDS = (
    "appointment_date",
    "appointment_time",
    "patient_name",
    "patient_email",
    "patient_phone",
    "patient_age",
    "chief_complaint",
    "patient_medical_conditions",
    "medical_history",
    "medications",
    "allergies",
    "notes",
    "payment_method",
)
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
    body = await availability.slots_response(
        uow=uow,
        settings=settings,
        dentist_id=UUID(dentist["id"]),
        start=start,
        end=start + timedelta(days=6),
    )
    return build_week(start, today, body["slots"], date_key="date")


def _prefill(user: Principal | None) -> dict[str, str]:
    if user is None or user.role != "patient":
        return {}
    return {
        "patient_name": user.full_name,
        "patient_email": user.email,
        "patient_phone": user.phone or "",
    }


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
    context = {
        "page": "directory",
        "dentists": shown,
        "specialties": sorted({d["specialization"] for d in everyone}),
        "q": q,
        "specialty": specialty,
        "total": len(everyone),
    }
    return render(request, "patient/directory.html", context)


@router.get("/dentists/{dentist_id}")
async def profile(
    request: Request,
    dentist_id: str,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    week: str | None = None,
) -> Response:
    """A dentist's profile, the week's free slots and the booking form."""
    dentist = await visible_dentist(uow, user, parse_id(dentist_id))
    context = await _profile_context(uow, settings, user, dentist, week)
    return render(request, "patient/dentist.html", context)


async def _profile_context(
    uow: UnitOfWork,
    settings: Settings,
    user: Principal | None,
    dentist: dict[str, Any],
    week: str | None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "page": "dentist",
        "dentist": dentist,
        "week": await slot_week(uow=uow, settings=settings, dentist=dentist, week=week),
        "form": _prefill(user),
        "alternatives": [],
        **extra,
    }


@router.get("/dentists/{dentist_id}/week")
async def week_fragment(
    request: Request,
    dentist_id: str,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    start: str | None = None,
) -> Response:
    """The slot picker for one week (htmx fragment)."""
    try:
        dentist = await dentists.get_dentist(uow=uow, caller=user, dentist_id=parse_id(dentist_id))
    except NotFound:
        return render(request, "partials/picker_gone.html", {"message": GONE})
    week = await slot_week(uow=uow, settings=settings, dentist=dentist, week=start)
    return render(request, "partials/slot_picker.html", {"dentist": dentist, "week": week})


@router.post("/dentists/{dentist_id}/book")
async def book(
    request: Request,
    dentist_id: str,
    form: CheckedForm,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    limits: Limits,
) -> Response:
    """Book the chosen slot; errors are shown at their fields, a taken slot with options."""
    dentist = await visible_dentist(uow, user, parse_id(dentist_id))
    values = clean_form(form, BOOKING_FIELDS)
    alternatives: list[dict[str, Any]] = []
    try:
        body = forms.parse(AppointmentCreate, {**values, "dentist_id": dentist["id"]})
        appointment = await appointments.book_appointment(
            uow=uow, settings=settings, throttle=limits, caller=user, request=body
        )
    except forms.FormInvalid as exc:
        errors = exc.errors
    except SlotUnavailable as exc:
        errors = {"appointment_time": exc.detail + " Please choose another time."}
        alternatives = list(exc.extra.get("alternatives", []))
        values.pop("appointment_date", None)
        values.pop("appointment_time", None)
    except DentalCareError as exc:
        errors = forms.errors_of_service(exc)
    else:
        response = redirect(request, f"/bookings/{appointment['booking_reference']}")
        remember(request, response, appointment)
        return response
    context = {"dentist": dentist, "form": values, "errors": errors, "alternatives": alternatives}
    if is_htmx(request):
        return render(request, "partials/booking_form.html", context, status_code=422)
    full = await _profile_context(uow, settings, user, dentist, values.get("appointment_date"))
    return render(request, "patient/dentist.html", {**full, **context}, status_code=422)
