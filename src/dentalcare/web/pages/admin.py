"""The admin dashboard: the day at `/admin` (front_desk.day_page), dentists (add, edit,
remove) at `/admin/dentists`, every appointment live, the sync monitor."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.auth.deps import Hashing
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.dentists import service as dentists
from dentalcare.dentists.schemas import DentistCreate, DentistUpdate
from dentalcare.errors import BadRequest, DentalCareError, NotFound
from dentalcare.vocabulary import BOOKING_SOURCES, STATUSES, is_status
from dentalcare.web import forms
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.pages.front_desk import day_page
from dentalcare.web.session import AdminPage, StaffPage
from dentalcare.web.templating import is_htmx, redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()

DENTIST_FIELDS = (
    "name",
    "email",
    "specialization",
    "years_of_experience",
    "slot_minutes",
    "timezone",
    "bio",
)


async def _dentists_page(
    request: Request, user: AdminPage, uow: Uow, settings: AppSettings, **extra: Any
) -> Response:
    everyone = await dentists.list_dentists(uow=uow, caller=user)
    context: dict[str, Any] = {
        "page": "admin-dentists",
        "dentists": everyone,
        "created": None,
        "form": {},
        "default_timezone": settings.clinic_timezone,
        **extra,
    }
    status_code = 422 if context.get("errors") else 200
    if is_htmx(request) and request.method == "POST":
        return render(request, "admin/dentists_section.html", context, status_code=status_code)
    return render(request, "admin/dentists.html", context, status_code=status_code)


@router.get("/admin")
async def landing_page(
    request: Request, user: StaffPage, uow: Uow, settings: AppSettings
) -> Response:
    """Admins and the front desk land on the day: what a clinic runs on each morning."""
    return await day_page(request, user, uow, settings)


@router.get("/admin/dentists")
async def dentists_page(
    request: Request, user: AdminPage, uow: Uow, settings: AppSettings
) -> Response:
    """Every dentist, and the form to add one."""
    return await _dentists_page(request, user, uow, settings)


@router.post("/admin/dentists")
async def add_dentist(
    request: Request,
    form: CheckedForm,
    user: AdminPage,
    uow: Uow,
    settings: AppSettings,
    hashing: Hashing,
) -> Response:
    """Add a dentist; the initial password is shown once, in this response only."""
    values = clean_form(form, (*DENTIST_FIELDS, "password"))
    try:
        body = forms.parse(DentistCreate, {"name": "", "email": "", **values})
        created = await dentists.create_dentist(
            uow=uow, settings=settings, hashing=hashing, request=body
        )
    except forms.FormInvalid as exc:
        return await _dentists_page(request, user, uow, settings, form=values, errors=exc.errors)
    except DentalCareError as exc:
        errors = forms.errors_of_service(exc)
        if exc.code == "AlreadyExists":
            errors = {"email": exc.detail}
        return await _dentists_page(request, user, uow, settings, form=values, errors=errors)
    return await _dentists_page(request, user, uow, settings, created=created)


async def _dentist(uow: Uow, user: AdminPage, dentist_id: str) -> dict[str, Any]:
    try:
        found = await dentists.get_dentist(uow=uow, caller=user, dentist_id=parse_id(dentist_id))
    except NotFound:
        raise not_found("No such dentist.") from None
    if not found["active"]:
        raise not_found("This dentist has been removed.")
    return found


@router.get("/admin/dentists/{dentist_id}/edit")
async def edit_page(request: Request, dentist_id: str, user: AdminPage, uow: Uow) -> Response:
    """The edit form of a dentist's profile."""
    dentist = await _dentist(uow, user, dentist_id)
    context = {"page": "admin-dentists", "dentist": dentist, "form": dentist}
    return render(request, "admin/dentist_edit.html", context)


