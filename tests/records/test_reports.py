"""Reports on a hand-built week: every figure checked against what the rows say."""

from __future__ import annotations

import csv
import io
from datetime import time, timedelta

import pytest

from tests.fixtures.clinic import Clinic
from tests.fixtures.rows import make_appointment

CALLERS = ("anon", "patient_a", "patient_b", "dentist_x", "dentist_y", "admin")


async def _week(clinic: Clinic) -> dict[str, str]:
    """Dentists X and Y work 08-18 every day; A, B and the guest hold 30-minute pending
    bookings on day 0; day 1 has a completed visit in a chair (staff-booked), a no-show
    and a cancelled chatbot booking."""
    chair = await clinic.conn.fetchval("INSERT INTO chairs (name) VALUES ('Chair 1') RETURNING id")
    day1 = clinic.day + timedelta(days=1)
    x, y = clinic.dentists["x"]["id"], clinic.dentists["y"]["id"]
    await make_appointment(
        clinic.conn,
        dentist_id=x,
        on=day1,
        at=time(11),
        status="completed",
        booking_source="admin",
        chair_id=chair,
    )
    await make_appointment(clinic.conn, dentist_id=x, on=day1, at=time(12), status="no_show")
    await make_appointment(
        clinic.conn,
        dentist_id=y,
        on=day1,
        at=time(13),
        status="cancelled",
        booking_source="chatbot",
    )
    # outside the range: not counted
    await make_appointment(clinic.conn, dentist_id=x, on=clinic.day + timedelta(days=7), at=time(9))
    return {
        "from": clinic.day.isoformat(),
        "to": (clinic.day + timedelta(days=6)).isoformat(),
    }


async def test_report_figures_for_a_week(clinic: Clinic) -> None:
    params = await _week(clinic)
    response = await clinic.http.get("/api/reports", params=params, headers=clinic.auth("admin"))
    assert response.status_code == 200, response.text
    r = response.json()
    assert (r["from"], r["to"]) == (params["from"], params["to"])
    assert r["appointments"] == 6
    assert (r["completed"], r["no_shows"], r["cancellations"]) == (1, 1, 1)
    assert r["no_show_rate"] == 0.5
    assert r["cancellation_rate"] == round(1 / 6, 4)
    assert r["by_source"] == {"manual": 4, "chatbot": 1, "admin": 1, "front_desk": 0}
    dentists = {d["name"]: d for d in r["dentists"]}
    assert dentists["Dr Xavier Test"]["available_minutes"] == 7 * 600
    assert dentists["Dr Xavier Test"]["booked_minutes"] == 120
    assert dentists["Dr Xavier Test"]["utilisation"] == round(120 / 4200, 4)
    assert dentists["Dr Yvonne Test"]["booked_minutes"] == 30
    [chair] = r["chairs"]
    assert (chair["name"], chair["open_minutes"], chair["booked_minutes"]) == ("Chair 1", 4200, 30)
    assert len(r["days"]) == 7
    assert r["days"][0] == {"date": params["from"], "booked": 3, "cancelled": 0, "no_shows": 0}
    assert r["days"][1]["booked"] == 2 and r["days"][1]["cancelled"] == 1
    assert all(d["booked"] == 0 for d in r["days"][2:])


async def test_report_csv_says_the_same(clinic: Clinic) -> None:
    params = await _week(clinic)
    response = await clinic.http.get(
        "/api/reports.csv", params=params, headers=clinic.auth("admin")
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "name", "metric", "value"]
    assert ["totals", "", "no_show_rate", "0.5000"] in rows
    assert ["source", "chatbot", "appointments", "1"] in rows
    assert ["dentist", "Dr Xavier Test", "booked_minutes", "120"] in rows
    assert ["chair", "Chair 1", "booked_minutes", "30"] in rows


@pytest.mark.parametrize("path", ["/api/reports", "/api/reports.csv"])
@pytest.mark.parametrize("caller", CALLERS)
async def test_only_staff_read_reports(clinic: Clinic, path: str, caller: str) -> None:
    response = await clinic.http.get(path, headers=clinic.auth(caller))
    expected = {"anon": 401, "admin": 200}.get(caller, 403)
    assert response.status_code == expected


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-03-10", "to": "2026-03-01"},
        {"from": "2025-01-01", "to": "2026-06-01"},
        {"from": "yesterday"},
    ],
)
async def test_bad_ranges_are_refused(clinic: Clinic, params: dict[str, str]) -> None:
    response = await clinic.http.get("/api/reports", params=params, headers=clinic.auth("admin"))
    assert response.status_code in (400, 422)
    assert response.json()["error"] in {"ValidationError", "BadRequest"}
