"""/api/reports and /api/reports.csv (staff)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from dentalcare.auth.deps import CurrentUser
from dentalcare.db.deps import AppClock, Uow
from dentalcare.errors import Forbidden, Unauthorized, ValidationError
from dentalcare.errors import responses as error_responses
from dentalcare.reports import service
from dentalcare.responses import JSON

router = APIRouter(prefix="/api", tags=["reports"])

From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]


@router.get("/reports", responses=error_responses(Unauthorized, Forbidden, ValidationError))
async def get_report(
    uow: Uow, user: CurrentUser, clock: AppClock, start: From = None, end: To = None
) -> Any:
    """No-show rate, cancellations, utilisation of dentists' hours and chairs, bookings
    by source, for appointment dates `from`..`to` (default: the last seven days)."""
    return JSON(
        await service.report(uow=uow, caller=user, start=start, end=end, today=clock.now().date())
    )


@router.get(
    "/reports.csv",
    response_class=Response,
    responses={
        200: {"description": "The report as CSV", "content": {"text/csv": {}}},
        **error_responses(Unauthorized, Forbidden, ValidationError),
    },
)
async def get_report_csv(
    uow: Uow, user: CurrentUser, clock: AppClock, start: From = None, end: To = None
) -> Response:
    """The same report as CSV (`section,name,metric,value`)."""
    figures = await service.report(
        uow=uow, caller=user, start=start, end=end, today=clock.now().date()
    )
    first, last = figures["from"], figures["to"]
    return Response(
        service.as_csv(figures),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="report-{first}-{last}.csv"'},
    )
