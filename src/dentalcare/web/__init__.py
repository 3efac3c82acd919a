"""Server-rendered portals: the patient site, the dentist portal and the admin dashboard.

`install(app)` adds the page routes, the static files and the handler for page errors.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from starlette.staticfiles import StaticFiles

from dentalcare.web.chrome import load_clinic
from dentalcare.web.error_pages import install_handler
from dentalcare.web.pages import (
    accounts,
    actions,
    admin,
    api_docs,
    booking,
    bookings,
    clinic_admin,
    dentist,
    desk_booking,
    directory,
    front_desk,
    links,
    mail,
    my,
    records,
    schedule,
    treatment_admin,
    treatments,
    waitlist,
)
from dentalcare.web.templating import STATIC

# Every portal page shows the clinic's name and phone (from its settings): read once per
# page. /docs is Swagger UI's own page, with no chrome and no database.
router = APIRouter(include_in_schema=False)
portal = APIRouter(dependencies=[Depends(load_clinic)])
for _module in (
    accounts,
    directory,
    treatments,
    booking,
    bookings,
    my,
    actions,
    dentist,
    schedule,
    admin,
    desk_booking,
    front_desk,
    treatment_admin,
    clinic_admin,
    mail,
    links,
    waitlist,
    records,
):
    portal.include_router(_module.router)
router.include_router(portal)
router.include_router(api_docs.router)


def install(app: FastAPI) -> None:
    """Serve the portals from `app`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_handler(app)
