"""GET /metrics over real HTTP: who may read it, and that the figures move."""

from __future__ import annotations

import re

from tests.fixtures.clinic import Clinic


def _value(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{name}{labels} not in metrics"
    return float(found.group(1))


async def test_metrics_count_requests_by_route_template(clinic: Clinic) -> None:
    path = f"/api/appointments/{clinic.appointments['a']['id']}"
    labels = '{method="GET",route="/api/appointments/{appointment_id}",status="200"}'
    first = await clinic.http.get("/metrics", headers=clinic.auth("admin"))
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    before = (
        _value(first.text, "dentalcare_http_request_duration_seconds_count", labels)
        if labels in first.text
        else 0.0
    )
    for _ in range(3):
        assert (await clinic.http.get(path, headers=clinic.auth("admin"))).status_code == 200
    text = (await clinic.http.get("/metrics", headers=clinic.auth("admin"))).text
    assert _value(text, "dentalcare_http_request_duration_seconds_count", labels) == before + 3
    assert _value(text, "dentalcare_outbox_depth") >= 0
    assert _value(text, "dentalcare_realtime_connections") >= 0
    assert _value(text, "dentalcare_db_pool_connections") >= 1
    assert _value(text, "dentalcare_db_pool_in_use") >= 0
    # the scrape itself is the one request in flight (the outbox's workers yield to them)
    assert _value(text, "dentalcare_http_requests_in_flight") == 1
    # the literal id never becomes a label: one series per route, not per appointment
    assert str(clinic.appointments["a"]["id"]) not in text


async def test_metrics_are_for_admins_or_localhost(clinic: Clinic) -> None:
    # the test client connects from 127.0.0.1: a local scraper needs no token
    assert (await clinic.http.get("/metrics")).status_code == 200
    for caller in ("patient_a", "dentist_x"):
        refused = await clinic.http.get("/metrics", headers=clinic.auth(caller))
        assert refused.status_code == 403
        assert "dentalcare_" not in refused.text


async def test_metrics_count_the_slots_caches_hits_and_misses(clinic: Clinic) -> None:
    path = f"/api/dentists/{clinic.dentists['x']['id']}/slots"
    params = {"from": clinic.day.isoformat(), "to": clinic.day.isoformat()}

    async def counts() -> tuple[float, float]:
        text = (await clinic.http.get("/metrics", headers=clinic.auth("admin"))).text
        return (
            _value(text, "dentalcare_slots_cache_hits"),
            _value(text, "dentalcare_slots_cache_misses"),
        )

    hits, misses = await counts()
    for _ in range(3):
        assert (await clinic.http.get(path, params=params)).status_code == 200
    later_hits, later_misses = await counts()
    # The first read is a miss; the others hit unless a commit made the cache wait.
    assert later_hits + later_misses == hits + misses + 3
    assert later_misses >= misses + 1
    text = (await clinic.http.get("/metrics", headers=clinic.auth("admin"))).text
    assert _value(text, "dentalcare_slots_cache_entries") >= 0
