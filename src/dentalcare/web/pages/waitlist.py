"""The waitlist's pages: joining from the booking pages ("tell me if something earlier
frees up"), the one-click offer link, a logged-in patient's live offer notice, and the
staff's /admin/waitlist (entries, offer chains, recalls and the figures). Plain forms;
the services decide everything."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pydantic
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from dentalcare.clinic import service as clinic
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import DentalCareError
from dentalcare.ratelimit import Limits
from dentalcare.waitlist import service as waitlist
from dentalcare.waitlist.schemas import TIMES_OF_DAY, WaitlistCreate
from dentalcare.web import localtime
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.pages.accounts import safe_next
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import AdminPage, PageUser, PatientPage
from dentalcare.web.templating import is_htmx, redirect, render

router = APIRouter()


@router.post("/waitlist/join")
async def join_waitlist(
    request: Request,
    form: CheckedForm,
    user: PageUser,
    uow: Uow,
    settings: AppSettings,
    clock: AppClock,
) -> Response:
    """Put the visitor on the waitlist for the treatment (and dentist) of the page."""
    back = safe_next(form.get("back")) or "/book"
    today = await clinic.today(uow=uow, settings=settings, now=clock.now())
    values: dict[str, object] = {
        "treatment_type_id": str(form.get("treatment_type_id", "")),
        "dentist_id": str(form.get("dentist_id", "")) or None,
        "earliest_date": str(form.get("wl_from", "")) or today.isoformat(),
        "latest_date": str(form.get("wl_until", "")) or (today + timedelta(days=30)).isoformat(),
        "times": [t for t in TIMES_OF_DAY if form.get(f"wl_{t}")] or list(TIMES_OF_DAY),
    }
    for field, name in (
        ("patient_name", "wl_name"),
        ("patient_email", "wl_email"),
        ("patient_phone", "wl_phone"),
    ):
        if str(form.get(name, "")).strip():
            values[field] = str(form.get(name, "")).strip()
    try:
        request_ = WaitlistCreate.model_validate(values)
        await waitlist.join(
            uow=uow, settings=settings, caller=user, request=request_, now=clock.now()
        )
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the form"
        return redirect(request, back, message=f"Waitlist: {where}: {first['msg']}", kind="error")
    except DentalCareError as exc:
        return redirect(request, back, message=f"Waitlist: {exc.detail}", kind="error")
    return redirect(
        request,
        back,
        message="You are on the waitlist: if a time that suits frees up, we hold it for "
        "you and send you a link.",
    )


@router.get("/waitlist/{entry_id}/accept")
async def offer_page(
    request: Request,
    entry_id: str,
    token: str = Query(default="", max_length=100),
) -> Response:
    """The offer link's page: one button takes the time (a POST: links are never
    followed into a booking by a mail scanner)."""
    return render(
        request,
        "patient/waitlist_offer.html",
        {"page": "waitlist", "entry_id": str(parse_id(entry_id)), "token": token},
    )


@router.post("/waitlist/{entry_id}/accept")
async def accept_offer(
    request: Request,
    entry_id: str,
    form: CheckedForm,
    user: PageUser,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    clock: AppClock,
) -> Response:
    """Book the offered time."""
    try:
        booked = await waitlist.accept_offer(
            uow=uow,
            settings=settings,
            throttle=limits,
            caller=user,
            entry_id=parse_id(entry_id),
            token=str(form.get("token", "")) or None,
            now=clock.now(),
        )
    except DentalCareError as exc:
        return render(
            request,
            "patient/waitlist_offer.html",
            {"page": "waitlist", "entry_id": entry_id, "token": "", "problem": exc.detail},
            status_code=exc.status_code,
        )
    return render(request, "patient/waitlist_offer.html", {"page": "waitlist", "booked": booked})


NOTICE = "partials/offer_notice.html"


def _held_until(offer: dict[str, Any]) -> str:
    """When the hold ends, on the dentist's clock ("11:00 GMT")."""
    expires: datetime = offer["expires_at"]
    local = expires.astimezone(localtime.zone(offer["dentist_timezone"]))
    item = {"date": local.date(), "time": local.time(), "starts_at": expires}
    return localtime.clock_of(item, offer["dentist_timezone"])


