"""The demo clinic `make run` loads: a moving week of appointments, and honest logins."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from uuid import uuid4

import asyncpg
import pytest

from dentalcare.db.pool import Database
from dentalcare.demo.service import TREATMENTS, load_demo
from dentalcare.demo.week import DemoDentist, plan_week
from tests.fixtures.database import app_pool

NOW = datetime(2031, 3, 12, 14, 10, tzinfo=UTC)  # a Wednesday afternoon


@pytest.fixture
async def app_db(database_url: str, owner_conn: asyncpg.Connection) -> AsyncIterator[Database]:
    async with app_pool(database_url, max_size=2) as db:
        yield db


def _dentist(days: list[int]) -> DemoDentist:
    return DemoDentist(
        id=uuid4(),
        timezone="UTC",
        windows={d: [(time(9), time(12, 30)), (time(13, 30), time(17))] for d in days},
    )


def test_the_week_has_the_past_today_and_the_days_ahead_on_working_days_only() -> None:
    weekdays = _dentist([0, 1, 2, 3, 4])
    visits = plan_week(dentists=[weekdays], patients=[], now=NOW)
    days = {v.on for v in visits}
    today = NOW.date()
    assert today in days
    assert any(d < today for d in days) and any(d > today for d in days)
    assert all(d.weekday() < 5 for d in days)
    for visit in visits:
        begun = datetime.combine(visit.on, visit.at, UTC) <= NOW
        allowed = (
            {"completed", "no_show", "cancelled"}
            if begun
            else {"pending", "confirmed", "cancelled"}
        )
        assert visit.status in allowed, visit
        assert (visit.cancellation_reason is not None) == (visit.status == "cancelled")
    # No two visits of one dentist at the same time, and every one inside the hours.
    assert len({(v.on, v.at) for v in visits}) == len(visits)
    assert all(
        time(9) <= v.at < time(17) and not time(12, 30) <= v.at < time(13, 30) for v in visits
    )


def test_the_plan_is_the_same_for_the_same_day_and_skips_days_already_booked() -> None:
    dentist = _dentist([0, 1, 2, 3, 4, 5, 6])
    first = plan_week(dentists=[dentist], patients=[], now=NOW)
    again = plan_week(dentists=[dentist], patients=[], now=NOW)
    assert first == again
    booked = {(dentist.id, NOW.date()), (dentist.id, NOW.date() + timedelta(days=1))}
    rest = plan_week(dentists=[dentist], patients=[], now=NOW, taken_days=booked)
    assert {v.on for v in rest} == {v.on for v in first} - {d for _, d in booked}


async def test_the_demo_clinic_has_a_lived_in_week_and_restarting_adds_nothing(
    app_db: Database, owner_conn: asyncpg.Connection
) -> None:
    now = datetime.now(UTC)
    logins = await load_demo(app_db, timezone="UTC", now=now)
    assert len(logins) == 9
    assert [lg.email for lg in logins if lg.role == "front_desk"] == ["desk@example.com"]
    rows = await owner_conn.fetch(
        "SELECT status, booking_source, appointment_date, starts_at FROM appointments"
    )
    today = now.date()
    statuses = Counter(r["status"] for r in rows)
    assert statuses["completed"] > 0 and statuses["confirmed"] + statuses["pending"] > 0
    assert any(r["booking_source"] == "chatbot" for r in rows)
    assert any(r["appointment_date"] == today for r in rows)
    assert all(
        r["starts_at"] > now for r in rows if r["status"] in ("pending", "confirmed")
    ) or any(r["appointment_date"] <= today for r in rows)
    assert all(r["starts_at"] <= now for r in rows if r["status"] in ("completed", "no_show"))
    flagged = await owner_conn.fetchval(
        "SELECT count(*) FROM appointments WHERE allergies IS NOT NULL"
    )
    assert flagged > 0  # the dentist portal has allergies to show
    await load_demo(app_db, timezone="UTC", now=now)
    assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == len(rows)


async def test_the_banner_does_not_offer_logins_that_no_longer_work(
    app_db: Database, owner_conn: asyncpg.Connection
) -> None:
    await load_demo(app_db, timezone="UTC")
    await owner_conn.execute(
        "UPDATE users SET disabled = true WHERE email = 'dr.patel@example.com'"
    )
    await owner_conn.execute(
        "UPDATE dentists SET active = false, removed_at = now()"
        " WHERE email = 'dr.patel@example.com'"
    )
    logins = await load_demo(app_db, timezone="UTC")
    assert "dr.patel@example.com" not in {login.email for login in logins}
    assert "dr.smith@example.com" in {login.email for login in logins}


async def test_the_demo_clinic_offers_its_ten_treatments_and_books_a_check_up_by_default(
    app_db: Database, owner_conn: asyncpg.Connection
) -> None:
    await load_demo(app_db, timezone="UTC")
    online = await owner_conn.fetch(
        "SELECT name FROM treatment_types WHERE active AND bookable_online ORDER BY name"
    )
    assert [r["name"] for r in online] == sorted(t[0] for t in TREATMENTS)
    default = await owner_conn.fetchval(
        """SELECT t.name FROM clinic_settings s
           JOIN treatment_types t ON t.id = s.default_treatment_type_id"""
    )
    assert default == "Check-up"
    assert await owner_conn.fetchval("SELECT count(*) FROM chairs WHERE active") == 4
    without_chair = await owner_conn.fetchval(
        "SELECT count(*) FROM dentists WHERE active AND default_chair_id IS NULL"
    )
    assert without_chair == 0
