"""The clinic's own name and contact details on every page (the header's brand, the
footer's phone), read from the clinic's settings rather than written into the templates."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from dentalcare.clinic import service as clinic
from dentalcare.clinic.service import ClinicFacts
from dentalcare.db.claims import ANONYMOUS
from dentalcare.db.deps import AppSettings, Uow, get_db, get_settings
from dentalcare.db.errors import DATABASE_DOWN
from dentalcare.errors import DentalCareError


async def load_clinic(request: Request, uow: Uow, settings: AppSettings) -> None:
    """Read the clinic's settings once per page request (in the request's unit of work)."""
    if getattr(request.state, "clinic", None) is None:
        request.state.clinic = await clinic.clinic_facts(uow=uow, settings=settings)


async def resolve_clinic(request: Request) -> None:
    """`load_clinic` outside a route (an error page): its own short read-only unit of
    work; if the database cannot say, the page falls back to the deployment's settings."""
    if getattr(request.state, "clinic", None) is not None:
        return
    db, settings = await get_db(request), await get_settings(request)
    try:
        async with db.unit_of_work(ANONYMOUS, read_only=True) as uow:
            request.state.clinic = await clinic.clinic_facts(uow=uow, settings=settings)
    except (DentalCareError, *DATABASE_DOWN):
        request.state.clinic = None


def chrome_of(request: Request) -> dict[str, Any]:
    """The brand and contact details the page chrome shows."""
    facts: ClinicFacts | None = getattr(request.state, "clinic", None)
    if facts is None:
        settings = request.app.state.settings
        return {"name": settings.clinic_name, "phone": "", "email": "", "address": ""}
    return {
        "name": facts.name,
        "phone": facts.phone,
        "email": facts.email,
        "address": facts.address,
    }


def facts_of(request: Request) -> ClinicFacts:
    """The clinic's settings as read for this page (`load_clinic` runs on every page)."""
    facts: ClinicFacts | None = getattr(request.state, "clinic", None)
    assert facts is not None, "the page routes load the clinic's settings first"
    return facts