@router.post("/admin/dentists/{dentist_id}/edit")
async def edit_submit(
    request: Request, dentist_id: str, form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Save a dentist's profile."""
    dentist = await _dentist(uow, user, dentist_id)
    values = clean_form(form, DENTIST_FIELDS)
    changes = {**values, "bio": values.get("bio", "")}
    try:
        body = forms.parse(DentistUpdate, changes)
        saved = await dentists.update_dentist(
            uow=uow, caller=user, dentist_id=UUID(dentist["id"]), request=body
        )
    except forms.FormInvalid as exc:
        errors = exc.errors
    except DentalCareError as exc:
        errors = (
            {"email": exc.detail} if exc.code == "AlreadyExists" else forms.errors_of_service(exc)
        )
    else:
        return redirect(request, "/admin/dentists", message=f"{saved['name']} saved.")
    context = {"page": "admin-dentists", "dentist": dentist, "form": values, "errors": errors}
    return render(request, "admin/dentist_edit.html", context, status_code=422)


@router.get("/admin/dentists/{dentist_id}/remove")
async def remove_page(request: Request, dentist_id: str, user: AdminPage, uow: Uow) -> Response:
    """Ask before removing a dentist."""
    dentist = await _dentist(uow, user, dentist_id)
    return render(
        request, "admin/dentist_remove.html", {"page": "admin-dentists", "dentist": dentist}
    )


@router.post("/admin/dentists/{dentist_id}/remove")
async def remove_submit(
    request: Request,
    dentist_id: str,
    _form: CheckedForm,
    user: AdminPage,
    uow: Uow,
    settings: AppSettings,
) -> Response:
    """Remove a dentist: login disabled, upcoming appointments cancelled, history kept."""
    dentist = await _dentist(uow, user, dentist_id)
    try:
        await dentists.remove_dentist(uow=uow, settings=settings, dentist_id=UUID(dentist["id"]))
    except DentalCareError as exc:
        return redirect(request, "/admin/dentists", message=exc.detail, kind="error")
    return redirect(
        request,
        "/admin/dentists",
        message=f"{dentist['name']} was removed; their upcoming appointments are cancelled.",
    )


@router.get("/admin/appointments")
async def all_appointments(
    request: Request,
    user: StaffPage,
    uow: Uow,
    status: str = "",
    dentist: str = "",
    source: str = "",
    date_from: str = "",
    date_to: str = "",
    cursor: str = "",
) -> Response:
    """Every appointment, filtered, live."""
    filters = {
        "status": status if is_status(status) else "",
        "dentist": dentist,
        "source": source if source in BOOKING_SOURCES else "",
        "date_from": date_from,
        "date_to": date_to,
    }
    error = ""
    items: list[dict[str, Any]] = []
    next_cursor = None
    try:
        dentist_id = UUID(dentist) if dentist else None
        page = await appointments.list_appointments(
            uow=uow,
            status=status if is_status(status) else None,
            dentist_id=dentist_id,
            date_from=date.fromisoformat(date_from) if date_from else None,
            date_to=date.fromisoformat(date_to) if date_to else None,
            limit=200,
            cursor=cursor or None,
        )
        items, next_cursor = page["items"], page["next_cursor"]
    except (ValueError, BadRequest) as exc:
        error = getattr(exc, "detail", "Check the dates: use the date pickers.")
    if filters["source"]:
        items = [a for a in items if a["booking_source"] == filters["source"]]
    everyone = await dentists.list_dentists(uow=uow, caller=user)
    context = {
        "page": "admin-appointments",
        "items": items,
        "next_cursor": next_cursor,
        "filters": filters,
        "error": error,
        "statuses": STATUSES,
        "sources": BOOKING_SOURCES,
        "dentists": everyone,
        "dentist_zones": {d["id"]: d["timezone"] for d in everyone},
    }
    return render(request, "admin/appointments.html", context)


@router.get("/admin/sync")
async def sync_monitor(request: Request, user: AdminPage) -> Response:
    """Connections, subscriptions per channel, events per second and a live latency chart."""
    stats = request.app.state.realtime.stats()
    return render(request, "admin/sync.html", {"page": "admin-sync", "stats": stats})
