"""Logging out revokes: the token is refused on REST (401) and its open sockets close with
4001 within 2 s — for API tokens and for the portals' session with its socket tokens.
Other sessions of the same user go on."""

from __future__ import annotations

import re
import time

import asyncpg
import httpx

from dentalcare.db.pool import connect
from tests.fixtures.rows import DEFAULT_PASSWORD, make_user
from tests.fixtures.servers import RunningServer
from tests.fixtures.tokens import bearer
from tests.realtime.conftest import open_feed

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CLOSE_WITHIN = 2.0


async def log_in(http: httpx.AsyncClient, email: str) -> str:
    """A fresh session's access token (POST /api/auth/login)."""
    response = await http.post(
        "/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def me(http: httpx.AsyncClient, token: str) -> int:
    """The status of GET /api/auth/me with `token`."""
    return (await http.get("/api/auth/me", headers=bearer(token))).status_code


async def test_logout_refuses_the_token_and_closes_its_sockets_within_2_s(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, live_server: RunningServer
) -> None:
    user = await make_user(owner_conn)
    token, other_session = await log_in(client, user["email"]), await log_in(client, user["email"])
    async with (
        open_feed(live_server, token) as feed,
        open_feed(live_server, other_session) as other_feed,
    ):
        await feed.subscribe("appointments")
        await other_feed.subscribe("appointments")
        logout = await client.post("/api/auth/logout", headers=bearer(token))
        assert logout.status_code == 204 and logout.content == b""
        started = time.monotonic()
        assert await feed.close_code(within=CLOSE_WITHIN) == 4001
        closed_after = time.monotonic() - started
        print(f"\nlogout -> socket closed 4001 after {closed_after * 1000:.1f} ms (same process)")
        assert closed_after < CLOSE_WITHIN
        assert await me(client, token) == 401
        again = await client.post("/api/auth/logout", headers=bearer(token))
        assert again.status_code == 401
        async with open_feed(live_server, token) as reopened:
            assert await reopened.close_code() == 4001
        # The same user's other session is not touched.
        assert await me(client, other_session) == 200
        assert (await other_feed.subscribe("dentists"))["type"] == "subscribed"
    stored = await owner_conn.fetch("SELECT user_id, expires_at FROM revoked_tokens")
    assert [r["user_id"] for r in stored] == [user["id"]]


async def test_logout_needs_a_valid_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/auth/logout")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"


async def test_expired_revocations_are_forgotten_by_the_next_logout(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    user = await make_user(owner_conn)
    await owner_conn.execute(
        """INSERT INTO revoked_tokens (jti, user_id, expires_at)
           VALUES (gen_random_uuid(), $1, now() - interval '1 minute'),
                  (gen_random_uuid(), $1, now() + interval '1 hour')""",
        user["id"],
    )
    token = await log_in(client, user["email"])
    assert (await client.post("/api/auth/logout", headers=bearer(token))).status_code == 204
    left = await owner_conn.fetchval("SELECT count(*) FROM revoked_tokens WHERE expires_at < now()")
    assert left == 0
    assert await owner_conn.fetchval("SELECT count(*) FROM revoked_tokens") == 2


async def test_the_service_role_cannot_read_or_forge_revocations(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    """RLS: under a patient's claims revoked_tokens reads as empty and takes only the
    patient's own rows; nobody but the service's system claims deletes, and no one updates."""
    mine, theirs = await make_user(owner_conn), await make_user(owner_conn)
    await owner_conn.execute(
        "INSERT INTO revoked_tokens (jti, user_id, expires_at)"
        " VALUES (gen_random_uuid(), $1, now() + interval '1 hour')",
        theirs["id"],
    )
    conn = await connect(database_url, app_role="dentalcare_app")
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.role', 'patient', true),"
                " set_config('app.user_id', $1, true)",
                str(mine["id"]),
            )
            assert await conn.fetchval("SELECT count(*) FROM revoked_tokens") == 0
            await conn.execute(
                "INSERT INTO revoked_tokens (jti, user_id, expires_at)"
                " VALUES (gen_random_uuid(), $1, now() + interval '1 hour')",
                mine["id"],
            )
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO revoked_tokens (jti, user_id, expires_at)"
                        " VALUES (gen_random_uuid(), $1, now() + interval '1 hour')",
                        theirs["id"],
                    )
            except asyncpg.InsufficientPrivilegeError:
                pass
            else:
                raise AssertionError("revoked another user's session")
            assert await conn.execute("DELETE FROM revoked_tokens") == "DELETE 0"
            try:
                async with conn.transaction():
                    await conn.execute("UPDATE revoked_tokens SET expires_at = now()")
            except asyncpg.InsufficientPrivilegeError:
                pass
            else:
                raise AssertionError("a revocation was edited")
    finally:
        await conn.close()
    assert await owner_conn.fetchval("SELECT count(*) FROM revoked_tokens") == 2


async def test_portal_logout_revokes_the_session_and_its_socket_tokens(
    owner_conn: asyncpg.Connection, live_server: RunningServer
) -> None:
    """POST /logout: the cookie's token and the socket token minted from the session are
    refused, and the page's socket closes with 4001 within 2 s."""
    user = await make_user(owner_conn)
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as browser:
        page = await browser.get("/login")
        csrf = CSRF.search(page.text)
        assert csrf
        logged_in = await browser.post(
            "/login",
            data={"email": user["email"], "password": DEFAULT_PASSWORD, "csrf_token": csrf[1]},
        )
        assert logged_in.status_code == 303
        session_token = browser.cookies["dc_session"]
        mine = CSRF.search((await browser.get("/my/appointments")).text)
        assert mine
        minted = await browser.post("/session/realtime-token", headers={"X-CSRF-Token": mine[1]})
        assert minted.status_code == 200
        socket_token = minted.json()["token"]
        async with open_feed(live_server, socket_token) as feed:
            await feed.subscribe("appointments")
            logout = await browser.post("/logout", headers={"X-CSRF-Token": mine[1]})
            assert logout.status_code == 303
            started = time.monotonic()
            assert await feed.close_code(within=CLOSE_WITHIN) == 4001
            assert time.monotonic() - started < CLOSE_WITHIN
        async with httpx.AsyncClient(base_url=live_server.base_url, timeout=10) as api:
            assert await me(api, session_token) == 401
            assert await me(api, socket_token) == 401
        async with open_feed(live_server, socket_token) as reopened:
            assert await reopened.close_code() == 4001
