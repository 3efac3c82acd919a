"""Staff book for a caller and move or cancel any appointment (issue 15, item 1).

`/admin/appointments/new`: find the patient (or type a new caller), pick the treatment, a
dentist who performs it, a day and one of its free starts, and book as the front desk
(or the admin). Reschedule (day, time, dentist; same treatment) from the appointment
detail page. Every step is a plain form, so it all works without JavaScript.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentCreate, AppointmentUpdate
from dentalcare.auth.tokens import Principal
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.dentists import service as dentists
from dentalcare.errors import DentalCareError, NotFound, SlotUnavailable
from dentalcare.patients import service as patients
from dentalcare.ratelimit import Limits
from dentalcare.timezones import zone
from dentalcare.treatments import service as treatments
from dentalcare.web import forms, phones
from dentalcare.web.chrome import facts_of
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages import picker
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.pages.zones import when_label
from dentalcare.web.session import StaffPage
from dentalcare.web.templating import redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()

CALLER_FIELDS = ("patient_name", "patient_email", "patient_phone")
BOOKING_FIELDS = (
    *CALLER_FIELDS,
    "treatment_type_id",
    "dentist_id",
    "appointment_date",
    "appointment_time",
    "chief_complaint",
)
CHOOSE_TIME = "Choose one of the free times."


def _day(value: str | None, today: date) -> date:
    """A date field's value (today when missing or malformed, never before today)."""
    try:
        return max(date.fromisoformat(value or ""), today)
    except ValueError:
        return today


def _today(settings: AppSettings, now: datetime) -> date:
    return now.astimezone(zone(settings.clinic_timezone)).date()


async def choices(
    request: Request,
    *,
    uow: Uow,
    settings: AppSettings,
    user: Principal,
    treatment_id: str | None,
    dentist_id: str | None,
    on: date,
    now: datetime,
) -> dict[str, Any]:
    """The treatments, the chosen one, its dentists, the chosen one and its free starts."""
    options = [t for t in await treatments.list_treatments(uow=uow, caller=user) if t["active"]]
    by_id = {t["id"]: t for t in options}
    default = str(facts_of(request).default_treatment_type_id)
    treatment = by_id.get(treatment_id or "") or by_id.get(default) or next(iter(options), None)
    everyone = await dentists.list_dentists(uow=uow, caller=user)
    able = [d for d in everyone if treatment is None or picker.performs(treatment, d["id"])]
    dentist = next((d for d in able if d["id"] == dentist_id), None) or next(iter(able), None)
    times: list[str] = []
    if treatment is not None and dentist is not None:
        times = await picker.free_times(
            uow=uow,
            settings=settings,
            caller=user,
            dentist_id=dentist["id"],
            treatment_id=treatment["id"],
            on=on,
            hold=None,
            now=now,
        )
    return {
        "treatments": options,
        "treatment": treatment,
        "dentists": able,
        "dentist": dentist,
        "day": on,
        "times": times,
        "dentist_zones": {d["id"]: d["timezone"] for d in able},
    }


async def _new_page(
    request: Request,
    *,
    uow: Uow,
    settings: AppSettings,
    user: Principal,
    now: datetime,
    query: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
) -> Response:
    today = _today(settings, now)
    context: dict[str, Any] = {
        "page": "admin-new-appointment",
        "query": query,
        "results": (await patients.search(uow=uow, caller=user, text=query))["items"]
        if query
        else None,
        "form": values,
        "errors": errors or {},
        "today": today,
        "back": "/admin",
        **await choices(
            request,
            uow=uow,
            settings=settings,
            user=user,
            treatment_id=values.get("treatment_type_id"),
            dentist_id=values.get("dentist_id"),
            on=_day(values.get("appointment_date"), today),
            now=now,
        ),
    }
    context["choose_url"] = _choose_url
    return render(
        request,
        "admin/new_appointment.html",
        context,
        status_code=422 if errors else 200,
    )


def _choose_url(person: dict[str, Any], form: dict[str, str]) -> str:
    """The page with a found patient's name, e-mail and phone filled in."""
    kept: dict[str, str] = {
        k: form[k] for k in ("treatment_type_id", "dentist_id", "appointment_date") if k in form
    }
    chosen: dict[str, str] = {
        "patient_name": str(person.get("full_name") or ""),
        "patient_email": str(person.get("email") or ""),
        "patient_phone": str(person.get("phone") or ""),
    }
    return "/admin/appointments/new?" + urlencode({**chosen, **kept}) + "#appointment-title"


