"""The application's clock: the system one, the manual one tests move, and tokens on both."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from dentalcare.auth.tokens import decode_token, issue_token
from dentalcare.clock import ManualClock, SystemClock
from dentalcare.config import Settings
from dentalcare.errors import Unauthorized

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
SETTINGS = Settings(env="test", secret_key="clock-test-secret-" + "c" * 40)  # type: ignore[arg-type]


def test_the_system_clock_is_aware_utc_and_monotonic() -> None:
    clock = SystemClock()
    before = datetime.now(UTC)
    now = clock.now()
    assert now.tzinfo is UTC and before <= now <= datetime.now(UTC)
    first = clock.monotonic()
    assert time.monotonic() >= first and clock.monotonic() >= first


def test_the_manual_clock_stands_still_until_advanced() -> None:
    clock = ManualClock(START, monotonic=50.0)
    assert clock.now() == START and clock.monotonic() == 50.0
    clock.advance(90)
    clock.advance(timedelta(minutes=1))
    assert clock.now() == START + timedelta(seconds=150)
    assert clock.monotonic() == 200.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        ManualClock(datetime(2030, 1, 1))  # naive: refused


def test_the_manual_clock_reports_utc() -> None:
    eastern = START.astimezone(timezone(timedelta(hours=-5)))
    clock = ManualClock(eastern)
    assert clock.now().tzinfo is UTC and clock.now() == START


def test_a_token_expires_on_the_clock_it_is_checked_against() -> None:
    clock = ManualClock(START)
    token = issue_token(SETTINGS, user_id=uuid4(), role="patient", token_version=0, now=START)
    lifetime = SETTINGS.access_token_minutes * 60
    assert decode_token(SETTINGS, token, now=clock.now())["iat"] == int(START.timestamp())
    clock.advance(lifetime - 1)
    decode_token(SETTINGS, token, now=clock.now())
    clock.advance(1)  # at `exp` exactly: expired (PyJWT's rule)
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(SETTINGS, token, now=clock.now())


def test_a_token_issued_after_the_clock_is_not_valid_yet() -> None:
    token = issue_token(
        SETTINGS, user_id=uuid4(), role="patient", token_version=0, now=START + timedelta(seconds=5)
    )
    with pytest.raises(Unauthorized, match="not valid"):
        decode_token(SETTINGS, token, now=START)
    decode_token(SETTINGS, token, now=START + timedelta(seconds=5))


def test_without_a_clock_tokens_are_checked_against_the_system_time() -> None:
    token = issue_token(SETTINGS, user_id=uuid4(), role="patient", token_version=0)
    decode_token(SETTINGS, token)
    stale = issue_token(
        SETTINGS,
        user_id=uuid4(),
        role="patient",
        token_version=0,
        now=datetime.now(UTC) - timedelta(minutes=SETTINGS.access_token_minutes, seconds=1),
    )
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(SETTINGS, stale)
