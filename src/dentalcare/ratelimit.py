"""In-process sliding-window rate limits (per key), for login and booking.

Each process counts on its own: behind a load balancer with N processes the effective
limit is at most N times the configured one, which is fine for abuse protection.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from dentalcare.errors import RateLimited


class RateLimiter:
    """At most `limit` hits per `window` seconds for each key."""

    def __init__(
        self,
        *,
        limit: int,
        window: float = 60.0,
        what: str,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.limit = limit
        self.window = window
        self.what = what
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> None:
        """Count one attempt for `key`; raise RateLimited when over the limit."""
        if not self.enabled:
            return
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            retry_after = math.ceil(hits[0] + self.window - now)
            raise RateLimited(
                f"Too many {self.what}; try again in {retry_after} s.", retry_after=retry_after
            )
        hits.append(now)
        if len(self._hits) > 50_000:
            self._forget_idle(now)

    def reset(self) -> None:
        """Forget every count."""
        self._hits.clear()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
