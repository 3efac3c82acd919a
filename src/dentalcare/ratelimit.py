"""In-process sliding-window rate limits (per key), for login and booking.

Each process counts on its own: behind a load balancer with N processes the effective
limit is at most N times the configured one, which is fine for abuse protection.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

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


@dataclass(frozen=True, slots=True)
class Throttle:
    """The rate limits one request's caller is counted against: the keys live here, not
    in endpoints (a login counts per address and per e-mail; a booking per user, or per
    address for a guest)."""

    login_limiter: RateLimiter
    booking_limiter: RateLimiter
    address: str

    def login_attempt(self, email: str | None = None) -> None:
        """Count a login or registration attempt; RateLimited when over the limit."""
        self.login_limiter.hit(self.address)
        if email:
            self.login_limiter.hit("email:" + email.strip().lower())

    def booking(self, user_id: UUID | None) -> None:
        """Count a booking attempt; RateLimited when over the limit."""
        self.booking_limiter.hit(f"user:{user_id}" if user_id else f"ip:{self.address}")


UNLIMITED = Throttle(
    login_limiter=RateLimiter(limit=1, what="login attempts", enabled=False),
    booking_limiter=RateLimiter(limit=1, what="bookings", enabled=False),
    address="",
)


async def request_throttle(request: Request) -> Throttle:
    """The request's rate limits."""
    return Throttle(
        login_limiter=request.app.state.login_limiter,
        booking_limiter=request.app.state.booking_limiter,
        address=request.client.host if request.client else "unknown",
    )


Limits = Annotated[Throttle, Depends(request_throttle)]
