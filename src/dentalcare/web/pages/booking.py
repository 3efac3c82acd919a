"""A dentist's booking page: the treatment, its free starts in a week, a hold on the
chosen start, the form, the booking (the steps before it are `web.pages.treatments`).

Every step is a plain link or form, so the whole path works without JavaScript; htmx
swaps the parts in place when scripts run. Picking a start holds it for the clinic's
`hold_minutes` (the hold lives in a signed cookie, see `web.holding`), and booking
converts the hold.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from dentalcare.appointments import service as appointments
from dentalcare.appointments.schemas import AppointmentCreate
from dentalcare.auth.tokens import Principal
from dentalcare.availability import service as availability
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.dentists import service as dentists
from dentalcare.errors import DentalCareError, HoldExpired, NotFound, SlotUnavailable
from dentalcare.holds import service as holds
from dentalcare.holds.schemas import HoldCreate
from dentalcare.ratelimit import Limits
from dentalcare.web import forms, phones
from dentalcare.web.chrome import facts_of
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.errors import not_found
from dentalcare.web.holding import PageHold, current_hold, forget_hold, keep_hold, page_hold
from dentalcare.web.pages import picker
from dentalcare.web.pages.bookings import remember
from dentalcare.web.pages.directory import GONE, parse_id, visible_dentist
from dentalcare.web.session import PageUser
from dentalcare.web.templating import is_htmx, redirect, render
from dentalcare.web.views import clean_form

router = APIRouter()

PATIENT_FIELDS = (
    "patient_name",
    "patient_email",
    "patient_phone",
    "patient_age",
    "chief_complaint",
    "patient_medical_conditions",
    "medical_history",
    "medications",
    "allergies",
    "notes",
    "payment_method",
)
BOOKING_FIELDS = (
    "appointment_date",
    "appointment_time",
    "treatment_type_id",
    "hold_id",
    *PATIENT_FIELDS,
)
NO_STORE = {"Cache-Control": "no-store"}
HOLD_ENDED = "Your hold on this time has ended. Please choose the time again."


def _prefill(user: Principal | None) -> dict[str, str]:
    if user is None or user.role != "patient":
        return {}
    return {
        "patient_name": user.full_name,
        "patient_email": user.email,
        "patient_phone": user.phone or "",
    }


def profile_url(dentist_id: str, treatment_id: str, week: str | None = None) -> str:
    """The dentist's booking page for a treatment (from a week)."""
    query = {"treatment": treatment_id, **({"week": week} if week else {})}
    return f"/dentists/{dentist_id}?{urlencode(query)}"


# ------------------------------------------------------------------ a dentist's booking page


async def _form_context(
    request: Request,
    uow: Uow,
    user: Principal | None,
    dentist: dict[str, Any],
    *,
    wanted: str | None,
    held: PageHold | None,
    now: datetime,
) -> dict[str, Any]:
    """The treatment chosen and `held`, if it is a live hold on this dentist and treatment."""
    options = await picker.dentist_treatments(uow=uow, caller=user, dentist=dentist)
    treatment = picker.choose_treatment(
        options,
        wanted=wanted,
        hold=held if held is not None and held.is_for(dentist["id"]) else None,
        default_id=str(facts_of(request).default_treatment_type_id),
    )
    context: dict[str, Any] = {
        "page": "dentist",
        "dentist": dentist,
        # A dentist with no opening hours has nothing to book: no form (issue 18).
        "bookable": dentist["id"] in await availability.dentists_with_hours(uow=uow, now=now),
        "dentist_zones": {dentist["id"]: dentist["timezone"]},
        "treatments": options,
        "treatment": treatment,
        "hold": None,
        "form": _prefill(user),
        "alternatives": [],
        "week": None,
        "now": now,
        # The live hold on this dentist (any treatment): this browser's pages look past it.
        "own_hold": held if held and held.live(now) and held.is_for(dentist["id"]) else None,
    }
    if (
        held is not None
        and treatment is not None
        and held.live(now)
        and held.is_for(dentist["id"], treatment["id"])
    ):
        context.update(picker.hold_view(held, timezone=dentist["timezone"], now=now))
    return context


async def _with_week(
    context: dict[str, Any],
    *,
    uow: Uow,
    settings: AppSettings,
    user: Principal | None,
    week: str | None,
) -> dict[str, Any]:
    """The context with the week of free starts (from `week`, else the held day)."""
    treatment, hold = context["treatment"], context["hold"]
    if treatment is not None:
        context["week"] = await picker.slot_week(
            uow=uow,
            settings=settings,
            caller=user,
            dentist=context["dentist"],
            treatment=treatment,
            week=week or (hold.date if hold is not None else None),
            hold=context["own_hold"],
            now=context["now"],
        )
    return context


