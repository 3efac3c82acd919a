"""GET /api/dentists/{id}/slots from each process's cache (availability/cache.py), over
real HTTP: served again, and never behind a change once the change's event is read —
whether it came through this process, another one, or SQL outside the service."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer, caught_up, serve
from tests.fixtures.waiting import wait_for


def _path(clinic: Clinic, dentist: str = "x") -> str:
    return f"/api/dentists/{clinic.dentists[dentist]['id']}/slots"


def _params(clinic: Clinic, **extra: str) -> dict[str, str]:
    day = clinic.day.isoformat()
    return {"from": day, "to": day, **extra}


async def _times(http: httpx.AsyncClient, clinic: Clinic, **extra: str) -> list[str]:
    response = await http.get(_path(clinic), params=_params(clinic, **extra))
    assert response.status_code == 200, response.text
    return [s["time"] for s in response.json()["slots"]]


async def _fresh(server: RunningServer, http: httpx.AsyncClient, clinic: Clinic) -> list[str]:
    """The answer computed anew (the cache emptied first)."""
    server.app.state.slots_cache.invalidate()
    return await _times(http, clinic)


async def _served_from_cache(server: RunningServer, http: httpx.AsyncClient, clinic: Clinic) -> Any:
    """Read until a read is a cache hit (the background workers' commits make the cache
    wait for a listener round now and then); the body it gave."""
    cache = server.app.state.slots_cache

    async def hit() -> bytes | None:
        before = cache.hits
        response = await http.get(_path(clinic), params=_params(clinic))
        assert response.status_code == 200, response.text
        return response.content if cache.hits == before + 1 else None

    return await wait_for(hit, what="a read served from the cache")


async def test_a_read_is_served_again_and_a_booking_is_seen_at_once(
    clinic: Clinic, live_server: RunningServer
) -> None:
    await caught_up(live_server, clinic.conn)
    first = await clinic.http.get(_path(clinic), params=_params(clinic))
    cached = await _served_from_cache(live_server, clinic.http, clinic)
    assert cached == first.content
    assert "13:00" in await _times(clinic.http, clinic)
    booked = await clinic.http.post("/api/appointments", json=clinic.booking(at="13:00"))
    assert booked.status_code == 201, booked.text
    # No wait: the client that booked reads its own change.
    assert "13:00" not in await _times(clinic.http, clinic)
    held = await clinic.http.post(
        "/api/holds",
        json={
            "dentist_id": str(clinic.dentists["x"]["id"]),
            "appointment_date": clinic.day.isoformat(),
            "appointment_time": "15:00",
        },
    )
    assert held.status_code == 201, held.text
    assert "15:00" not in await _times(clinic.http, clinic)
    gone = await clinic.http.delete(
        f"/api/holds/{held.json()['hold_id']}",
        headers={"X-Hold-Token": held.json()["hold_token"]},
    )
    assert gone.status_code == 204, gone.text
    assert "15:00" in await _times(clinic.http, clinic)


async def test_a_booking_through_another_process_reaches_this_ones_cache(
    clinic: Clinic, live_server: RunningServer, database_url: str
) -> None:
    await caught_up(live_server, clinic.conn)
    await _served_from_cache(live_server, clinic.http, clinic)
    with serve(database_url, outbox_workers=0) as other:
        async with httpx.AsyncClient(base_url=other.base_url, timeout=30) as there:
            booked = await there.post("/api/appointments", json=clinic.booking(at="14:00"))
            assert booked.status_code == 201, booked.text
    await caught_up(live_server, clinic.conn)
    assert "14:00" not in await _times(clinic.http, clinic)


async def _changed_by_sql(
    clinic: Clinic, live_server: RunningServer, statement: str, *args: Any
) -> tuple[list[str], list[str], list[str]]:
    """The answer before `statement` (run as the owner, outside the service), the one
    served once the listener has read its event, and one computed anew."""
    await caught_up(live_server, clinic.conn)
    await _served_from_cache(live_server, clinic.http, clinic)
    before = await _times(clinic.http, clinic)
    await clinic.conn.execute(statement, *args)
    await caught_up(live_server, clinic.conn)
    served = await _times(clinic.http, clinic)
    return before, served, await _fresh(live_server, clinic.http, clinic)


async def test_a_closure_written_by_sql_empties_the_day(
    clinic: Clinic, live_server: RunningServer
) -> None:
    before, served, fresh = await _changed_by_sql(
        clinic,
        live_server,
        "INSERT INTO clinic_closures (date, reason) VALUES ($1, 'Flood')",
        clinic.day,
    )
    assert before and served == fresh == []


async def test_a_treatments_new_buffer_written_by_sql_moves_the_slots(
    clinic: Clinic, live_server: RunningServer
) -> None:
    # The clinic's default type: a 30-minute visit, now with an hour to clear up after.
    before, served, fresh = await _changed_by_sql(
        clinic,
        live_server,
        """UPDATE treatment_types SET buffer_after_minutes = 60
           WHERE id = (SELECT default_treatment_type_id FROM clinic_settings)""",
    )
    assert served == fresh
    assert "08:30" in before and "08:30" not in served  # it would run into the 09:00 visit


async def test_the_clinics_chairs_move_every_dentists_cached_slots(
    clinic: Clinic, live_server: RunningServer
) -> None:
    chair = await clinic.http.post(
        "/api/chairs", json={"name": "Surgery 1"}, headers=clinic.auth("admin")
    )
    assert chair.status_code == 201, chair.text
    await caught_up(live_server, clinic.conn)
    await _served_from_cache(live_server, clinic.http, clinic)
    assert "13:00" in await _times(clinic.http, clinic)
    # Dr Y's booking takes the only chair: Dr X's cached 13:00 goes with it.
    booked = await clinic.http.post(
        "/api/appointments", json=clinic.booking(dentist="y", at="13:00")
    )
    assert booked.status_code == 201, booked.text
    assert "13:00" not in await _times(clinic.http, clinic)
    # A second chair, put in by SQL: 13:00 is free again.
    before, served, fresh = await _changed_by_sql(
        clinic, live_server, "INSERT INTO chairs (name) VALUES ('Surgery 2')"
    )
    assert "13:00" not in before and "13:00" in served and served == fresh


async def test_a_public_refusal_is_not_cached_and_staff_answers_are_their_own(
    clinic: Clinic, live_server: RunningServer, owner_conn: asyncpg.Connection
) -> None:
    created = await clinic.http.post(
        "/api/treatment-types",
        json={"name": "Implant review", "duration_minutes": 30, "bookable_online": False},
        headers=clinic.auth("admin"),
    )
    assert created.status_code == 201, created.text
    params = _params(clinic, treatment_type_id=created.json()["id"])
    for _ in range(2):
        refused = await clinic.http.get(_path(clinic), params=params)
        assert refused.status_code == 422, refused.text
    staff = clinic.auth("front_desk")
    for _ in range(2):
        answer = await clinic.http.get(_path(clinic), params=params, headers=staff)
        assert answer.status_code == 200 and answer.json()["slots"], answer.text
    again = await clinic.http.get(_path(clinic), params=params)
    assert again.status_code == 422, again.text
    unknown = await clinic.http.get(
        "/api/dentists/00000000-0000-4000-8000-00000000abcd/slots", params=_params(clinic)
    )
    assert unknown.status_code == 404
