"""A booking after it is made: confirmation, calendar file, find-my-booking, guest cancel.

Guests have no account, so the browser keeps a signed, HttpOnly list of the bookings it
made or looked up (reference, e-mail, id); every page checks the booking again through
the services (reference + e-mail for guests, the session for patients).

A reference and an e-mail address together open a booking, so they travel only in a
form's body (POST), never in a URL that access logs and browser histories keep.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.appointments.ics import appointment_ics, clinic_location
from dentalcare.auth.tokens import Principal
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import DentalCareError, NotFound, RateLimited
from dentalcare.ratelimit import UNLIMITED, Limits
from dentalcare.web import signing
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.pages.zones import dentist_zones
from dentalcare.web.session import PageUser, set_cookie
from dentalcare.web.templating import redirect, render, settings_of
from dentalcare.web.views import clean_form

router = APIRouter()

BOOKINGS_COOKIE = "dc_bookings"
REMEMBERED = 8
REMEMBER_DAYS = 60


def remembered(request: Request) -> list[dict[str, str]]:
    """The bookings this browser made or looked up, newest first."""
    data = signing.unsign(settings_of(request), "bookings", request.cookies.get(BOOKINGS_COOKIE))
    if data is None:
        return []
    try:
        entries = json.loads(data)
        return [
            {"ref": str(e["ref"]), "email": str(e["email"]), "id": str(e["id"])} for e in entries
        ]
    except (ValueError, KeyError, TypeError):
        return []


def remember(request: Request, response: Response, appointment: dict[str, Any]) -> None:
    """Add a booking to the browser's signed list."""
    entry = {
        "ref": appointment["booking_reference"],
        "email": appointment["patient_email"],
        "id": appointment["id"],
    }
    entries = [entry] + [e for e in remembered(request) if e["ref"] != entry["ref"]]
    data = json.dumps(entries[:REMEMBERED]).encode()
    settings = settings_of(request)
    set_cookie(
        response,
        settings,
        BOOKINGS_COOKIE,
        signing.sign(settings, "bookings", data),
        max_age=REMEMBER_DAYS * 86400,
    )


async def _resolve(
    request: Request, uow: UnitOfWork, user: Principal | None, reference: str
) -> tuple[dict[str, Any], Principal | None, str | None]:
    """(appointment, caller, guest e-mail) for a remembered booking; NotFound otherwise."""
    reference = reference.strip().upper()
    entry = next((e for e in remembered(request) if e["ref"] == reference), None)
    if entry is None:
        raise NotFound("This browser does not know that booking.")
    if user is not None:
        try:
            found = await appointments.get_appointment(uow=uow, appointment_id=UUID(entry["id"]))
            return found, user, None
        except (NotFound, ValueError):
            pass
    # The browser's signed list holds only bookings it made or found: nothing to guess,
    # so opening one does not count against the look-up limits.
    found = await appointments.lookup_by_reference(
        uow=uow, throttle=UNLIMITED, reference=reference, email=entry["email"]
    )
    return found, None, entry["email"]


@router.get("/bookings/find")
async def find_page(request: Request, user: PageUser) -> Response:
    """Find a booking by reference and e-mail address (the form posts them)."""
    return render(request, "patient/find.html", {"page": "find", "form": {}})


@router.post("/bookings/find")
async def find_submit(
    request: Request, form: CheckedForm, uow: Uow, user: PageUser, limits: Limits
) -> Response:
    """Look the booking up (rate limited like the API's look-up); the browser then
    remembers it."""
    values = clean_form(form, ("reference", "email"))
    errors: dict[str, str] = {}
    if len(values.get("reference", "")) < 3:
        errors["reference"] = "Enter the booking reference, like DC-7K3P9QX."
    if "@" not in values.get("email", ""):
        errors["email"] = "Enter the e-mail address you booked with."
    status_code, headers = 422, None
    if not errors:
        try:
            found = await appointments.lookup_by_reference(
                uow=uow,
                throttle=limits,
                reference=values["reference"][:20],
                email=values["email"][:254],
            )
        except NotFound as exc:
            errors["__all__"] = exc.detail
        except RateLimited as exc:
            errors["__all__"] = exc.detail
            status_code, headers = exc.status_code, exc.headers()
    if errors:
        context = {"page": "find", "form": values, "errors": errors}
        page = render(request, "patient/find.html", context, status_code=status_code)
        page.headers.update(headers or {})
        return page
    response = redirect(request, f"/bookings/{found['booking_reference']}")
    remember(request, response, found)
    return response


@router.get("/bookings/{reference}")
async def confirmation(request: Request, reference: str, uow: Uow, user: PageUser) -> Response:
    """The booking: reference, time, status, add to calendar, cancel."""
    try:
        appointment, _, _ = await _resolve(request, uow, user, reference)
    except NotFound:
        # A booking this browser does not know: the find form, with the reference kept
        # out of the URL (the person types it with the e-mail address).
        return redirect(request, "/bookings/find")
    context = {
        "page": "confirmation",
        "a": appointment,
        "dentist_zones": await dentist_zones(uow=uow, caller=user),
    }
    return render(request, "patient/confirmation.html", context)


@router.get("/bookings/{reference}/calendar.ics")
async def booking_calendar(request: Request, reference: str, uow: Uow, user: PageUser) -> Response:
    """The booking as an iCalendar file (after checking reference and e-mail again)."""
    try:
        appointment, _, _ = await _resolve(request, uow, user, reference)
    except NotFound:
        return redirect(request, "/bookings/find")
    return calendar_response(request, appointment)


def calendar_response(request: Request, appointment: dict[str, Any]) -> Response:
    """An .ics download of an appointment, at the clinic's address."""
    return Response(
        appointment_ics(appointment, location=clinic_location(settings_of(request))),
        media_type="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="{appointment["booking_reference"]}.ics"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/bookings/{reference}/cancel")
async def guest_cancel(
    request: Request,
    reference: str,
    _form: CheckedForm,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
) -> Response:
    """Cancel a remembered booking."""
    back = f"/bookings/{reference[:20]}"
    try:
        appointment, caller, guest_email = await _resolve(request, uow, user, reference)
        await appointments.cancel_appointment(
            uow=uow,
            settings=settings,
            caller=caller,
            appointment_id=UUID(appointment["id"]),
            reason="cancelled by the patient",
            guest_email=guest_email,
        )
    except DentalCareError as exc:
        return redirect(request, back, message=exc.detail, kind="error")
    return redirect(request, back, message="Your appointment is cancelled.")
