"""The waitlist's pages: joining from the booking pages ("tell me if something earlier
frees up"), the one-click offer link, and the staff's /admin/waitlist (entries, offer
chains, recalls and the figures). Plain forms; the services decide everything."""

from __future__ import annotations

from datetime import timedelta

import pydantic
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import DentalCareError
from dentalcare.ratelimit import Limits
from dentalcare.waitlist import service as waitlist
from dentalcare.waitlist.schemas import TIMES_OF_DAY, WaitlistCreate
from dentalcare.web.csrf import CheckedForm
from dentalcare.web.pages.accounts import safe_next
from dentalcare.web.pages.directory import parse_id
from dentalcare.web.session import AdminPage, PageUser
from dentalcare.web.templating import redirect, render

router = APIRouter()


@router.post("/waitlist/join")
async def join_waitlist(
    request: Request, form: CheckedForm, user: PageUser, uow: Uow, clock: AppClock
) -> Response:
    """Put the visitor on the waitlist for the treatment (and dentist) of the page."""
    back = safe_next(form.get("back")) or "/book"
    today = clock.now().date()
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
        await waitlist.join(uow=uow, caller=user, request=request_, now=clock.now())
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