@router.get("/admin/appointments/new")
async def new_appointment(
    request: Request,
    user: StaffPage,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
    q: str = "",
    patient_name: str = "",
    patient_email: str = "",
    patient_phone: str = "",
    treatment_type_id: str = "",
    dentist_id: str = "",
    appointment_date: str = "",
) -> Response:
    """Find or type the caller, then the treatment, dentist, day and free start."""
    given = {
        "patient_name": patient_name,
        "patient_email": patient_email,
        "patient_phone": patient_phone,
        "treatment_type_id": treatment_type_id,
        "dentist_id": dentist_id,
        "appointment_date": appointment_date,
    }
    values = {k: v.strip()[:200] for k, v in given.items() if v.strip()}
    return await _new_page(
        request,
        uow=uow,
        settings=settings,
        user=user,
        now=clock.now(),
        query=q.strip()[:100],
        values=values,
    )


@router.post("/admin/appointments/new")
async def book_for_caller(
    request: Request,
    form: CheckedForm,
    user: StaffPage,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    clock: AppClock,
) -> Response:
    """Book the chosen start for the caller (source: front desk, or admin)."""
    now = clock.now()
    values = clean_form(form, BOOKING_FIELDS)
    try:
        if "appointment_time" not in values:
            raise forms.FormInvalid({"appointment_time": CHOOSE_TIME})
        body = forms.parse(
            AppointmentCreate,
            {"patient_name": "", "patient_email": "", **values},
            phone_region=phones.clinic_region(settings),
        )
        async with uow.savepoint():
            booked = await appointments.book_appointment(
                uow=uow,
                settings=settings,
                throttle=limits,
                caller=user,
                request=body,
                now=now,
            )
    except forms.FormInvalid as exc:
        errors = exc.errors
        for hidden in ("dentist_id", "treatment_type_id", "appointment_date"):
            if hidden in errors:
                errors.setdefault("appointment_time", errors.pop(hidden))
    except SlotUnavailable as exc:
        errors = {"appointment_time": exc.detail + " Please choose another time."}
    except DentalCareError as exc:
        errors = forms.errors_of_service(exc)
    else:
        when = await when_label(
            uow=uow, caller=user, appointment=booked, fallback=settings.clinic_timezone
        )
        return redirect(
            request,
            f"/appointments/{booked['id']}",
            message=f"Booked: {booked['patient_name']}, {when} ({booked['booking_reference']})",
        )
    values.pop("appointment_time", None)
    return await _new_page(
        request,
        uow=uow,
        settings=settings,
        user=user,
        now=now,
        query="",
        values=values,
        errors=errors,
    )


# ------------------------------------------------------------------- move an appointment


async def reschedule_context(
    request: Request,
    *,
    uow: Uow,
    settings: AppSettings,
    user: Principal,
    appointment: dict[str, Any],
    dentist_id: str | None,
    on: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The detail page's "Move" form: the dentists who perform the appointment's treatment,
    the chosen one (default: its own) and the chosen day's free starts."""
    today = _today(settings, now)
    treatment_id = appointment.get("treatment_type_id") or str(
        facts_of(request).default_treatment_type_id
    )
    found = await choices(
        request,
        uow=uow,
        settings=settings,
        user=user,
        treatment_id=str(treatment_id),
        dentist_id=dentist_id or str(appointment["dentist_id"]),
        on=_day(on or str(appointment["appointment_date"]), today),
        now=now,
    )
    return {
        "move": {
            "dentists": found["dentists"],
            "dentist": found["dentist"],
            "day": found["day"],
            "times": found["times"],
            "today": today,
        }
    }


@router.post("/appointments/{appointment_id}/reschedule")
async def reschedule(
    request: Request,
    appointment_id: str,
    form: CheckedForm,
    user: StaffPage,
    uow: Uow,
    settings: AppSettings,
) -> Response:
    """Move any appointment to another day, time or dentist (same treatment)."""
    found_id = parse_id(appointment_id)
    back = f"/appointments/{found_id}"
    values = clean_form(form, ("dentist_id", "appointment_date", "appointment_time"))
    if "appointment_time" not in values or "appointment_date" not in values:
        return redirect(request, back + "#move-title", message=CHOOSE_TIME, kind="error")
    try:
        change = forms.parse(AppointmentUpdate, values)
        moved = await appointments.update_appointment(
            uow=uow, settings=settings, caller=user, appointment_id=found_id, request=change
        )
    except NotFound:
        raise not_found("No such appointment.") from None
    except forms.FormInvalid as exc:
        detail = next(iter(exc.errors.values()), CHOOSE_TIME)
        return redirect(request, back + "#move-title", message=detail, kind="error")
    except DentalCareError as exc:
        return redirect(request, back + "#move-title", message=exc.detail, kind="error")
    when = await when_label(
        uow=uow, caller=user, appointment=moved, fallback=settings.clinic_timezone
    )
    return redirect(request, back, message=f"Moved to {moved['dentist_name']}, {when}.")
