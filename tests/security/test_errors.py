"""Errors never leak: no stack trace, no SQL, no file paths, whatever the request; and
hostile input is refused as bad input (4xx), never answered with a 500."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer, make_app

LEAKS = re.compile(
    r"Traceback|File \"|site-packages|/src/dentalcare|\.py\b|asyncpg|psycopg|sqlalchemy|"
    r"\bSELECT\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b|\bDELETE FROM\b|\bWHERE\b|\bJOIN\b|"
    r"relation \"|violates|syntax error|pg_catalog|SQLSTATE|Exception|Error\(",
)


def assert_no_leak(response: httpx.Response, where: str) -> None:
    """A 4xx in the contract's shape that gives nothing of the internals away."""
    assert 400 <= response.status_code < 500, (where, response.status_code, response.text)
    assert not LEAKS.search(response.text), (where, response.text)
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        assert isinstance(body["error"], str) and isinstance(body["detail"], str), where
        assert set(body) <= {"error", "detail", "fields", "alternatives"}, (where, body)


@pytest.fixture
async def http(live_server: RunningServer, clinic: Clinic) -> AsyncIterator[httpx.AsyncClient]:
    """A client that opens a fresh connection per request (a 500 would drop keep-alive)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.base_url, limits=limits, timeout=10) as c:
        yield c


async def test_hostile_requests_are_refused_without_leaking(
    clinic: Clinic, http: httpx.AsyncClient
) -> None:
    """Bad ids, bad JSON, NUL characters, absurd numbers, bad filters, unknown routes."""
    x = clinic.dentists["x"]["id"]
    a = clinic.appointments["a"]["id"]
    patient, admin = clinic.auth("patient_a"), clinic.auth("admin")
    json_headers = {"Content-Type": "application/json", **admin}
    deep = "[" * 30_000 + "]" * 30_000
    requests: list[tuple[str, str, dict[str, object]]] = [
        ("GET", "/api/appointments/' OR 1=1 --", {"headers": admin}),
        ("GET", "/api/dentists/%00", {}),
        ("GET", "/api/dentists/1;DROP TABLE dentists", {}),
        ("DELETE", "/api/dentists/not-a-uuid", {"headers": admin}),
        ("POST", "/api/appointments", {"content": deep, "headers": json_headers}),
        ("POST", "/api/appointments", {"content": '{"a": 1e999999}', "headers": json_headers}),
        ("POST", "/api/appointments", {"content": b"\xc3\x28", "headers": json_headers}),
        ("POST", "/api/appointments", {"json": clinic.booking(patient_name="a\x00b")}),
        ("POST", "/api/appointments", {"json": clinic.booking(notes="\x00")}),
        ("POST", "/api/appointments", {"json": clinic.booking(patient_age=10**40)}),
        ("POST", "/api/appointments", {"json": clinic.booking(appointment_date="99999-01-01")}),
        ("POST", "/api/appointments", {"json": clinic.booking(appointment_time="25:61")}),
        ("POST", "/api/appointments", {"json": clinic.booking(dentist_id="' OR 1=1")}),
        ("POST", "/api/appointments", {"json": [1, 2, 3]}),
        (
            "POST",
            "/api/auth/register",
            {"json": {"email": "n@example.com", "password": "long\x00enough", "full_name": "\x00"}},
        ),
        ("POST", "/api/auth/login", {"json": {"email": "a\x00@example.com", "password": "x"}}),
        ("GET", "/api/appointments/lookup", {"params": {"reference": "DC-\x00", "email": "\x00"}}),
        ("GET", "/api/appointments", {"params": {"cursor": "' OR 1=1"}, "headers": patient}),
        ("GET", "/api/appointments", {"params": {"cursor": "AAAA"}, "headers": patient}),
        ("GET", "/api/appointments", {"params": {"limit": "1e9"}, "headers": patient}),
        ("GET", "/api/appointments", {"params": {"from": "2026-02-30"}, "headers": patient}),
        ("GET", f"/api/dentists/{x}/slots", {"params": {"from": "2026-01-01", "to": "2030-01-01"}}),
        ("PUT", f"/api/appointments/{a}", {"json": {"status": "' OR 1=1"}, "headers": patient}),
        ("PUT", f"/api/appointments/{a}", {"json": {"notes": "\x00"}, "headers": patient}),
        (
            "PUT",
            f"/api/availability/{x}",
            {"json": {"weekly": [{"day_of_week": 9, "start_time": "x", "end_time": "y"}]}},
        ),
        ("PATCH", f"/api/dentists/{x}", {"json": {"bio": "\x00"}, "headers": admin}),
        ("PATCH", f"/api/dentists/{x}", {"json": {"timezone": "'; DROP TABLE x; --"}}),
        ("GET", "/api/no-such-thing", {}),
        ("TRACE", "/api/dentists", {}),
    ]
    for method, path, options in requests:
        response = await http.request(method, path, **options)  # type: ignore[arg-type]
        assert_no_leak(response, f"{method} {path} {options}")
    assert int(await clinic.conn.fetchval("SELECT count(*) FROM appointments")) == 3


async def test_chat_with_nul_is_refused(clinic: Clinic, http: httpx.AsyncClient) -> None:
    """A chat message the database cannot store is bad input, and the session goes on."""
    session = (await http.post("/api/chat/sessions")).json()["session_id"]
    path = f"/api/chat/sessions/{session}/messages"
    assert_no_leak(await http.post(path, json={"text": "hello\x00there"}), "chat NUL")
    assert (await http.post(path, json={"text": "hello"})).status_code == 200


async def test_portal_error_pages_do_not_leak(clinic: Clinic, http: httpx.AsyncClient) -> None:
    """The portals' own error pages (HTML) for bad ids and unknown pages."""
    admin = clinic.auth("admin")["Authorization"].removeprefix("Bearer ")
    http.cookies.set("dc_session", admin)
    statuses = {}
    for path in (
        "/dentists/' OR 1=1",
        "/admin/dentists/1;DROP TABLE dentists/edit",
        "/admin/dentists/' OR 1=1/availability",
        "/my/appointments/' OR 1=1/reschedule",
        "/no/such/page",
        "/static/../../etc/passwd",
    ):
        response = await http.get(path)
        statuses[path] = response.status_code
        assert_no_leak(response, path)
    assert set(statuses.values()) <= {403, 404}, statuses  # /my/… is for patients


def _exploding_app(database_url: str) -> FastAPI:
    app = make_app(database_url)

    @app.get("/boom/python")
    async def python_failure() -> None:
        raise RuntimeError("SELECT password_hash FROM users WHERE id = 1 -- at /src/x.py")

    @app.get("/boom/database")
    async def database_failure() -> None:
        raise asyncpg.UndefinedTableError('relation "secrets" does not exist')

    return app


async def test_an_unexpected_failure_is_a_bare_500(database_url: str) -> None:
    """A bug deep in the server answers a generic 500; the details go to the log only."""
    transport = httpx.ASGITransport(app=_exploding_app(database_url), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        for path in ("/boom/python", "/boom/database"):
            response = await client.get(path)
            assert response.status_code == 500
            assert response.json() == {
                "error": "InternalError",
                "detail": "Something went wrong on our side.",
            }
