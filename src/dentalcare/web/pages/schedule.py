"""The weekly availability editor (several windows a day) and time off, for dentists and admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pydantic
from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.availability.schemas import ExceptionCreate, WeeklyWindow
from dentalcare.db.deps import Uow
from dentalcare.dentists import service as dentists
from dentalcare.errors import DentalCareError, NotFound
from dentalcare.timezones import zone
from dentalcare.web import forms
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import AdminPage, DentistPage
from dentalcare.web.templating import is_htmx, redirect, render
from dentalcare.web.views import WEEKDAYS, clean_form

router = APIRouter()


def _rows_from_schedule(weekly: list[dict[str, Any]]) -> list[list[dict[str, str]]]:
    days: list[list[dict[str, str]]] = [[] for _ in WEEKDAYS]
    for window in weekly:
        if window["is_available"]:
            days[window["day_of_week"]].append(
                {"start": window["start_time"], "end": window["end_time"], "error": ""}
            )
    return days


def _read_rows(form: FormData) -> tuple[list[list[dict[str, str]]], list[tuple[int, int, int]]]:
    """The submitted rows by day, and (form row, day, index in its day) of each filled row."""
    days: list[list[dict[str, str]]] = [[] for _ in WEEKDAYS]
    filled: list[tuple[int, int, int]] = []
    triples = zip(
        form.getlist("day"), form.getlist("start_time"), form.getlist("end_time"), strict=False
    )
    for number, (day, start, end) in enumerate(triples):
        try:
            dow = int(str(day))
        except ValueError:
            continue
        if not 0 <= dow <= 6:
            continue
        start, end = forms.clock_text(str(start)), forms.clock_text(str(end))
        if not start and not end:
            continue
        days[dow].append({"start": start, "end": end, "error": ""})
        filled.append((number, dow, len(days[dow]) - 1))
    return days, filled


async def _dentist_for(uow: Uow, caller: Principal, dentist_id: UUID) -> dict[str, Any]:
    try:
        return await dentists.get_dentist(uow=uow, caller=caller, dentist_id=dentist_id)
    except NotFound:
        raise not_found("No such dentist.") from None


async def _render(
    request: Request,
    uow: Uow,
    caller: Principal,
    dentist: dict[str, Any],
    *,
    base: str,
    days: list[list[dict[str, str]]] | None = None,
    section: str = "weekly",
    **extra: Any,
) -> Response:
    current = await availability.get_availability(
        uow=uow, caller=caller, dentist_id=UUID(dentist["id"])
    )
    context: dict[str, Any] = {
        "page": "schedule",
        "dentist": dentist,
        "base": base,
        "weekdays": WEEKDAYS,
        "days": days if days is not None else _rows_from_schedule(current["weekly"]),
        "exceptions": current["exceptions"],
        "outside": [],
        "saved": False,
        "today": datetime.now(UTC).astimezone(zone(dentist["timezone"])).date().isoformat(),
        "weekly_errors": {},
        **extra,
    }
    status_code = 422 if extra.get("errors") or extra.get("weekly_errors") else 200
    if is_htmx(request) and request.method == "POST":
        partial = f"dentist/schedule_{section}.html"
        return render(request, partial, context, status_code=status_code)
    return render(request, "dentist/schedule.html", context, status_code=status_code)


async def save_weekly(
    request: Request,
    uow: Uow,
    caller: Principal,
    dentist: dict[str, Any],
    form: FormData,
    base: str,
) -> Response:
    """Validate the rows, replace the weekly schedule, and say what changed."""
    days, filled = _read_rows(form)
    windows: list[WeeklyWindow] = []
    placed: list[tuple[int, int]] = []
    errors: dict[str, str] = {}
    for _number, dow, index in filled:
        row = days[dow][index]
        try:
            # The form's "HH:MM" strings: pydantic parses them into times (or says why not).
            window = {"day_of_week": dow, "start_time": row["start"], "end_time": row["end"]}
            windows.append(WeeklyWindow.model_validate(window))
            placed.append((dow, index))
        except pydantic.ValidationError as exc:
            problems = forms.errors_of(exc)
            times_ok = "start_time" not in problems and "end_time" not in problems
            row["error"] = (
                "Enter a start time before the end time."
                if times_ok
                else "Enter both times as HH:MM, e.g. 09:00."
            )
            errors[f"{dow}.{index}"] = row["error"]
    if not errors:
        try:
            result = await availability.replace_weekly(
                uow=uow, caller=caller, dentist_id=UUID(dentist["id"]), windows=windows
            )
        except DentalCareError as exc:
            for key, message in forms.errors_of_service(exc).items():
                if key.startswith("weekly."):
                    dow, index = placed[int(key.split(".")[1])]
                    days[dow][index]["error"] = "These hours overlap other hours on this day."
                errors[key] = message
        else:
            return await _render(
                request,
                uow,
                caller,
                dentist,
                base=base,
                saved=True,
                outside=result["appointments_outside_hours"],
            )
    return await _render(request, uow, caller, dentist, base=base, days=days, weekly_errors=errors)


async def add_exception(
    request: Request,
    uow: Uow,
    caller: Principal,
    dentist: dict[str, Any],
    form: FormData,
    base: str,
) -> Response:
    """Add time off (or extra hours) on a date."""
    values = clean_form(form, ("date", "start_time", "end_time", "reason", "kind"))
    data: dict[str, Any] = {k: v for k, v in values.items() if k != "kind"}
    for name in ("start_time", "end_time"):
        if name in data:
            data[name] = forms.clock_text(data[name])
    data["is_available"] = values.get("kind") == "extra"
    data.setdefault("date", "")
    try:
        request_body = forms.parse(ExceptionCreate, data)
        await availability.add_exception(
            uow=uow, caller=caller, dentist_id=UUID(dentist["id"]), request=request_body
        )
    except forms.FormInvalid as exc:
        return await _render(
            request,
            uow,
            caller,
            dentist,
            base=base,
            section="exceptions",
            form=values,
            errors=exc.errors,
        )
    except DentalCareError as exc:
        return await _render(
            request,
            uow,
            caller,
            dentist,
            base=base,
            section="exceptions",
            form=values,
            errors=forms.errors_of_service(exc),
        )
    return await _render(request, uow, caller, dentist, base=base, section="exceptions", added=True)


# ------------------------------------------------------------------ the dentist's own


@router.get("/dentist/availability")
async def own_schedule(request: Request, user: DentistPage, uow: Uow) -> Response:
    """The dentist's weekly hours and time off."""
    assert user.dentist_id is not None
    dentist = await _dentist_for(uow, user, user.dentist_id)
    return await _render(request, uow, user, dentist, base="/dentist/availability")


