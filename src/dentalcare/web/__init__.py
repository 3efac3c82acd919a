"""Server-rendered portals: the patient site, the dentist portal and the admin dashboard.

`install(app)` adds the page routes, the static files and the handler for page errors.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from dentalcare.web.error_pages import install_handler
from dentalcare.web.pages import (
    accounts,
    actions,
    admin,
    api_docs,
    bookings,
    dentist,
    directory,
    my,
    schedule,
)
from dentalcare.web.templating import STATIC

router = APIRouter(include_in_schema=False)
for _module in (accounts, directory, bookings, my, actions, dentist, schedule, admin, api_docs):
    router.include_router(_module.router)


def install(app: FastAPI) -> None:
    """Serve the portals from `app`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_handler(app)
