"""/my/appointments: a patient's bookings, live, with cancel, reschedule and calendar files."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentUpdate
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.dentists import service as dentists
from dentalcare.errors import DentalCareError, NotFound, SlotUnavailable
from dentalcare.web import forms
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages.bookings import calendar_response
from dentalcare.web.pages.directory import parse_id, slot_week
from dentalcare.web.pages.zones import dentist_zones, when_label
from dentalcare.web.session import PatientPage
from dentalcare.web.templating import redirect, render
from dentalcare.web.views import clean_form, split_upcoming

router = APIRouter()
LIST_LIMIT = 200


@router.get("/my/appointments")
async def my_appointments(request: Request, user: PatientPage, uow: Uow) -> Response:
    """Upcoming and past appointments; the page follows changes live."""
    page = await appointments.list_appointments(
        uow=uow,
        status=None,
        dentist_id=None,
        date_from=None,
        date_to=None,
        limit=LIST_LIMIT,
        cursor=None,
    )
    upcoming, past = split_upcoming(page["items"], datetime.now(UTC))
    context = {
        "page": "my",
        "upcoming": upcoming,
        "past": past,
        "dentist_zones": await dentist_zones(uow=uow, caller=user),
    }
    return render(request, "patient/my_appointments.html", context)


async def _own(uow: Uow, appointment_id: str) -> dict[str, object]:
    try:
        return await appointments.get_appointment(uow=uow, appointment_id=parse_id(appointment_id))
    except NotFound:
        raise not_found("We could not find that appointment in your account.") from None


@router.get("/my/appointments/{appointment_id}/calendar.ics")
async def my_calendar(
    request: Request, appointment_id: str, user: PatientPage, uow: Uow
) -> Response:
    """One of my appointments as an iCalendar file."""
    return calendar_response(request, await _own(uow, appointment_id))


@router.get("/my/appointments/{appointment_id}/reschedule")
async def reschedule_page(
    request: Request,
    appointment_id: str,
    user: PatientPage,
    uow: Uow,
    settings: AppSettings,
    week: str | None = None,
) -> Response:
    """Pick a new time with the same dentist."""
    appointment = await _own(uow, appointment_id)
    return await _reschedule_render(request, user, uow, settings, appointment, week, {}, {})


async def _reschedule_render(
    request: Request,
    user: PatientPage,
    uow: Uow,
    settings: AppSettings,
    appointment: dict[str, object],
    week: str | None,
    values: dict[str, str],
    errors: dict[str, str],
) -> Response:
    try:
        dentist = await dentists.get_dentist(
            uow=uow, caller=user, dentist_id=UUID(str(appointment["dentist_id"]))
        )
    except NotFound:
        raise not_found("This dentist is not taking bookings any more.") from None
    week_of = await slot_week(
        uow=uow,
        settings=settings,
        dentist=dentist,
        week=week or str(appointment["appointment_date"]),
    )
    context = {
        "page": "reschedule",
        "a": appointment,
        "dentist": dentist,
        "dentist_zones": {dentist["id"]: dentist["timezone"]},
        "week": week_of,
        "form": values,
        "errors": errors,
    }
    return render(request, "patient/reschedule.html", context, status_code=422 if errors else 200)


@router.post("/my/appointments/{appointment_id}/reschedule")
async def reschedule_submit(
    request: Request,
    appointment_id: str,
    form: CheckedForm,
    user: PatientPage,
    uow: Uow,
    settings: AppSettings,
) -> Response:
    """Move the appointment to the chosen slot."""
    appointment = await _own(uow, appointment_id)
    values = clean_form(form, ("appointment_date", "appointment_time"))
    try:
        if "appointment_date" not in values or "appointment_time" not in values:
            raise forms.FormInvalid({"appointment_time": forms.FRIENDLY["appointment_time"]})
        change = forms.parse(AppointmentUpdate, values)
        moved = await appointments.update_appointment(
            uow=uow,
            settings=settings,
            caller=user,
            appointment_id=UUID(str(appointment["id"])),
            request=change,
        )
    except forms.FormInvalid as exc:
        errors = exc.errors
    except SlotUnavailable as exc:
        errors = {"appointment_time": exc.detail + " Please choose another time."}
    except DentalCareError as exc:
        errors = {"__all__": exc.detail}
    else:
        when = await when_label(
            uow=uow, caller=user, appointment=moved, fallback=settings.clinic_timezone
        )
        return redirect(request, "/my/appointments", message=f"Moved to {when}.")
    return await _reschedule_render(
        request, user, uow, settings, appointment, values.get("appointment_date"), values, errors
    )
