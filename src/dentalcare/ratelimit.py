"""In-process sliding-window rate limits (per key), for login, booking, guest look-ups
and the chat.

Each process counts on its own: behind a load balancer with N processes the effective
limit is at most N times the configured one, which is fine for abuse protection.

Logins count *failures*, never successes, three ways (`LoginLimiter`):

- per client address (an IPv6 client by its /64, see `client_bucket`): an address with
  `limit` failures in the last minute is refused (429) whatever it sends — even the right
  password (sign-ups count against it too);
- per e-mail: `limit` failures in the last minute mark the account *under attack*. That
  alone refuses nobody (it used to refuse everybody, so ten wrong passwords a minute kept
  the clinic's admin out). While an account is under attack, an address may fail for it
  at most `PAIR_FAILURES_UNDER_ATTACK` times a minute: the flooding addresses are stopped
  for that account, an address with a clean record for it still gets its attempts, and
  a distributed guess gets about two tries per address per minute instead of `limit`;
- per (e-mail, address) pair, counted always so that the pair rule above knows the
  flooders' history the moment an attack starts.

An attempt is counted as a failure before the password is checked and refunded when it
turns out right, so a burst of concurrent wrong guesses cannot all slip past the count.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from dentalcare.config import Settings
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
        self.check(key)
        self.add(key)

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` is under its limit again; None when it is under it now."""
        hits = self._hits.get(key)
        if not hits:
            return None
        now = self.clock()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) < self.limit:
            return None
        # The oldest hit that keeps the key at its limit has to leave the window.
        return max(1, math.ceil(hits[len(hits) - self.limit] + self.window - now))

    def check(self, key: str) -> None:
        """Raise RateLimited if `key` is at its limit (counts nothing)."""
        retry_after = self.retry_after(key) if self.enabled else None
        if retry_after is not None:
            raise RateLimited(
                f"Too many {self.what}; try again in {retry_after} s.", retry_after=retry_after
            )

    def add(self, key: str) -> float:
        """Count one hit for `key` without checking; its time stamp (for `refund`)."""
        now = self.clock()
        self._hits.setdefault(key, deque()).append(now)
        if len(self._hits) > 50_000:
            self._forget_idle(now)
        return now

    def refund(self, key: str, stamp: float) -> None:
        """Take back the hit counted at `stamp` (an attempt that turned out fine)."""
        hits = self._hits.get(key)
        if hits is not None and stamp in hits:
            hits.remove(stamp)

    def reset(self) -> None:
        """Forget every count."""
        self._hits.clear()

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


# While an account is under attack, how often one address may fail for it per window.
PAIR_FAILURES_UNDER_ATTACK = 2


class LoginAttempt:
    """One password check, counted as a failure until `refund()` says otherwise."""

    __slots__ = ("_counted",)

    def __init__(self, counted: list[tuple[RateLimiter, str, float]]) -> None:
        self._counted = counted

    def refund(self) -> None:
        """The attempt was no failure after all (the password was right, or was never
        checked)."""
        for limiter, key, stamp in self._counted:
            limiter.refund(key, stamp)
        self._counted = []


class LoginLimiter:
    """Failed logins per address, per e-mail and per (e-mail, address); see the module
    docstring for how the three combine."""

    def __init__(
        self,
        *,
        limit: int,
        window: float = 60.0,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        pair_limit: int = PAIR_FAILURES_UNDER_ATTACK,
    ) -> None:
        self.enabled = enabled
        self.by_address = RateLimiter(
            limit=limit, window=window, what="login attempts", enabled=enabled, clock=clock
        )
        self.by_email = RateLimiter(
            limit=limit, window=window, what="failed logins", enabled=enabled, clock=clock
        )
        self.by_pair = RateLimiter(
            limit=pair_limit,
            window=window,
            what="failed logins for this account from your address",
            enabled=enabled,
            clock=clock,
        )

    @property
    def clock(self) -> Callable[[], float]:
        """The clock all three counts read (tests step it by hand)."""
        return self.by_address.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        for limiter in (self.by_address, self.by_email, self.by_pair):
            limiter.clock = clock

    def registration(self, address: str) -> None:
        """Count a sign-up against the address (RateLimited when it is over its limit)."""
        self.by_address.hit(address)

    def attempt(self, *, address: str, email: str) -> LoginAttempt:
        """Admit a password check for `email` from `address`, or raise RateLimited."""
        if not self.enabled:
            return LoginAttempt([])
        account = email.strip().lower()
        pair = f"{account}|{address}"
        self.by_address.check(address)
        if self.by_email.retry_after(account) is not None:  # under attack
            self.by_pair.check(pair)
        return LoginAttempt(
            [
                (self.by_address, address, self.by_address.add(address)),
                (self.by_email, account, self.by_email.add(account)),
                (self.by_pair, pair, self.by_pair.add(pair)),
            ]
        )

    def reset(self) -> None:
        """Forget every count."""
        for limiter in (self.by_address, self.by_email, self.by_pair):
            limiter.reset()


