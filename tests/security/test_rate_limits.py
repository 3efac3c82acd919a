"""Brute force against login is limited per address and per e-mail address, counting
failures only: guessing wrong passwords for someone's account never locks its owner out.

The strict server allows 3 failed logins a minute per address and per account.
Connections come from different loopback addresses (127.0.0.x) so the per-address and
per-e-mail limits can be told apart; the server runs on a manual clock that steps past the
window without sleeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from dentalcare.auth.passwords import PasswordHashing, verify_password
from dentalcare.clock import ManualClock
from tests.fixtures.clinic import Clinic
from tests.fixtures.rows import DEFAULT_PASSWORD
from tests.fixtures.servers import RunningServer, serve

LIMIT = 3


@contextmanager
def client_from(server: RunningServer, address: str) -> Iterator[httpx.Client]:
    """A client whose connections leave from `address` (any of 127.0.0.0/8)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.base_url, transport=transport, timeout=10) as client:
        yield client


def login(client: httpx.Client, email: str, password: str = "wrong-password") -> httpx.Response:
    """One login attempt."""
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_one_address_trying_many_accounts_is_limited(
    clinic: Clinic, strict_server: RunningServer
) -> None:
    """Password spraying: a new e-mail each time, one address; the 4th attempt is 429."""
    with client_from(strict_server, "127.0.0.11") as client:
        codes = [login(client, f"victim{i}@example.com").status_code for i in range(LIMIT + 2)]
        assert codes == [401] * LIMIT + [429, 429]
        limited = login(client, clinic.users["patient_a"]["email"], DEFAULT_PASSWORD)
        assert limited.status_code == 429, "even the right password waits"
        assert limited.json()["error"] == "RateLimited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        signup = client.post(
            "/api/auth/register",
            json={"email": "new@example.com", "password": "long-enough", "full_name": "N"},
        )
        assert signup.status_code == 429, "registering counts against the address too"
    with client_from(strict_server, "127.0.0.12") as other:
        assert login(other, "victim0@example.com").status_code == 401, "other addresses go on"


def test_one_account_tried_from_many_addresses_is_slowed_not_locked(
    clinic: Clinic, strict_server: RunningServer
) -> None:
    """A distributed guess at one account, case-blind: once it has failed LIMIT times in a
    minute each address gets two failures a minute for it, not LIMIT — and the owner, from
    an address that has not failed for it, still logs in."""
    email = clinic.users["patient_a"]["email"]
    spellings = [email, email.upper(), f"  {email}  ", email.title()]
    for i, spelling in enumerate(spellings[:LIMIT]):
        with client_from(strict_server, f"127.0.0.{21 + i}") as client:
            assert login(client, spelling).status_code == 401
    with client_from(strict_server, "127.0.0.24") as client:
        codes = [login(client, spelling).status_code for spelling in spellings]
        assert codes == [401, 401, 429, 429], "under attack: two failures per address"
        assert "from your address" in login(client, email).json()["detail"]
        other = login(client, clinic.users["patient_b"]["email"], DEFAULT_PASSWORD)
        assert other.status_code == 200, "the address may still log in to other accounts"
    with client_from(strict_server, "127.0.0.21") as client:
        assert [login(client, email).status_code for _ in range(2)] == [401, 429]
    with client_from(strict_server, "127.0.0.30") as client:
        owner = login(client, email, DEFAULT_PASSWORD)
        assert owner.status_code == 200, "the owner is not locked out"


def test_the_limit_lifts_after_the_window(
    clinic: Clinic, strict_server: RunningServer, clock: ManualClock
) -> None:
    """The window is a minute, sliding: after it, the right password logs in."""
    email = clinic.users["patient_a"]["email"]
    with client_from(strict_server, "127.0.0.41") as client:
        assert [login(client, email).status_code for _ in range(LIMIT + 1)] == [401] * 3 + [429]
        clock.advance(59)
        assert login(client, email, DEFAULT_PASSWORD).status_code == 429
        clock.advance(1.5)
        assert login(client, email, DEFAULT_PASSWORD).status_code == 200