@router.post("/dentist/availability")
async def own_schedule_save(
    request: Request, form: CheckedForm, user: DentistPage, uow: Uow
) -> Response:
    """Save the weekly hours."""
    assert user.dentist_id is not None
    dentist = await _dentist_for(uow, user, user.dentist_id)
    return await save_weekly(request, uow, user, dentist, form, "/dentist/availability")


@router.post("/dentist/availability/exceptions")
async def own_exception_add(
    request: Request, form: CheckedForm, user: DentistPage, uow: Uow
) -> Response:
    """Add time off."""
    assert user.dentist_id is not None
    dentist = await _dentist_for(uow, user, user.dentist_id)
    return await add_exception(request, uow, user, dentist, form, "/dentist/availability")


@router.post("/dentist/availability/exceptions/{exception_id}/delete")
async def own_exception_delete(
    request: Request, exception_id: str, _form: CheckedForm, user: DentistPage, uow: Uow
) -> Response:
    """Remove time off."""
    assert user.dentist_id is not None
    return await _delete(request, uow, user, user.dentist_id, exception_id, "/dentist/availability")


async def _delete(
    request: Request, uow: Uow, caller: Principal, dentist_id: UUID, exception_id: str, base: str
) -> Response:
    try:
        await availability.delete_exception(
            uow=uow, caller=caller, dentist_id=dentist_id, exception_id=parse_id(exception_id)
        )
    except DentalCareError as exc:
        return redirect(request, base, message=exc.detail, kind="error")
    if is_htmx(request):
        dentist = await _dentist_for(uow, caller, dentist_id)
        return await _render(
            request, uow, caller, dentist, base=base, section="exceptions", removed=True
        )
    return redirect(request, base, message="Time off removed.")


# ------------------------------------------------------------------ admins, for any dentist


@router.get("/admin/dentists/{dentist_id}/availability")
async def admin_schedule(request: Request, dentist_id: str, user: AdminPage, uow: Uow) -> Response:
    """A dentist's weekly hours and time off, edited by an admin."""
    dentist = await _dentist_for(uow, user, parse_id(dentist_id))
    return await _render(
        request, uow, user, dentist, base=f"/admin/dentists/{dentist['id']}/availability"
    )


@router.post("/admin/dentists/{dentist_id}/availability")
async def admin_schedule_save(
    request: Request, dentist_id: str, form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Save a dentist's weekly hours."""
    dentist = await _dentist_for(uow, user, parse_id(dentist_id))
    base = f"/admin/dentists/{dentist['id']}/availability"
    return await save_weekly(request, uow, user, dentist, form, base)


@router.post("/admin/dentists/{dentist_id}/availability/exceptions")
async def admin_exception_add(
    request: Request, dentist_id: str, form: CheckedForm, user: AdminPage, uow: Uow
) -> Response:
    """Add time off for a dentist."""
    dentist = await _dentist_for(uow, user, parse_id(dentist_id))
    base = f"/admin/dentists/{dentist['id']}/availability"
    return await add_exception(request, uow, user, dentist, form, base)


@router.post("/admin/dentists/{dentist_id}/availability/exceptions/{exception_id}/delete")
async def admin_exception_delete(
    request: Request,
    dentist_id: str,
    exception_id: str,
    _form: CheckedForm,
    user: AdminPage,
    uow: Uow,
) -> Response:
    """Remove a dentist's time off."""
    dentist_uuid = parse_id(dentist_id)
    base = f"/admin/dentists/{dentist_uuid}/availability"
    return await _delete(request, uow, user, dentist_uuid, exception_id, base)
