"""The admin's treatment types: add, edit, retire and offer again; who performs each,
its chair time either side, its price, whether patients book it online.

Plain forms that post and come back (with a flash message, or with the errors at their
fields), so they work with or without JavaScript.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from dentalcare.db.deps import Uow
from dentalcare.dentists import service as dentists
from dentalcare.errors import DentalCareError
from dentalcare.treatments import service as treatments
from dentalcare.treatments.schemas import TreatmentTypeCreate, TreatmentTypeUpdate
from dentalcare.web import forms
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages.clinic_admin import friendly
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import AdminPage
from dentalcare.web.templating import redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()

TREATMENT_TEXT = (
    "name",
    "description",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "recall_months",
    "price",
)
# What to tell the admin, by field.
TREATMENT_FRIENDLY = {
    "name": "Enter the treatment's name (at most 120 characters).",
    "duration_minutes": "Enter a length between 5 and 480 minutes.",
    "buffer_before_minutes": "Enter 0 to 120 minutes.",
    "buffer_after_minutes": "Enter 0 to 120 minutes.",
    "recall_months": "Enter 1 to 60 months, or leave it empty for no recall.",
    "price": "Enter a price such as 45 or 120.50, or leave it empty.",
}


def _treatment_values(form: FormData) -> dict[str, Any]:
    """The treatment form as the schemas take it: checkboxes as booleans, the dentists
    ticked (none = every dentist), empty numbers as absent."""
    values: dict[str, Any] = clean_form(form, TREATMENT_TEXT)
    values["bookable_online"] = form.get("bookable_online") == "on"
    values["dentist_ids"] = [str(d) for d in form.getlist("dentist_ids") if str(d).strip()]
    return values


def _treatment_form(treatment: dict[str, Any]) -> dict[str, Any]:
    """A treatment as its edit form shows it."""
    form = {k: treatment[k] for k in TREATMENT_TEXT if treatment.get(k) is not None}
    form["bookable_online"] = treatment["bookable_online"]
    form["dentist_ids"] = list(treatment["dentist_ids"])
    return form


async def _treatments_page(
    request: Request, user: AdminPage, uow: Uow, *, status_code: int = 200, **extra: Any
) -> Response:
    everyone = await dentists.list_dentists(uow=uow, caller=user)
    names = {d["id"]: d["name"] for d in everyone}
    context: dict[str, Any] = {
        "page": "admin-treatments",
        "treatments": await treatments.list_treatments(uow=uow, caller=user),
        "dentists": everyone,
        "dentist_names": names,
        "form": {"bookable_online": True, "dentist_ids": []},
        **extra,
    }
    return render(request, "admin/treatments.html", context, status_code=status_code)


@router.get("/admin/treatments")
async def treatments_page(request: Request, user: AdminPage, uow: Uow) -> Response:
    """Every treatment type, and the form to add one."""
    return await _treatments_page(request, user, uow)


@router.post("/admin/treatments")
async def add_treatment(request: Request, form: CheckedForm, user: AdminPage, uow: Uow) -> Response:
    """Add a treatment type."""
    values = _treatment_values(form)
    try:
        body = forms.parse(TreatmentTypeCreate, {"name": "", "duration_minutes": "", **values})
        created = await treatments.create_treatment(uow=uow, request=body)
    except forms.FormInvalid as exc:
        errors = friendly(exc.errors, TREATMENT_FRIENDLY)
    except DentalCareError as exc:
        errors = _service_errors(exc)
    else:
        return redirect(request, "/admin/treatments", message=f"{created['name']} added.")
    return await _treatments_page(request, user, uow, form=values, errors=errors, status_code=422)


def _service_errors(exc: DentalCareError) -> dict[str, str]:
    if exc.code == "AlreadyExists":
        return {"name": exc.detail}
    return forms.errors_of_service(exc)


async def _treatment(uow: Uow, user: AdminPage, treatment_id: str) -> dict[str, Any]:
    try:
        return await treatments.get_treatment(
            uow=uow, caller=user, treatment_id=parse_id(treatment_id)
        )
    except DentalCareError:
        raise not_found("No such treatment type.") from None


async def _edit_page(
    request: Request,
    user: AdminPage,
    uow: Uow,
    treatment: dict[str, Any],
    form: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
) -> Response:
    context = {
        "page": "admin-treatments",
        "treatment": treatment,
        "dentists": await dentists.list_dentists(uow=uow, caller=user),
        "form": form,
        "errors": errors or {},
    }
    return render(request, "admin/treatment_edit.html", context, status_code=422 if errors else 200)


@router.get("/admin/treatments/{treatment_id}/edit")
async def edit_treatment_page(
    request: Request, treatment_id: str, user: AdminPage, uow: Uow
) -> Response:
    """The edit form of a treatment type."""
    treatment = await _treatment(uow, user, treatment_id)
    return await _edit_page(request, user, uow, treatment, _treatment_form(treatment))


@router.post("/admin/treatments/{treatment_id}/edit")
async def edit_treatment(
    request: Request, treatment_id: str, form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Save a treatment type (booked appointments keep their length)."""
    treatment = await _treatment(uow, user, treatment_id)
    values = _treatment_values(form)
    # Emptied optional fields are cleared, not left as they were.
    changes = {"recall_months": None, "price": None, "description": "", **values}
    try:
        body = forms.parse(TreatmentTypeUpdate, changes)
        saved = await treatments.update_treatment(
            uow=uow, treatment_id=UUID(treatment["id"]), request=body
        )
    except forms.FormInvalid as exc:
        errors = friendly(exc.errors, TREATMENT_FRIENDLY)
    except DentalCareError as exc:
        errors = _service_errors(exc)
    else:
        return redirect(request, "/admin/treatments", message=f"{saved['name']} saved.")
    return await _edit_page(request, user, uow, treatment, values, errors=errors)


@router.post("/admin/treatments/{treatment_id}/retire")
async def retire_treatment(
    request: Request, treatment_id: str, _form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Stop offering a treatment type (booked appointments keep it)."""
    treatment = await _treatment(uow, user, treatment_id)
    try:
        await treatments.retire_treatment(uow=uow, treatment_id=UUID(treatment["id"]))
    except DentalCareError as exc:
        return redirect(request, "/admin/treatments", message=exc.detail, kind="error")
    return redirect(
        request, "/admin/treatments", message=f"{treatment['name']} is no longer offered."
    )


@router.post("/admin/treatments/{treatment_id}/restore")
async def restore_treatment(
    request: Request, treatment_id: str, _form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Offer a retired treatment type again."""
    treatment = await _treatment(uow, user, treatment_id)
    try:
        await treatments.update_treatment(
            uow=uow, treatment_id=UUID(treatment["id"]), request=TreatmentTypeUpdate(active=True)
        )
    except DentalCareError as exc:
        return redirect(request, "/admin/treatments", message=exc.detail, kind="error")
    return redirect(request, "/admin/treatments", message=f"{treatment['name']} is offered again.")
