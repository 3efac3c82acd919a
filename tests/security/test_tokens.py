"""Forged, stale and revoked tokens are refused everywhere a token is read: every REST
operation, the realtime WebSocket (close 4001) and the portals' session cookie."""

from __future__ import annotations

import base64

import asyncpg
import httpx
import orjson
import pytest

from dentalcare.clock import ManualClock
from tests.fixtures.clinic import Clinic
from tests.fixtures.rows import DEFAULT_PASSWORD, make_user
from tests.fixtures.servers import RunningServer, serve
from tests.fixtures.tokens import bearer
from tests.fuzz.schema import OPENAPI, schema
from tests.realtime.conftest import open_feed
from tests.security.conftest import with_payload

# Operations that never read a token: the rest must refuse a bad one with 401. The
# links' own operations and the logged-out account ones take their credential from the
# link (or need none): a stale session token beside it is ignored, not refused.
TOKEN_FREE = {
    ("GET", "/api/manage/{token}"),
    ("POST", "/api/manage/{token}"),
    ("POST", "/api/unsubscribe/{token}"),
    ("POST", "/api/auth/password-reset"),
    ("POST", "/api/auth/password-reset/confirm"),
    ("POST", "/api/auth/verify-email"),
    ("POST", "/api/bookings/email-me"),
    ("GET", "/api/health"),
    ("GET", "/api/sync/health"),
    ("GET", "/api/realtime/health"),
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("GET", "/api/dentists/{dentist_id}/slots"),
    ("GET", "/api/appointments/lookup"),
}
OPERATIONS = [
    (method.upper(), path)
    for path, item in OPENAPI["paths"].items()
    for method in item
    if (method.upper(), path) not in TOKEN_FREE
]
COUNTED = ("users", "dentists", "appointments", "dentist_availability", "availability_exceptions")
PORTAL_PAGES = ("/my/appointments", "/dentist", "/dentist/availability", "/admin", "/admin/sync")


def _browser(server: RunningServer, token: str) -> httpx.AsyncClient:
    """A client carrying `token` as the portals' session cookie (redirects not followed)."""
    return httpx.AsyncClient(base_url=server.base_url, cookies={"dc_session": token}, timeout=10)


async def _row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in COUNTED}


def test_the_sweep_covers_every_kind_of_operation() -> None:
    """Reads and writes of every domain are in the sweep."""
    assert len(OPERATIONS) >= 22
    for expected in (
        ("GET", "/api/dentists"),
        ("POST", "/api/appointments"),
        ("PUT", "/api/appointments/{appointment_id}"),
        ("DELETE", "/api/dentists/{dentist_id}"),
        ("PUT", "/api/availability/{dentist_id}"),
        ("POST", "/api/chat/sessions"),
        ("GET", "/api/sync/stats"),
    ):
        assert expected in OPERATIONS


async def test_every_operation_refuses_every_bad_token(
    clinic: Clinic, refused_tokens: dict[str, str]
) -> None:
    """401 Unauthorized in the documented shape, and nothing is written."""
    ids = {
        "dentist_id": clinic.dentists["x"]["id"],
        "appointment_id": clinic.appointments["a"]["id"],
        "exception_id": clinic.appointments["a"]["id"],
        "session_id": clinic.appointments["a"]["id"],
        "hold_id": clinic.appointments["a"]["id"],
        "treatment_id": clinic.appointments["a"]["id"],
        "chair_id": clinic.appointments["a"]["id"],
        "closure_id": clinic.appointments["a"]["id"],
        "patient_id": clinic.users["patient_a"]["id"],
        "message_id": clinic.appointments["a"]["id"],
        "user_id": clinic.users["patient_a"]["id"],
        "entry_id": clinic.appointments["a"]["id"],
        "token": "no-such-link.secret",
    }
    before = await _row_counts(clinic.conn)
    wrong: list[tuple[str, str, str, int, str]] = []
    for kind, token in refused_tokens.items():
        for method, path in OPERATIONS:
            operation = schema[path][method.lower()]
            case = operation.Case(
                path_parameters={k: str(v) for k, v in ids.items() if f"{{{k}}}" in path},
                media_type="application/json",
            )
            body = clinic.booking(at="15:00") if "requestBody" in operation.definition.raw else None
            response = await clinic.http.request(
                method, case.formatted_path, json=body, headers=bearer(token)
            )
            if response.status_code != 401 or response.json().get("error") != "Unauthorized":
                wrong.append((kind, method, path, response.status_code, response.text[:120]))
                continue
            try:
                case.validate_response(response)
            except (Exception, BaseExceptionGroup) as problem:  # every operation is reported
                wrong.append((kind, method, path, 401, str(problem).splitlines()[0][:120]))
    assert wrong == [], "\n".join(map(str, wrong))
    assert await _row_counts(clinic.conn) == before


