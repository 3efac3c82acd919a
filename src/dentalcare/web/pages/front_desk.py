"""The clinic's day (`/admin` for admins and the front desk; `/admin/today` too), check-in,
the appointment detail page for the dentist and staff, and the admins' staff and audit
pages."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.audit import service as audit
from dentalcare.auth.deps import Hashing
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.dentists import service as dentists
from dentalcare.errors import BadRequest, DentalCareError, NotFound
from dentalcare.messages import service as messages
from dentalcare.staff import service as staff
from dentalcare.staff.schemas import StaffCreate
from dentalcare.timezones import zone
from dentalcare.vocabulary import ACTIVE, BOOKING_SOURCES, is_staff
from dentalcare.web import forms
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages import desk_booking
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import AdminPage, ClinicPage, StaffPage
from dentalcare.web.templating import action_done, redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()


async def day_page(request: Request, user: StaffPage, uow: Uow, settings: AppSettings) -> Response:
    """Today across every dentist: columns, the waiting room, what needs confirming, the
    day's no-shows and cancellations, and bookings by source; kept live."""
    today = datetime.now(UTC).astimezone(zone(settings.clinic_timezone)).date()
    page = await appointments.list_appointments(
        uow=uow,
        status=None,
        dentist_id=None,
        date_from=today,
        date_to=today,
        limit=200,
        cursor=None,
    )
    items: list[dict[str, Any]] = page["items"]
    everyone = await dentists.list_dentists(uow=uow, caller=user)
    columns = [
        {"dentist": d, "items": [a for a in items if a["dentist_id"] == d["id"]]} for d in everyone
    ]
    by_source = Counter(a["booking_source"] for a in items)
    context = {
        "page": "admin-day",
        "today": today,
        "columns": columns,
        "waiting": [a for a in items if a["arrived_at"] and a["status"] in ACTIVE],
        "pending": [a for a in items if a["status"] == "pending"],
        "missed": [a for a in items if a["status"] in ("no_show", "cancelled")],
        "by_source": [(s, by_source.get(s, 0)) for s in BOOKING_SOURCES],
        "dentist_zones": {d["id"]: d["timezone"] for d in everyone},
    }
    return render(request, "admin/day.html", context)


@router.get("/admin/today")
async def today_page(
    request: Request, user: StaffPage, uow: Uow, settings: AppSettings
) -> Response:
    """The day (also at /admin), for the links that name it."""
    return await day_page(request, user, uow, settings)


@router.post("/admin/appointments/{appointment_id}/check-in")
async def check_in(
    request: Request, appointment_id: str, _form: CheckedForm, user: StaffPage, uow: Uow
) -> Response:
    """The patient is here: the dentist's page shows them waiting."""
    try:
        done = await appointments.check_in(uow=uow, appointment_id=parse_id(appointment_id))
    except NotFound:
        raise not_found("No such appointment.") from None
    except DentalCareError as exc:
        return redirect(request, "/admin", message=exc.detail, kind="error")
    return action_done(request, f"Checked in: {done['patient_name']}", redirect_to="/admin")


@router.get("/appointments/{appointment_id}")
async def appointment_detail(
    request: Request,
    appointment_id: str,
    user: ClinicPage,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
    move_dentist: str = "",
    move_date: str = "",
) -> Response:
    """Everything the patient gave, for their dentist and staff (the read is audited), its
    messages, and for staff the forms to move or cancel it."""
    try:
        found = await appointments.get_appointment(
            uow=uow, appointment_id=parse_id(appointment_id), caller=user
        )
    except NotFound:
        raise not_found("No such appointment.") from None
    trail = (
        await audit.trail(uow=uow, entity="appointment", entity_id=UUID(found["id"]))
        if user.role == "admin"
        else None
    )
    context: dict[str, Any] = {
        "page": "appointment-detail",
        "a": found,
        "trail": trail,
        "back": "/dentist" if user.role == "dentist" else "/admin",
        "messages": await messages.appointment_log(
            uow=uow,
            caller=user,
            appointment_id=UUID(found["id"]),
            dentist_id=UUID(str(found["dentist_id"])),
        ),
        "move": None,
    }
    if is_staff(user.role) and found["status"] in ACTIVE:
        context.update(
            await desk_booking.reschedule_context(
                request,
                uow=uow,
                settings=settings,
                user=user,
                appointment=found,
                dentist_id=move_dentist.strip() or None,
                on=move_date.strip() or None,
                now=clock.now(),
            )
        )
    return render(request, "appointment_detail.html", context)


