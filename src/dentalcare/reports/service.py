"""Report figures for a date range (staff), as JSON, CSV rows and a server-drawn chart.

Definitions (API.md, reports): the range is of appointment dates, both ends included.
No-show rate = no-shows / (completed + no-shows): of the appointments whose outcome is
known. Cancellation rate = cancelled / all. A dentist's utilisation = booked minutes (every
appointment not cancelled) / the minutes of their weekly hours on the dates of the range
(one-off exceptions are not counted). A chair's = its booked minutes, buffers included /
the clinic's open minutes (each date, earliest dentist start to latest end).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from dentalcare.auth.tokens import Principal
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import Forbidden, ValidationError
from dentalcare.reports import repository
from dentalcare.vocabulary import BOOKING_SOURCES, is_staff

MAX_DAYS = 366


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def date_range(start: date | None, end: date | None, *, today: date) -> tuple[date, date]:
    """The range asked for (by default the seven days to `today`); 422 when reversed or
    longer than a year."""
    end = end or (today if start is None else start + timedelta(days=6))
    start = start or end - timedelta(days=6)
    if start > end:
        raise ValidationError(
            "from: must not be after to.", fields=[{"loc": ["query", "from"], "msg": "after to"}]
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError(
            f"to: a report covers at most {MAX_DAYS} days.",
            fields=[{"loc": ["query", "to"], "msg": "range too long"}],
        )
    return start, end


async def report(
    *, uow: UnitOfWork, caller: Principal, start: date | None, end: date | None, today: date
) -> dict[str, Any]:
    """The figures for appointments dated `start`..`end` (see `date_range`)."""
    if not is_staff(caller.role):
        raise Forbidden("This is for clinic staff only.")
    start, end = date_range(start, end, today=today)
    conn = await uow.connection()
    counts = await repository.counts(conn, start, end)
    sources = await repository.by_source(conn, start, end)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "appointments": counts["appointments"],
        "completed": counts["completed"],
        "no_shows": counts["no_shows"],
        "no_show_rate": _ratio(counts["no_shows"], counts["completed"] + counts["no_shows"]),
        "cancellations": counts["cancellations"],
        "cancellation_rate": _ratio(counts["cancellations"], counts["appointments"]),
        "by_source": {source: sources.get(source, 0) for source in BOOKING_SOURCES},
        "dentists": [
            {
                "dentist_id": str(r["id"]),
                "name": r["name"],
                "available_minutes": r["available_minutes"],
                "booked_minutes": r["booked_minutes"],
                "utilisation": _ratio(r["booked_minutes"], r["available_minutes"]),
            }
            for r in await repository.dentists(conn, start, end)
        ],
        "chairs": [
            {
                "chair_id": str(r["id"]),
                "name": r["name"],
                "open_minutes": r["open_minutes"],
                "booked_minutes": r["booked_minutes"],
                "utilisation": _ratio(r["booked_minutes"], r["open_minutes"]),
            }
            for r in await repository.chairs(conn, start, end)
        ],
        "days": [
            {
                "date": r["day"].isoformat(),
                "booked": r["booked"],
                "cancelled": r["cancelled"],
                "no_shows": r["no_shows"],
            }
            for r in await repository.by_day(conn, start, end)
        ],
    }


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def as_csv(figures: dict[str, Any]) -> str:
    """The report as CSV: one `section,name,metric,value` row per figure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "name", "metric", "value"])
    writer.writerow(["range", "", "from", figures["from"]])
    writer.writerow(["range", "", "to", figures["to"]])
    for key in ("appointments", "completed", "no_shows", "cancellations"):
        writer.writerow(["totals", "", key, figures[key]])
    for key in ("no_show_rate", "cancellation_rate"):
        writer.writerow(["totals", "", key, _fmt(figures[key])])
    for source, n in figures["by_source"].items():
        writer.writerow(["source", source, "appointments", n])
    for d in figures["dentists"]:
        for key in ("available_minutes", "booked_minutes"):
            writer.writerow(["dentist", d["name"], key, d[key]])
        writer.writerow(["dentist", d["name"], "utilisation", _fmt(d["utilisation"])])
    for c in figures["chairs"]:
        for key in ("open_minutes", "booked_minutes"):
            writer.writerow(["chair", c["name"], key, c[key]])
        writer.writerow(["chair", c["name"], "utilisation", _fmt(c["utilisation"])])
    for day in figures["days"]:
        for key in ("booked", "cancelled", "no_shows"):
            writer.writerow(["day", day["date"], key, day[key]])
    return out.getvalue()


def chart_bars(figures: dict[str, Any], *, height: int = 120) -> dict[str, Any]:
    """Geometry of the bookings-per-day bar chart (an SVG the page draws with no script):
    one bar per day, scaled to the busiest day."""
    days = figures["days"]
    top = max([d["booked"] for d in days] + [1])
    width = 24
    bars = []
    for i, d in enumerate(days):
        h = round(d["booked"] / top * height)
        bars.append(
            {
                "x": i * width + 4,
                "y": height - h,
                "width": width - 8,
                "height": h,
                "date": d["date"],
                "booked": d["booked"],
            }
        )
    return {"width": max(len(days) * width, width), "height": height, "bars": bars, "top": top}
