"""The admin's clinic set-up: the clinic's settings, its closed days, the chairs and each
dentist's default chair (treatment types are `web.pages.treatment_admin`).

Plain forms that post and come back (with a flash message, or with the errors at their
fields), so they work with or without JavaScript.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.clinic import service as clinic
from dentalcare.clinic.schemas import ChairCreate, ChairUpdate, ClinicUpdate, ClosureCreate
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.dentists import service as dentists
from dentalcare.dentists.schemas import DentistUpdate
from dentalcare.errors import DentalCareError
from dentalcare.treatments import service as treatments
from dentalcare.web import forms, phones
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import AdminPage
from dentalcare.web.templating import redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()

CLINIC_FIELDS = (
    "name",
    "timezone",
    "phone",
    "email",
    "address",
    "default_treatment_type_id",
    "cancellation_notice_hours",
    "hold_minutes",
    "reminder_hours",
)
# What to tell the admin, by field (`forms.FRIENDLY` words them for the booking form).
CLINIC_FRIENDLY = {
    "name": "Enter the clinic's name.",
    "timezone": "Enter a time zone such as Europe/London or America/New_York.",
    "phone": "Enter a phone number: digits, spaces and + ( ) - . only.",
    "email": "Enter an e-mail address, or leave it empty.",
    "cancellation_notice_hours": "Enter 0 to 720 hours.",
    "hold_minutes": "Enter 1 to 60 minutes.",
    "reminder_hours": "Enter hours before the visit, such as 24, 2 (each 1 to 720).",
}


def friendly(errors: dict[str, str], words: dict[str, str]) -> dict[str, str]:
    """Field errors in the page's own words where it has them."""
    return {field: words.get(field, message) for field, message in errors.items()}


# ------------------------------------------------------------------ chairs


async def _chairs_page(
    request: Request, user: AdminPage, uow: Uow, *, status_code: int = 200, **extra: Any
) -> Response:
    context: dict[str, Any] = {
        "page": "admin-chairs",
        "chairs": await clinic.list_chairs(uow=uow, include_inactive=True),
        "dentists": await dentists.list_dentists(uow=uow, caller=user),
        "form": {},
        **extra,
    }
    return render(request, "admin/chairs.html", context, status_code=status_code)


@router.get("/admin/chairs")
async def chairs_page(request: Request, user: AdminPage, uow: Uow) -> Response:
    """The chairs, the form to add one, and each dentist's default chair."""
    return await _chairs_page(request, user, uow)


@router.post("/admin/chairs")
async def add_chair(request: Request, form: CheckedForm, user: AdminPage, uow: Uow) -> Response:
    """Add a chair."""
    values = clean_form(form, ("name",))
    try:
        body = forms.parse(ChairCreate, {"name": "", **values})
        created = await clinic.create_chair(uow=uow, request=body)
    except forms.FormInvalid:
        errors = {"name": "Enter the chair's name (at most 80 characters)."}
    except DentalCareError as exc:
        errors = {"name": exc.detail}
    else:
        return redirect(request, "/admin/chairs", message=f"{created['name']} added.")
    return await _chairs_page(request, user, uow, form=values, errors=errors, status_code=422)


async def _change_chair(
    request: Request, uow: Uow, chair_id: str, change: ChairUpdate, done: str
) -> Response:
    try:
        saved = await clinic.update_chair(uow=uow, chair_id=parse_id(chair_id), request=change)
    except DentalCareError as exc:
        return redirect(request, "/admin/chairs", message=exc.detail, kind="error")
    return redirect(request, "/admin/chairs", message=done.format(name=saved["name"]))


