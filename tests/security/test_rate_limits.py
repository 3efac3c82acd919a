"""Brute force against login is rate limited per address and per e-mail address.

The strict server allows 3 login attempts a minute for each key. Connections come from
different loopback addresses (127.0.0.x) so the per-address and per-e-mail limits can be
told apart; the server runs on a manual clock that steps past the window without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from dentalcare.clock import ManualClock
from tests.fixtures.clinic import Clinic
from tests.fixtures.rows import DEFAULT_PASSWORD
from tests.fixtures.servers import RunningServer

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


def test_one_account_tried_from_many_addresses_is_limited(
    clinic: Clinic, strict_server: RunningServer
) -> None:
    """A distributed guess at one account: the e-mail's own limit stops it, case-blind."""
    email = clinic.users["patient_a"]["email"]
    spellings = [email, email.upper(), f"  {email}  ", email.title()]
    codes = []
    for i, spelling in enumerate(spellings):
        with client_from(strict_server, f"127.0.0.{21 + i}") as client:
            codes.append(login(client, spelling).status_code)
    assert codes == [401] * LIMIT + [429]
    with client_from(strict_server, "127.0.0.30") as client:
        assert login(client, email, DEFAULT_PASSWORD).status_code == 429
        other = login(client, clinic.users["patient_b"]["email"], DEFAULT_PASSWORD)
        assert other.status_code == 200, "another account is not locked out"


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