async def _notice(
    request: Request, user: PatientPage, uow: Uow, clock: AppClock, **extra: Any
) -> Response:
    """The patient's offer notice: every open offer, or what just became of one."""
    offers = await waitlist.open_offers(uow=uow, caller=user, now=clock.now())
    for offer in offers:
        offer["held_until"] = _held_until(offer)
    zones = {str(o["dentist_id"]): o["dentist_timezone"] for o in offers}
    values: dict[str, Any] = {"booked": None, "booked_entry": "", "problem": "", **extra}
    return render(request, NOTICE, {"offers": offers, "dentist_zones": zones, **values})


def _problem(request: Request, exc: DentalCareError) -> Response:
    """The notice saying why Book it / No thanks did not work (the offers come back with
    the next live event: the failed transaction is read no further)."""
    # 200, not the error's status: htmx swaps 2xx only, and the notice must say why.
    values: dict[str, Any] = {
        "offers": [],
        "booked": None,
        "booked_entry": "",
        "problem": exc.detail,
    }
    return render(request, NOTICE, values)


@router.get("/my/offers")
async def my_offers(request: Request, user: PatientPage, uow: Uow, clock: AppClock) -> Response:
    """The live offer notice every patient page shows (fetched when an offer event comes)."""
    return await _notice(request, user, uow, clock)


@router.post("/my/offers/{entry_id}/accept")
async def accept_my_offer(
    request: Request,
    entry_id: str,
    form: CheckedForm,
    user: PatientPage,
    uow: Uow,
    settings: AppSettings,
    limits: Limits,
    clock: AppClock,
) -> Response:
    """Book it: the offered time becomes the patient's appointment."""
    try:
        booked = await waitlist.accept_offer(
            uow=uow,
            settings=settings,
            throttle=limits,
            caller=user,
            entry_id=parse_id(entry_id),
            token=None,
            now=clock.now(),
        )
    except DentalCareError as exc:
        if not is_htmx(request):
            return redirect(request, "/my/appointments", message=exc.detail, kind="error")
        return _problem(request, exc)
    if not is_htmx(request):
        return redirect(request, "/my/appointments", message="Booked from the waitlist.")
    return await _notice(request, user, uow, clock, booked=booked, booked_entry=entry_id)


@router.post("/my/offers/{entry_id}/decline")
async def decline_my_offer(
    request: Request,
    entry_id: str,
    form: CheckedForm,
    user: PatientPage,
    uow: Uow,
    clock: AppClock,
) -> Response:
    """No thanks: the time goes to the next person, the entry waits again."""
    try:
        await waitlist.decline_offer(
            uow=uow, caller=user, entry_id=parse_id(entry_id), token=None, now=clock.now()
        )
    except DentalCareError as exc:
        if not is_htmx(request):
            return redirect(request, "/my/appointments", message=exc.detail, kind="error")
        return _problem(request, exc)
    if not is_htmx(request):
        return redirect(request, "/my/appointments", message="We passed that time on.")
    return await _notice(request, user, uow, clock)


@router.get("/admin/waitlist")
async def admin_waitlist(request: Request, user: AdminPage, uow: Uow, clock: AppClock) -> Response:
    """Staff: the figures, every entry with its live offer, the recent offer chains and
    the recall list."""
    entries = await waitlist.list_entries(
        uow=uow, caller=user, status=None, dentist_id=None, treatment_type_id=None
    )
    return render(
        request,
        "admin/waitlist.html",
        {
            "page": "admin-waitlist",
            "figures": await waitlist.dashboard(uow=uow, caller=user),
            "entries": entries,
            "offers": await waitlist.recent_offers(uow=uow, caller=user),
            "recalls": await waitlist.list_recalls(uow=uow, caller=user, due_before=None),
            "today_iso": clock.now().date().isoformat(),
        },
    )