def client_bucket(host: str | None) -> str:
    """The key a client address is counted under: itself for IPv4, its /64 for IPv6 (one
    customer usually holds a whole /64, so per-address limits would not hold them)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True, slots=True)
class ChatLimiters:
    """The booking assistant's limits: messages per session and per address, new
    conversations per address."""

    session_messages: RateLimiter
    address_messages: RateLimiter
    sessions: RateLimiter

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> ChatLimiters:
        """The limits `settings` configure (all off when rate limits are disabled), their
        windows on `clock`."""
        enabled = settings.rate_limits_enabled
        return cls(
            session_messages=RateLimiter(
                limit=settings.chat_messages_per_minute,
                what="messages in this conversation",
                enabled=enabled,
                clock=clock,
            ),
            address_messages=RateLimiter(
                limit=settings.chat_address_messages_per_minute,
                what="chat messages",
                enabled=enabled,
                clock=clock,
            ),
            sessions=RateLimiter(
                limit=settings.chat_sessions_per_hour,
                window=3600.0,
                what="new conversations",
                enabled=enabled,
                clock=clock,
            ),
        )

    def reset(self) -> None:
        """Forget every count."""
        for limiter in (self.session_messages, self.address_messages, self.sessions):
            limiter.reset()

    @classmethod
    def disabled(cls) -> ChatLimiters:
        """No chat limits at all."""
        off = RateLimiter(limit=1, what="chat messages", enabled=False)
        return cls(session_messages=off, address_messages=off, sessions=off)


@dataclass(frozen=True, slots=True)
class Throttle:
    """The rate limits one request's caller is counted against: the keys live here, not
    in endpoints (a login counts per address and per e-mail; a booking per user, or per
    address for a guest; a guest look-up per address and per booking reference)."""

    login_limiter: LoginLimiter
    booking_limiter: RateLimiter
    address: str
    lookup_limiter: RateLimiter
    chat: ChatLimiters
    hold_limiter: RateLimiter

    def registration(self) -> None:
        """Count a sign-up against the caller's address; RateLimited when over the limit."""
        self.login_limiter.registration(self.address)

    def login_attempt(self, email: str) -> LoginAttempt:
        """Admit one password check for `email` (RateLimited if not now); it counts as a
        failure unless the result's `refund()` is called."""
        return self.login_limiter.attempt(address=self.address, email=email)

    def booking(self, user_id: UUID | None) -> None:
        """Count a booking attempt; RateLimited when over the limit."""
        self.booking_limiter.hit(f"user:{user_id}" if user_id else f"ip:{self.address}")

    def hold(self, user_id: UUID | None) -> None:
        """Count a hold (a slot picked on a booking page); RateLimited when over the limit."""
        self.hold_limiter.hit(f"user:{user_id}" if user_id else f"ip:{self.address}")

    def lookup(self, reference: str) -> None:
        """Count a guest look-up by reference and e-mail; RateLimited when over the limit.

        Per address (one client trying many references or e-mails) and per reference
        (many clients guessing the e-mail of one reference)."""
        self.lookup_limiter.hit(f"ip:{self.address}")
        self.lookup_limiter.hit("ref:" + reference.strip().upper())

    def chat_session(self) -> None:
        """Count a new chat conversation (per address); RateLimited when over the limit."""
        self.chat.sessions.hit(f"ip:{self.address}")

    def chat_message(self, session_id: UUID) -> None:
        """Count a chat message against its conversation and its address; RateLimited,
        counting nothing, when either is at its limit (so a flood on one conversation
        stops at that conversation's limit and leaves the address's to the others)."""
        session_key, address_key = f"session:{session_id}", f"ip:{self.address}"
        self.chat.session_messages.check(session_key)
        self.chat.address_messages.check(address_key)
        self.chat.session_messages.hit(session_key)
        self.chat.address_messages.hit(address_key)


UNLIMITED = Throttle(
    login_limiter=LoginLimiter(limit=1, enabled=False),
    booking_limiter=RateLimiter(limit=1, what="bookings", enabled=False),
    address="",
    lookup_limiter=RateLimiter(limit=1, what="booking look-ups", enabled=False),
    chat=ChatLimiters.disabled(),
    hold_limiter=RateLimiter(limit=1, what="holds", enabled=False),
)


async def request_throttle(request: Request) -> Throttle:
    """The request's rate limits."""
    return Throttle(
        login_limiter=request.app.state.login_limiter,
        booking_limiter=request.app.state.booking_limiter,
        # The peer address — or, only when FORWARDED_ALLOW_IPS names the proxy, the one
        # uvicorn took from its X-Forwarded-For (README, configuration).
        address=client_bucket(request.client.host if request.client else None),
        lookup_limiter=request.app.state.lookup_limiter,
        chat=request.app.state.chat_limiters,
        hold_limiter=request.app.state.hold_limiter,
    )


Limits = Annotated[Throttle, Depends(request_throttle)]