@router.get("/appointments/{appointment_id}/messages")
async def appointment_message_log(
    request: Request, appointment_id: str, user: ClinicPage, uow: Uow
) -> Response:
    """The detail page's message log alone: what the page fetches when a live event says
    a message of this appointment changed (staff, the appointment's own dentist)."""
    shown = parse_id(appointment_id)
    try:
        log = await messages.live_appointment_log(uow=uow, caller=user, appointment_id=shown)
    except NotFound:
        raise not_found("No such appointment.") from None
    context = {"appointment_id": str(shown), "messages": log}
    return render(request, "partials/message_log_region.html", context)


# ----------------------------------------------------------------------------- admins only


async def _staff_page(request: Request, uow: Uow, **extra: Any) -> Response:
    context: dict[str, Any] = {
        "page": "admin-staff",
        "staff": await staff.list_staff(uow=uow),
        "created": None,
        "form": {},
        **extra,
    }
    return render(
        request, "admin/staff.html", context, status_code=422 if extra.get("errors") else 200
    )


@router.get("/admin/staff")
async def staff_page(request: Request, user: AdminPage, uow: Uow) -> Response:
    """Staff logins, and the form to add one."""
    return await _staff_page(request, uow)


@router.post("/admin/staff")
async def add_staff(
    request: Request,
    form: CheckedForm,
    user: AdminPage,
    uow: Uow,
    settings: AppSettings,
    hashing: Hashing,
) -> Response:
    """Add a staff login; the initial password is shown once, here."""
    values = clean_form(form, ("email", "full_name", "role", "password"))
    try:
        body = forms.parse(StaffCreate, {"email": "", "full_name": "", "role": "", **values})
        created = await staff.create_staff(
            uow=uow, settings=settings, hashing=hashing, request=body
        )
    except forms.FormInvalid as exc:
        return await _staff_page(request, uow, form=values, errors=exc.errors)
    except DentalCareError as exc:
        return await _staff_page(request, uow, form=values, errors={"email": exc.detail})
    return await _staff_page(request, uow, created=created, invited=settings.email_enabled)


@router.post("/admin/staff/{user_id}/remove")
async def remove_staff(
    request: Request, user_id: str, _form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Disable a staff login."""
    try:
        await staff.remove_staff(uow=uow, caller=user, user_id=parse_id(user_id))
    except NotFound:
        raise not_found("No such staff login.") from None
    except DentalCareError as exc:
        return redirect(request, "/admin/staff", message=exc.detail, kind="error")
    return redirect(request, "/admin/staff", message="The login was removed.")


def _audit_filters(
    actor: str, entity: str, entity_id: str, date_from: str, date_to: str
) -> dict[str, Any]:
    """Form values as service filters (ValueError for a malformed one)."""
    return {
        "actor": UUID(actor) if actor else None,
        "entity": entity or None,
        "entity_id": UUID(entity_id) if entity_id else None,
        "since": datetime.combine(date.fromisoformat(date_from), datetime.min.time(), UTC)
        if date_from
        else None,
        "until": datetime.combine(date.fromisoformat(date_to), datetime.max.time(), UTC)
        if date_to
        else None,
    }


@router.get("/admin/audit")
async def audit_page(
    request: Request,
    user: AdminPage,
    uow: Uow,
    actor: str = "",
    entity: str = "",
    entity_id: str = "",
    date_from: str = "",
    date_to: str = "",
    cursor: str = "",
) -> Response:
    """The audit log with filters, newest first, and a CSV download of the same."""
    filters = {
        "actor": actor,
        "entity": entity,
        "entity_id": entity_id,
        "date_from": date_from,
        "date_to": date_to,
    }
    error = ""
    items: list[dict[str, Any]] = []
    next_cursor = None
    try:
        found = await audit.list_audit(
            uow=uow,
            **_audit_filters(actor, entity, entity_id, date_from, date_to),
            cursor=cursor or None,
        )
        items, next_cursor = found["items"], found["next_cursor"]
    except (ValueError, BadRequest):
        error = "Check the filters: ids are UUIDs, dates come from the date pickers."
    query = "&".join(
        f"{k if k not in ('date_from', 'date_to') else k[5:]}={v}" for k, v in filters.items() if v
    )
    context = {
        "page": "admin-audit",
        "items": items,
        "next_cursor": next_cursor,
        "filters": filters,
        "error": error,
        "csv_url": "/api/audit/export.csv" + (f"?{query}" if query else ""),
    }
    return render(request, "admin/audit.html", context)