@router.post("/admin/chairs/{chair_id}/rename")
async def rename_chair(
    request: Request, chair_id: str, form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Rename a chair."""
    name = str(form.get("name") or "").strip()
    if not 1 <= len(name) <= 80:
        message = "Enter the chair's new name (at most 80 characters)."
        return redirect(request, "/admin/chairs", message=message, kind="error")
    return await _change_chair(request, uow, chair_id, ChairUpdate(name=name), "Renamed {name}.")


@router.post("/admin/chairs/{chair_id}/retire")
async def retire_chair(
    request: Request, chair_id: str, _form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Take a chair out of use (booked appointments keep it)."""
    change = ChairUpdate(active=False)
    return await _change_chair(request, uow, chair_id, change, "{name} is out of use.")


@router.post("/admin/chairs/{chair_id}/restore")
async def restore_chair(
    request: Request, chair_id: str, _form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Put a chair back in use."""
    change = ChairUpdate(active=True)
    return await _change_chair(request, uow, chair_id, change, "{name} is in use again.")


@router.post("/admin/chairs/defaults")
async def default_chairs(
    request: Request, form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Save each dentist's default chair (the first one their bookings take)."""
    changed = 0
    for dentist in await dentists.list_dentists(uow=uow, caller=user):
        chosen = str(form.get(f"chair-{dentist['id']}") or "")
        if not chosen or chosen == dentist["default_chair_id"]:
            continue
        try:
            await dentists.update_dentist(
                uow=uow,
                caller=user,
                dentist_id=UUID(dentist["id"]),
                request=DentistUpdate(default_chair_id=parse_id(chosen)),
            )
        except DentalCareError as exc:
            message = f"{dentist['name']}: {exc.detail}"
            return redirect(request, "/admin/chairs", message=message, kind="error")
        changed += 1
    message = f"Default chairs saved ({changed} changed)." if changed else "Nothing to change."
    return redirect(request, "/admin/chairs", message=message)


# ------------------------------------------------------------------ clinic settings, closures


def _clinic_form(current: dict[str, Any]) -> dict[str, Any]:
    form = {k: current[k] for k in CLINIC_FIELDS if k != "reminder_hours"}
    form["reminder_hours"] = ", ".join(str(h) for h in current["reminder_hours"])
    return form


async def _clinic_page(
    request: Request,
    user: AdminPage,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
    *,
    status_code: int = 200,
    closure_form: dict[str, Any] | None = None,
    closure_errors: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    closure_form, closure_errors = closure_form or {}, closure_errors or {}
    current = await clinic.get_clinic(uow=uow, settings=settings, now=clock.now())
    context: dict[str, Any] = {
        "page": "admin-clinic",
        "settings": current,
        "closures": current["closures"],
        "treatments": [
            t for t in await treatments.list_treatments(uow=uow, caller=user) if t["active"]
        ],
        "added": None,
        **extra,
    }
    # One page, two forms: the closure's fields (date, reason) are no setting's names.
    context["form"] = {**_clinic_form(current), **extra.get("form", {}), **closure_form}
    context["errors"] = {**extra.get("errors", {}), **closure_errors}
    return render(request, "admin/clinic.html", context, status_code=status_code)


@router.get("/admin/clinic")
async def clinic_page(
    request: Request, user: AdminPage, uow: Uow, settings: AppSettings, clock: AppClock
) -> Response:
    """The clinic's settings and its closures."""
    return await _clinic_page(request, user, uow, settings, clock)


def _reminders(text: str) -> list[int] | str:
    """`24, 2` as [24, 2] (the text itself when it is not a list of whole numbers)."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        return [int(p) for p in parts]
    except ValueError:
        return text


@router.post("/admin/clinic")
async def save_clinic(
    request: Request,
    form: CheckedForm,
    user: AdminPage,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
) -> Response:
    """Save the clinic's settings."""
    values = clean_form(form, CLINIC_FIELDS)
    changes: dict[str, Any] = {"phone": "", "email": "", "address": "", **values}
    changes["reminder_hours"] = _reminders(values.get("reminder_hours", ""))
    try:
        body = forms.parse(ClinicUpdate, changes, phone_region=phones.clinic_region(settings))
        await clinic.update_clinic(uow=uow, settings=settings, request=body, now=clock.now())
    except forms.FormInvalid as exc:
        errors = friendly(exc.errors, CLINIC_FRIENDLY)
    except DentalCareError as exc:
        errors = forms.errors_of_service(exc)
    else:
        return redirect(request, "/admin/clinic", message="Clinic settings saved.")
    return await _clinic_page(
        request, user, uow, settings, clock, form=values, errors=errors, status_code=422
    )


@router.post("/admin/clinic/closures")
async def add_closure(
    request: Request,
    form: CheckedForm,
    user: AdminPage,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
) -> Response:
    """Close the clinic on a date; the bookings already made that day are listed here
    (they stay: whoever closed the day decides what happens to them)."""
    values = clean_form(form, ("date", "reason"))
    try:
        body = forms.parse(ClosureCreate, {"date": "", **values})
        added = await clinic.add_closure(uow=uow, settings=settings, request=body, now=clock.now())
    except forms.FormInvalid:
        errors = {"date": "Enter the date the clinic is closed."}
    except DentalCareError as exc:
        errors = {"date": exc.detail}
    else:
        return await _clinic_page(request, user, uow, settings, clock, added=added)
    return await _clinic_page(
        request,
        user,
        uow,
        settings,
        clock,
        closure_form=values,
        closure_errors=errors,
        status_code=422,
    )


@router.post("/admin/clinic/closures/{closure_id}/delete")
async def delete_closure(
    request: Request, closure_id: str, _form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Open the clinic again on a closed day."""
    try:
        await clinic.delete_closure(uow=uow, closure_id=parse_id(closure_id))
    except DentalCareError as exc:
        return redirect(request, "/admin/clinic", message=exc.detail, kind="error")
    return redirect(request, "/admin/clinic", message="The clinic is open that day again.")
