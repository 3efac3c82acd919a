"""The application's clock: the time of day and elapsed time.

The running service reads the system clock (`SystemClock`). Tests hand `create_app` a
`ManualClock` and move it by hand, so token expiry, rate-limit windows, idle timeouts and
notice periods are tested without waiting for real time to pass. Services still take
`now=` arguments: endpoints read the clock once and pass its time down.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What the application asks of time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never go back (for timeouts and windows)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """time.monotonic() (what asyncio's loop.time() reads too)."""
        return time.monotonic()


class ManualClock:
    """A clock that stands still until `advance()` moves it: for tests.

    Thread-safe: a test server's event loop runs in another thread than the test that
    moves the clock.
    """

    def __init__(self, start: datetime | None = None, *, monotonic: float = 1_000.0) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("a ManualClock starts at an aware datetime")
        self._now = start.astimezone(UTC)
        self._monotonic = monotonic
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The clock's instant, in UTC."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Seconds that advance exactly as `now()` does."""
        with self._lock:
            return self._monotonic

    def advance(self, by: float | timedelta) -> None:
        """Move the clock forward by `by` (seconds, or a timedelta)."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += step
            self._monotonic += step.total_seconds()