@pytest.fixture
def production_limits(database_url: str) -> Iterator[RunningServer]:
    """A server with the shipped login limit (10 failures a minute) switched on."""
    with serve(database_url, rate_limits_enabled=True) as running:
        assert running.app.state.settings.login_attempts_per_minute == 10
        yield running


def async_client_from(server: RunningServer, address: str) -> httpx.AsyncClient:
    """An async client whose connections leave from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=server.base_url, transport=transport, timeout=30)


async def test_the_admin_logs_in_while_another_address_floods_wrong_passwords(
    clinic: Clinic, production_limits: RunningServer
) -> None:
    """127.0.0.2 sends wrong passwords for the admin's e-mail, eight at a time, for as
    long as the test runs; the admin, from 127.0.0.3, logs in with the right one. The
    flooder gets its ten failures and then only 429s — even with the right password."""
    email = clinic.users["admin"]["email"]
    codes: list[int] = []
    stop, refused = asyncio.Event(), asyncio.Event()

    async def flood(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            response = await http.post(
                "/api/auth/login", json={"email": email, "password": "wrong-password"}
            )
            codes.append(response.status_code)
            if codes.count(429) >= 20:  # the account is under attack by now
                refused.set()

    async with (
        async_client_from(production_limits, "127.0.0.2") as flooder,
        async_client_from(production_limits, "127.0.0.3") as admin,
    ):
        floods = [asyncio.create_task(flood(flooder)) for _ in range(8)]
        try:
            await asyncio.wait_for(refused.wait(), 30)
            started = time.monotonic()
            logged_in = await admin.post(
                "/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
            )
            took = time.monotonic() - started
            assert logged_in.status_code == 200, logged_in.text
            assert logged_in.json()["user"]["role"] == "admin"
            me = await admin.get(
                "/api/auth/me",
                headers={"Authorization": f"Bearer {logged_in.json()['access_token']}"},
            )
            assert me.status_code == 200
            flooded_with_right = await flooder.post(
                "/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
            )
            assert flooded_with_right.status_code == 429
        finally:
            stop.set()
            await asyncio.gather(*floods)
    print(
        f"\nflood: {len(codes)} attempts, {codes.count(401)} x 401, {codes.count(429)} x 429;"
        f" the admin's login took {took * 1000:.1f} ms"
    )
    assert codes.count(401) == 10, "exactly the ten failures a minute, none slip past"
    assert set(codes) == {401, 429}


async def test_argon2_runs_a_few_at_a_time_and_a_long_wait_is_503(
    clinic: Clinic, production_limits: RunningServer
) -> None:
    """One slot, checks of 0.4 s and a wait of at most 0.1 s: of four logins at once one
    is checked and the others are told to come back (503, Retry-After), counted as no
    failure; the event loop serves other requests meanwhile."""

    def slow_verify(password_hash: str | None, password: str) -> bool:
        time.sleep(0.4)  # a worker thread: what production argon2 costs, and more
        return verify_password(password_hash, password)

    slow = PasswordHashing(limit=1, wait_seconds=0.1, verify_fn=slow_verify)
    production_limits.app.state.password_hashing = slow
    email = clinic.users["patient_a"]["email"]
    body = {"email": email, "password": DEFAULT_PASSWORD}
    async with async_client_from(production_limits, "127.0.0.51") as http:
        logins = [asyncio.create_task(http.post("/api/auth/login", json=body)) for _ in range(4)]
        await asyncio.sleep(0.15)
        started = time.monotonic()
        assert (await http.get("/api/health")).status_code == 200
        health_took = time.monotonic() - started
        answers = await asyncio.gather(*logins)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 503, 503, 503]
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.json()["error"] == "ServiceUnavailable" and busy.headers["Retry-After"]
    assert slow.peak == 1
    assert health_took < 0.3, f"the loop was blocked for {health_took:.3f} s"
    limiter = production_limits.app.state.login_limiter
    assert limiter.by_email.retry_after(email) is None and not limiter.by_email._hits.get(email)
