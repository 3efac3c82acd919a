"""The address the login limits count: the peer's, unless FORWARDED_ALLOW_IPS names the
proxy in front (then X-Forwarded-For's); an IPv6 client counts by its /64.

Each test runs `dentalcare serve` as its own process, since the proxy setting is read
where the server starts (uvicorn's options), not by the application.
"""

from __future__ import annotations

import os

import httpx
import pytest

from dentalcare.cli import proxy_options
from dentalcare.ratelimit import client_bucket
from tests.fixtures.settings import token_settings
from tests.realtime.test_resilience import serve_process

LIMIT = 3
STRICT = {"DENTALCARE_RATE_LIMITS_ENABLED": "true", "DENTALCARE_LOGIN_ATTEMPTS_PER_MINUTE": "3"}


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "unknown"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_addresses_are_bucketed_ipv4_alone_and_ipv6_by_64(host: str | None, bucket: str) -> None:
    assert client_bucket(host) == bucket


def test_proxy_headers_are_read_only_when_configured() -> None:
    assert proxy_options({}) == {"proxy_headers": False}
    assert proxy_options({"FORWARDED_ALLOW_IPS": "  "}) == {"proxy_headers": False}
    assert proxy_options({"FORWARDED_ALLOW_IPS": "10.0.0.5,10.0.0.6"}) == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.5,10.0.0.6",
    }


async def _failed_login(http: httpx.AsyncClient, n: int, forwarded_for: str) -> int:
    """A wrong password for a fresh e-mail each time (only the address limit applies)."""
    response = await http.post(
        "/api/auth/login",
        json={"email": f"nobody{n}@example.com", "password": "wrong-password"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


async def test_without_the_setting_a_forged_forwarded_for_changes_nothing(
    database_url: str,
) -> None:
    """uvicorn on its own trusts a local peer's X-Forwarded-For; `dentalcare serve` does not
    unless told: a client rotating the header is still one address."""
    assert "FORWARDED_ALLOW_IPS" not in os.environ  # unset, as by default
    async with (
        serve_process(database_url, token_settings(), STRICT) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        codes = [await _failed_login(http, n, f"198.51.100.{n}") for n in range(LIMIT + 1)]
    assert codes == [401] * LIMIT + [429]


async def test_behind_a_configured_proxy_clients_count_by_address_and_ipv6_by_64(
    database_url: str,
) -> None:
    """With FORWARDED_ALLOW_IPS naming the proxy (here the loopback the test connects
    from), the forwarded address counts; IPv6 clients of one /64 share a count."""
    env = {**STRICT, "FORWARDED_ALLOW_IPS": "127.0.0.1"}
    async with (
        serve_process(database_url, token_settings(), env) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        one_64 = [f"2001:db8:1:2::{n + 1:x}" for n in range(LIMIT)] + ["2001:db8:1:2:ffff::9"]
        codes = [await _failed_login(http, n, host) for n, host in enumerate(one_64)]
        assert codes == [401] * LIMIT + [429]
        assert await _failed_login(http, 10, "2001:db8:1:3::1") == 401, "the next /64 is apart"
        assert await _failed_login(http, 11, "198.51.100.7") == 401, "so is another client"
