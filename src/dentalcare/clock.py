"""The application's clock: the time of day, elapsed time, and timers on the same clock.

The running service reads the system clock (`SystemClock`). Tests hand `create_app` a
`ManualClock` and move it by hand, so token expiry, rate-limit windows, idle timeouts and
notice periods are tested without waiting for real time to pass. Services still take
`now=` arguments: endpoints read the clock once and pass its time down.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class Timer(Protocol):
    """A callback scheduled on a clock (asyncio's TimerHandle is one)."""

    def cancel(self) -> None:
        """Do not run the callback (nothing happens if it has run)."""
        ...


class Clock(Protocol):
    """What the application asks of time."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never go back (for timeouts and windows)."""
        ...

    def call_at(self, when: datetime, callback: Callable[..., object], *args: Any) -> Timer:
        """Run `callback(*args)` on the running event loop once `now()` reaches `when`."""
        ...


class SystemClock:
    """The real clock: wall time from the system, timers on the event loop."""

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """time.monotonic() (what asyncio's loop.time() reads too)."""
        return time.monotonic()

    def call_at(self, when: datetime, callback: Callable[..., object], *args: Any) -> Timer:
        """A loop timer firing after the wall-clock time left until `when`."""
        delay = max(0.0, (when - self.now()).total_seconds())
        return asyncio.get_running_loop().call_later(delay, callback, *args)


class _ManualTimer:
    """A callback waiting on a ManualClock, run on the loop that scheduled it."""

    __slots__ = ("args", "callback", "cancelled", "loop")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, callback: Callable[..., object], args: Any
    ) -> None:
        self.loop = loop
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the callback."""
        self.cancelled = True

    def fire(self) -> None:
        """Hand the callback to its loop (which may run in another thread, or be closed)."""
        if self.cancelled:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to call
            self.loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        if not self.cancelled:
            self.callback(*self.args)


class ManualClock:
    """A clock that stands still until `advance()` moves it: for tests.

    Thread-safe: a test server's event loop runs in another thread than the test that
    moves the clock, and timers run on the loop that scheduled them.
    """

    def __init__(self, start: datetime | None = None, *, monotonic: float = 1_000.0) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("a ManualClock starts at an aware datetime")
        self._now = start.astimezone(UTC)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._timers: list[tuple[datetime, int, _ManualTimer]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        """The clock's instant, in UTC."""
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        """Seconds that advance exactly as `now()` does."""
        with self._lock:
            return self._monotonic

    def call_at(self, when: datetime, callback: Callable[..., object], *args: Any) -> Timer:
        """Run `callback(*args)` on the running loop once the clock reaches `when`."""
        timer = _ManualTimer(asyncio.get_running_loop(), callback, args)
        with self._lock:
            due = when <= self._now
            if not due:
                heapq.heappush(self._timers, (when, next(self._order), timer))
        if due:
            timer.fire()
        return timer

    def advance(self, by: float | timedelta) -> None:
        """Move the clock forward by `by` (seconds, or a timedelta) and run what fell due."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock does not go back")
        due: list[_ManualTimer] = []
        with self._lock:
            self._now += step
            self._monotonic += step.total_seconds()
            while self._timers and self._timers[0][0] <= self._now:
                due.append(heapq.heappop(self._timers)[2])
        for timer in due:
            timer.fire()