@router.get("/dentists/{dentist_id}")
async def profile(
    request: Request,
    dentist_id: str,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    clock: AppClock,
    week: str | None = None,
    treatment: str | None = None,
) -> Response:
    """A dentist's profile: the treatment, its free starts in a week, the booking form (a
    removed dentist, whom only admins still see: the profile, and that they no longer
    take bookings)."""
    dentist = await visible_dentist(uow, user, parse_id(dentist_id))
    if not dentist["active"]:
        return render(request, "patient/dentist.html", {"page": "dentist", "dentist": dentist})
    context = await _form_context(
        request, uow, user, dentist, wanted=treatment, held=current_hold(request), now=clock.now()
    )
    await _with_week(context, uow=uow, settings=settings, user=user, week=week)
    return render(request, "patient/dentist.html", context)


@router.get("/dentists/{dentist_id}/times")
async def times_fragment(
    request: Request,
    dentist_id: str,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    clock: AppClock,
    start: str | None = None,
    treatment: str | None = None,
) -> Response:
    """The week of free starts for a treatment (htmx fragment)."""
    try:
        dentist = await dentists.get_dentist(uow=uow, caller=user, dentist_id=parse_id(dentist_id))
    except NotFound:
        dentist = None
    if dentist is None or not dentist["active"]:
        return render(request, "partials/booking_picker_gone.html", {"message": GONE})
    context = await _form_context(
        request, uow, user, dentist, wanted=treatment, held=current_hold(request), now=clock.now()
    )
    await _with_week(context, uow=uow, settings=settings, user=user, week=start)
    return render(request, "partials/booking_picker.html", context)


@router.get("/dentists/{dentist_id}/free-times")
async def free_times(
    request: Request,
    dentist_id: str,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    clock: AppClock,
    day: str = "",
    treatment: str = "",
) -> Response:
    """One day's free starts of a treatment as this browser sees them (its own hold
    looked past): the page asks again when a `slots` event names that day."""
    try:
        on = date.fromisoformat(day)
        times = await picker.free_times(
            uow=uow,
            settings=settings,
            caller=user,
            dentist_id=str(parse_id(dentist_id)),
            treatment_id=str(UUID(treatment)),
            on=on,
            hold=current_hold(request),
            now=clock.now(),
        )
    except ValueError:
        return JSONResponse({"error": "BadRequest", "detail": "Give day and treatment."}, 400)
    except DentalCareError as exc:
        return JSONResponse({"error": exc.code, "detail": exc.detail}, exc.status_code)
    return JSONResponse({"date": on.isoformat(), "times": times}, headers=NO_STORE)


def _slot_of(value: str) -> tuple[date, time] | None:
    """A slot button's value, `YYYY-MM-DDTHH:MM`, as (date, time)."""
    day, _, at = value.partition("T")
    try:
        return date.fromisoformat(day), time.fromisoformat(at)
    except ValueError:
        return None


@router.post("/dentists/{dentist_id}/hold")
async def hold_slot(
    request: Request,
    dentist_id: str,
    form: CheckedForm,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    limits: Limits,
    clock: AppClock,
) -> Response:
    """Hold the chosen start for the caller (their previous hold is given back): the
    form's time box for htmx, else back to the booking page with the hold."""
    dentist = await visible_dentist(uow, user, parse_id(dentist_id))
    if not dentist["active"]:
        raise not_found(GONE)
    now = clock.now()
    treatment_id = str(form.get("treatment_type_id") or "") or None
    previous = current_hold(request)
    slot = _slot_of(str(form.get("slot") or ""))
    error, alternatives, created = "Choose a free time in the calendar first.", [], None
    if slot is not None:
        try:
            body = HoldCreate.model_validate(
                {
                    "dentist_id": dentist["id"],
                    "appointment_date": slot[0],
                    "appointment_time": slot[1],
                    "treatment_type_id": treatment_id,
                }
            )
            # A refused hold gives the previous one back (as the API's 409 would).
            async with uow.savepoint():
                created = await holds.create_hold(
                    uow=uow,
                    settings=settings,
                    throttle=limits,
                    caller=user,
                    request=body,
                    token=previous.token if previous is not None else None,
                    now=now,
                )
        except SlotUnavailable as exc:
            error = exc.detail + " Please choose another time."
            alternatives = list(exc.extra.get("alternatives", []))
        except DentalCareError as exc:
            error = exc.detail
        except ValueError:
            error = "Choose a free time in the calendar first."
    if created is not None:
        hold = page_hold(created, token=created.get("hold_token"))
        return await _held(request, uow, settings, user, dentist, form, hold, now=now)
    context = await _form_context(
        request, uow, user, dentist, wanted=treatment_id, held=previous, now=now
    )
    context.update(errors={"appointment_time": error}, alternatives=alternatives)
    return await _answer(request, uow, settings, user, form, context, status_code=422)


