"""POST /appointments/{id}/status: confirm, complete, no-show or cancel, for every portal.

The services decide who may do what; this route only turns the answer into feedback.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentUpdate
from dentalcare.db.deps import AppSettings, Uow
from dentalcare.errors import DentalCareError
from dentalcare.vocabulary import Status, is_status
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.pages.accounts import safe_next
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.pages.zones import when_label
from dentalcare.web.session import HOME_BY_ROLE, AnyUserPage
from dentalcare.web.templating import action_done, is_htmx, redirect, toast_response

router = APIRouter()

# The statuses a portal button can set, and what the toast then says.
DONE: dict[Status, str] = {
    "confirmed": "Appointment confirmed",
    "completed": "Marked as completed",
    "no_show": "Marked as no-show",
    "cancelled": "Appointment cancelled",
}
CANCELLED_BY = {
    "patient": "cancelled by the patient",
    "dentist": "cancelled by the dentist",
    "admin": "cancelled by the clinic",
    "front_desk": "cancelled by the clinic",
}


@router.post("/appointments/{appointment_id}/status")
async def change_status(
    request: Request,
    appointment_id: str,
    form: CheckedForm,
    user: AnyUserPage,
    uow: Uow,
    settings: AppSettings,
) -> Response:
    """Apply a status change the caller's role allows."""
    target = str(form.get("status", ""))
    back = safe_next(form.get("back")) or HOME_BY_ROLE.get(user.role, "/")
    if not is_status(target) or target not in DONE:
        return _failed(request, back, "Choose confirm, complete, no-show or cancel.")
    reason = str(form.get("reason", "")).strip()[:500] or CANCELLED_BY.get(user.role)
    try:
        if target == "cancelled":
            changed = await appointments.cancel_appointment(
                uow=uow,
                settings=settings,
                caller=user,
                appointment_id=parse_id(appointment_id),
                reason=reason,
            )
        else:
            changed = await appointments.update_appointment(
                uow=uow,
                settings=settings,
                caller=user,
                appointment_id=parse_id(appointment_id),
                request=AppointmentUpdate(status=target),
            )
    except DentalCareError as exc:
        return _failed(request, back, exc.detail)
    when = await when_label(
        uow=uow, caller=user, appointment=changed, fallback=settings.clinic_timezone
    )
    message = f"{DONE[target]}: {changed['patient_name']}, {when}"
    if user.role == "patient":
        message = f"{DONE[target]}: {changed['dentist_name']}, {when}"
    return action_done(request, message, redirect_to=back)


def _failed(request: Request, back: str, detail: str) -> Response:
    if is_htmx(request):
        return toast_response(detail, kind="error", status_code=409)
    return redirect(request, back, message=detail, kind="error")