async def test_the_session_cookie_is_refused_like_the_header(
    clinic: Clinic, refused_tokens: dict[str, str], live_server: RunningServer
) -> None:
    """The API reads the portals' cookie too: the same tokens are refused there."""
    good = clinic.auth("patient_a")["Authorization"].removeprefix("Bearer ")
    for kind, token in [*refused_tokens.items(), ("good", good)]:
        async with _browser(live_server, token) as http:
            response = await http.get("/api/appointments")
        assert response.status_code == (200 if kind == "good" else 401), kind


async def test_portal_pages_treat_a_bad_cookie_as_logged_out(
    clinic: Clinic, refused_tokens: dict[str, str], live_server: RunningServer
) -> None:
    """Protected pages send the browser to log in; public ones show no account and drop
    the cookie."""
    patient_name = clinic.users["patient_a"]["full_name"]
    for kind, token in refused_tokens.items():
        for page in PORTAL_PAGES:
            async with _browser(live_server, token) as http:
                response = await http.get(page)
            assert response.status_code == 303, (kind, page)
            assert response.headers["location"].startswith("/login"), (kind, page)
        async with _browser(live_server, token) as http:
            home = await http.get("/")
        assert home.status_code == 200 and patient_name not in home.text, kind
        dropped = [c for c in home.headers.get_list("set-cookie") if "dc_session=" in c]
        assert dropped and ('dc_session=""' in dropped[0] or "Max-Age=0" in dropped[0]), kind
    good = clinic.auth("patient_a")["Authorization"].removeprefix("Bearer ")
    async with _browser(live_server, good) as http:
        mine = await http.get("/my/appointments")
    assert mine.status_code == 200 and patient_name in mine.text


async def test_the_realtime_socket_closes_4001_on_every_bad_token(
    clinic: Clinic, refused_tokens: dict[str, str], live_server: RunningServer
) -> None:
    """On connect (?token=) and on a later `auth` message."""
    for kind, token in refused_tokens.items():
        async with open_feed(live_server, token) as feed:
            assert await feed.close_code() == 4001, kind
        async with open_feed(live_server) as feed:
            await feed.subscribe("dentists")
            await feed.send({"type": "auth", "ref": "1", "token": token})
            assert await feed.close_code() == 4001, kind
    good = clinic.auth("patient_a")["Authorization"].removeprefix("Bearer ")
    async with open_feed(live_server, good) as feed:
        assert (await feed.subscribe("appointments"))["type"] == "subscribed"


@pytest.mark.parametrize("target", ["patient_b", "admin"])
async def test_a_token_edited_to_stand_for_another_user_is_refused(
    clinic: Clinic, target: str
) -> None:
    """Swapping `sub` (and `role`) in a real token's payload breaks its signature."""
    token = clinic.auth("patient_a")["Authorization"].removeprefix("Bearer ")
    claims = orjson.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    user = clinic.users[target]
    edited = with_payload(token, {**claims, "sub": str(user["id"]), "role": user["role"]})
    response = await clinic.http.get("/api/auth/me", headers=bearer(edited))
    assert response.status_code == 401
    assert (await clinic.http.get("/api/auth/me", headers=bearer(token))).status_code == 200


async def test_a_token_expires_on_the_servers_clock(
    database_url: str, owner_conn: asyncpg.Connection, clock: ManualClock
) -> None:
    """A login's token is issued on the application's clock and expires on it: it works
    until its whole lifetime has passed there, then 401 (no real time passes)."""
    patient = await make_user(owner_conn)
    with serve(database_url, clock=clock) as server:
        settings = server.app.state.settings
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            login = await http.post(
                "/api/auth/login", json={"email": patient["email"], "password": DEFAULT_PASSWORD}
            )
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            claims = orjson.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            assert claims["iat"] == int(clock.now().timestamp())
            clock.advance(settings.access_token_minutes * 60 - 1)
            assert (await http.get("/api/auth/me", headers=bearer(token))).status_code == 200
            clock.advance(1)
            expired = await http.get("/api/auth/me", headers=bearer(token))
            assert expired.status_code == 401
            assert "expired" in expired.json()["detail"]
