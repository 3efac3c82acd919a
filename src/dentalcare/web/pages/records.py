"""Patient records, reports and the patient's own data: /admin/patients, /admin/reports,
/my/data (download, and erasure with a confirmation step)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from dentalcare.auth.tokens import Principal
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import NotFound, ValidationError
from dentalcare.patients import service as patients
from dentalcare.reports import service as reports
from dentalcare.vocabulary import STAFF_ROLES
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import PatientPage, end_session, role_guard
from dentalcare.web.templating import redirect, render

router = APIRouter()

# Clinic staff (admins; the front desk once that role exists): vocabulary.STAFF_ROLES.
StaffPage = Annotated[Principal, Depends(role_guard(*sorted(STAFF_ROLES)))]


@router.get("/admin/patients")
async def patients_page(
    request: Request,
    user: StaffPage,
    uow: Uow,
    search: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Search patients and guests by name, e-mail, phone or booking reference."""
    found = await patients.search(uow=uow, caller=user, text=search)
    return render(
        request,
        "admin/patients.html",
        {"page": "admin-patients", "search": search, "patients": found["items"]},
    )


@router.get("/admin/patients/{patient_id}")
async def patient_page(request: Request, patient_id: str, user: StaffPage, uow: Uow) -> Response:
    """One patient's record: details, every appointment, no-shows, recall, messages."""
    try:
        record = await patients.get_patient(uow=uow, caller=user, patient_id=parse_id(patient_id))
    except NotFound:
        raise not_found("No such patient.") from None
    return render(request, "admin/patient.html", {"page": "admin-patients", "patient": record})


@router.get("/admin/reports")
async def reports_page(
    request: Request,
    user: StaffPage,
    uow: Uow,
    clock: AppClock,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    """The report for a date range, with a bookings-per-day chart drawn as SVG."""
    errors: dict[str, str] = {}
    try:
        figures = await reports.report(
            uow=uow, caller=user, start=start, end=end, today=clock.now().date()
        )
    except ValidationError as error:
        errors["range"] = error.detail
        figures = await reports.report(
            uow=uow, caller=user, start=None, end=None, today=clock.now().date()
        )
    context: dict[str, Any] = {
        "page": "admin-reports",
        "r": figures,
        "chart": reports.chart_bars(figures),
        "errors": errors,
        "form": {},
    }
    return render(request, "admin/reports.html", context, status_code=422 if errors else 200)


@router.get("/my/data/erase")
async def erase_confirm_page(request: Request, user: PatientPage) -> Response:
    """What erasing the account does, and the confirmation."""
    return render(request, "patient/erase.html", {"page": "my", "errors": {}, "form": {}})


@router.post("/my/data/erase")
async def erase_account(
    request: Request, form: CheckedForm, user: PatientPage, uow: Uow, settings: AppSettings
) -> Response:
    """Erase the patient's own account once they confirmed; they are logged out."""
    if form.get("confirm") != "yes":
        return render(
            request,
            "patient/erase.html",
            {"page": "my", "errors": {"confirm": "Tick the box to confirm."}, "form": {}},
            status_code=422,
        )
    await patients.erase(uow=uow, caller=user, patient_id=user.user_id)
    response = redirect(request, "/", message="Your account and personal details have been erased.")
    end_session(response, settings)
    return response