async def _held(
    request: Request,
    uow: Uow,
    settings: AppSettings,
    user: Principal | None,
    dentist: dict[str, Any],
    form: FormData,
    hold: PageHold,
    *,
    now: datetime,
) -> Response:
    context = await _form_context(
        request, uow, user, dentist, wanted=hold.treatment_type_id, held=hold, now=now
    )
    typed = clean_form(form, PATIENT_FIELDS)
    if is_htmx(request) or typed:
        response = await _answer(request, uow, settings, user, form, context)
    else:
        url = profile_url(dentist["id"], hold.treatment_type_id, hold.date) + "#booking-form"
        response = redirect(request, url)
    keep_hold(request, response, hold, now=now)
    return response


async def _answer(
    request: Request,
    uow: Uow,
    settings: AppSettings,
    user: Principal | None,
    form: FormData,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """The form's time box (htmx), or the whole booking page with what was typed kept."""
    if is_htmx(request):
        headers = {"HX-Trigger": "dc:slots-stale"} if status_code != 200 else None
        return render(
            request, "partials/held_slot.html", context, status_code=status_code, headers=headers
        )
    context["form"] = {**context["form"], **clean_form(form, PATIENT_FIELDS)}
    week = str(form.get("week") or "") or None
    await _with_week(context, uow=uow, settings=settings, user=user, week=week)
    return render(request, "patient/dentist.html", context, status_code=status_code)


@router.post("/dentists/{dentist_id}/book")
async def book(
    request: Request,
    dentist_id: str,
    form: CheckedForm,
    uow: Uow,
    settings: AppSettings,
    user: PageUser,
    limits: Limits,
    clock: AppClock,
) -> Response:
    """Book the held start (or the chosen one); errors are shown at their fields, a
    lapsed hold or a taken start with the next free ones."""
    dentist = await visible_dentist(uow, user, parse_id(dentist_id))
    if not dentist["active"]:
        raise not_found(GONE)
    now = clock.now()
    values = clean_form(form, BOOKING_FIELDS)
    held = current_hold(request)
    token = held.token if held is not None and held.hold_id == values.get("hold_id") else None
    alternatives: list[dict[str, Any]] = []
    lapsed = False
    try:
        body = forms.parse(
            AppointmentCreate,
            {**values, "dentist_id": dentist["id"]},
            phone_region=phones.clinic_region(settings),
        )
        # A refused booking keeps the hold it came with (nothing it did is kept).
        async with uow.savepoint():
            appointment = await appointments.book_appointment(
                uow=uow,
                settings=settings,
                throttle=limits,
                caller=user,
                request=body,
                now=now,
                hold_token=token,
            )
    except forms.FormInvalid as exc:
        errors = exc.errors
        for hidden in ("hold_id", "treatment_type_id"):
            if hidden in errors:
                errors.setdefault("appointment_time", errors.pop(hidden))
    except SlotUnavailable as exc:
        errors = {"appointment_time": exc.detail + " Please choose another time."}
        alternatives = list(exc.extra.get("alternatives", []))
    except (HoldExpired, NotFound):
        # Lapsed, or not this browser's (another tab booked with it): choose again.
        errors, lapsed = {"appointment_time": HOLD_ENDED}, True
    except DentalCareError as exc:
        errors = forms.errors_of_service(exc)
    else:
        response = redirect(request, f"/bookings/{appointment['booking_reference']}")
        remember(request, response, appointment)
        forget_hold(request, response)
        return response
    context = await _form_context(
        request,
        uow,
        user,
        dentist,
        wanted=values.get("treatment_type_id"),
        held=None if lapsed else held,
        now=now,
    )
    typed = {k: v for k, v in values.items() if k in PATIENT_FIELDS}
    if context["hold"] is None and not lapsed:
        typed.update(
            {k: v for k, v in values.items() if k in ("appointment_date", "appointment_time")}
        )
    context.update(form=typed, errors=errors, alternatives=alternatives)
    if is_htmx(request):
        response = render(request, "partials/booking_form.html", context, status_code=422)
    else:
        week = values.get("appointment_date")
        await _with_week(context, uow=uow, settings=settings, user=user, week=week)
        response = render(request, "patient/dentist.html", context, status_code=422)
    if lapsed:
        forget_hold(request, response)
    return response
