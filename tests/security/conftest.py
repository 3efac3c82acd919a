"""Security tests: forged and stale tokens, hostile strings, a server with real rate limits."""

from __future__ import annotations

import base64
import json
import time as clock
import warnings
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import asyncpg
import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from dentalcare.auth.tokens import ALGORITHM, issue_token
from dentalcare.clock import ManualClock
from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import RunningServer, serve
from tests.fixtures.tokens import bearer

WRONG_KEY = "an-attackers-guess-at-the-key-that-is-long-enough-0000"

# Strings that break naive SQL (quotes, comments, statement separators, placeholders,
# dollar quoting, backslash escapes, LIKE wildcards) and text in other scripts. No NUL
# (PostgreSQL text cannot hold one) and no surrounding spaces (the API strips those).
SQL_INJECTIONS = (
    "'; DROP TABLE appointments; --",
    "' OR '1'='1",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    '" OR ""="',
    "$1",
    "$1, $2); DROP TABLE users; --",
    "$$; DROP TABLE dentists; $$",
    "back\\slash \\' OR 1=1 -- \\\\ \\x27 \\n",
    "E'\\x27' || (SELECT password_hash FROM users LIMIT 1)",
    "%' OR 1=1 /* _ */ --",
    "1; SELECT pg_sleep(10)",
    "Zoë Ñandú, 歯科医院 — 🦷 ‮ עברית",
)

# Script in user input: an element, an attribute break-out and a javascript: URL.
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
XSS_PAYLOADS = (SCRIPT, ATTRIBUTE_BREAK, JS_URL)


def claims_of(user: asyncpg.Record, **changes: Any) -> dict[str, Any]:
    """The claims a real token of `user` carries, valid for ten minutes, with `changes`."""
    now = int(clock.time())
    claims: dict[str, Any] = {
        "sub": str(user["id"]),
        "role": user["role"],
        "ver": user["token_version"],
        "iat": now,
        "exp": now + 600,
        "typ": "access",
        "jti": str(uuid4()),
    }
    claims.update(changes)
    return claims


def unsigned(claims: dict[str, Any]) -> str:
    """A token with `alg: none` and no signature."""
    return jwt.encode(claims, None, algorithm="none")


def other_algorithm(claims: dict[str, Any], secret: str) -> str:
    """Signed with the real key, but HS512 where the API pins HS256."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # the test key is short
        return jwt.encode(claims, secret, algorithm="HS512")


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """`token` with its payload replaced by `claims`, its header and signature kept."""
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def forged_tokens(settings: Any, people: Clinic) -> dict[str, str]:
    """Every kind of token the API must refuse (the disabled user and the removed dentist
    are set up by `refused_tokens`)."""
    patient, admin = people.users["patient_a"], people.users["admin"]
    secret = settings.jwt_secret
    real = issue_token(settings, user_id=patient["id"], role="patient", token_version=0)
    as_admin = claims_of(patient, role="admin")
    return {
        "alg none": unsigned(claims_of(admin)),
        "wrong key": jwt.encode(claims_of(admin), WRONG_KEY, algorithm=ALGORITHM),
        "expired": jwt.encode(
            claims_of(patient, iat=int(clock.time()) - 7200, exp=int(clock.time()) - 3600),
            secret,
            algorithm=ALGORITHM,
        ),
        "role edited, re-signed with a wrong key": jwt.encode(
            as_admin, WRONG_KEY, algorithm=ALGORITHM
        ),
        "role edited, unsigned": unsigned(as_admin),
        "role edited, original signature": with_payload(real, as_admin),
        "role claim not the user's, real key": jwt.encode(as_admin, secret, algorithm=ALGORITHM),
        "another algorithm, real key": other_algorithm(claims_of(patient), secret),
        "not a JWT": "not.a.token",
    }


@pytest.fixture
async def refused_tokens(clinic: Clinic, live_server: RunningServer) -> dict[str, str]:
    """Forged tokens, plus real tokens of a disabled patient and of a removed dentist."""
    settings = live_server.app.state.settings
    tokens = forged_tokens(settings, clinic)
    patient_b, dentist_y = clinic.users["patient_b"], clinic.users["dentist_y"]
    tokens["disabled user"] = clinic.auth("patient_b")["Authorization"].removeprefix("Bearer ")
    tokens["removed dentist"] = clinic.auth("dentist_y")["Authorization"].removeprefix("Bearer ")
    for token in (tokens["disabled user"], tokens["removed dentist"]):
        me = await clinic.http.get("/api/auth/me", headers=bearer(token))
        assert me.status_code == 200, "the token works before"
    await clinic.conn.execute("UPDATE users SET disabled = true WHERE id = $1", patient_b["id"])
    removed = await clinic.http.delete(
        f"/api/dentists/{clinic.dentists['y']['id']}", headers=clinic.auth("admin")
    )
    assert removed.status_code == 204
    assert dentist_y["role"] == "dentist"
    return tokens


@pytest.fixture
def strict_server(database_url: str, clock: ManualClock) -> Iterator[RunningServer]:
    """A server of its own with real rate limits: 3 logins a minute per IP and per e-mail;
    its windows run on `clock`."""
    with serve(
        database_url,
        clock=clock,
        rate_limits_enabled=True,
        login_attempts_per_minute=3,
        bookings_per_minute=2,
    ) as running:
        yield running
