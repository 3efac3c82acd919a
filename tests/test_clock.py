"""The application's clock: the system one, the manual one tests move, and tokens on both."""

from __future__ import annotations

import asyncio
import threading
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


async def test_manual_timers_run_when_the_clock_reaches_them_in_order() -> None:
    clock = ManualClock(START)
    ran: list[str] = []
    clock.call_at(START + timedelta(seconds=2), ran.append, "two")
    clock.call_at(START + timedelta(seconds=1), ran.append, "one")
    cancelled = clock.call_at(START + timedelta(seconds=1), ran.append, "cancelled")
    cancelled.cancel()
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert ran == []
    clock.advance(2)
    await asyncio.sleep(0)
    assert ran == ["one", "two"]
    clock.call_at(START, ran.append, "overdue")  # already due: runs at once, on the loop
    await asyncio.sleep(0)
    assert ran == ["one", "two", "overdue"]


async def test_a_manual_timer_runs_on_its_loop_when_another_thread_moves_the_clock() -> None:
    clock = ManualClock(START)
    loop = asyncio.get_running_loop()
    ran: asyncio.Future[threading.Thread] = loop.create_future()
    clock.call_at(START + timedelta(seconds=5), lambda: ran.set_result(threading.current_thread()))
    mover = threading.Thread(target=clock.advance, args=(5,))
    mover.start()
    mover.join()
    assert await asyncio.wait_for(ran, 5) is threading.current_thread()


async def test_system_timers_run_after_the_wall_clock_time_left() -> None:
    clock = SystemClock()
    loop = asyncio.get_running_loop()
    ran: asyncio.Future[float] = loop.create_future()
    started = time.monotonic()
    clock.call_at(clock.now() + timedelta(seconds=0.05), lambda: ran.set_result(time.monotonic()))
    assert await asyncio.wait_for(ran, 5) - started >= 0.04
