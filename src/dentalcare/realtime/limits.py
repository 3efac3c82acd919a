"""What one client may use of the realtime service: messages per socket, sockets and
anonymous replays per address.

Pure bookkeeping (the clock is passed in), so the rules are tested without sockets. The
session asks `MessageBudget.admit` for every message it reads and the service asks
`AddressLimit.admit` before it accepts a socket.

A socket has two token buckets. Every message takes a token from the first (generous: a
page subscribes to everything it needs at once); a `subscribe` with `since` — a replay,
the one message whose cost grows with history — takes one from the second as well, which
is far smaller and refills far more slowly. A refused message is answered with an `error`
(RateLimited, with `retry_after`); a socket that goes on sending once its message bucket is
empty is closed.

A socket's buckets start full, so a client that reconnects gets a fresh budget. What one
client address may use is therefore also counted in buckets shared by its sockets and
outliving them (`AddressLimits`): messages (past that rate, its sockets are read more
slowly: the client is slowed, not refused) and, for anonymous sockets, the log positions
their replays cover (past that, `reset`).
"""

from __future__ import annotations

import enum
import math
from collections import Counter


class TokenBucket:
    """Up to `burst` tokens, refilled at `rate` per second; each admitted unit takes one."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, *, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("need rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, now: float, cost: float = 1) -> bool:
        """Take `cost` tokens if there are that many."""
        self._refill(now)
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def reserve(self, now: float) -> float:
        """Take one token, in advance if need be: the seconds until it is due (0 if it was
        there). Reservations queue up in order, each after the one before it."""
        self._refill(now)
        self.tokens -= 1
        return max(0.0, -self.tokens / self.rate)

    def full(self, now: float) -> bool:
        """Whether the bucket has refilled to its burst."""
        self._refill(now)
        return self.tokens >= self.burst

    def seconds_until_token(self, now: float) -> float:
        """How long until the next token is there (0 when one is)."""
        self._refill(now)
        return max(0.0, (1 - self.tokens) / self.rate)


class Verdict(enum.Enum):
    """What to do with one client message."""

    ADMIT = "admit"
    REFUSE = "refuse"  # answer with an `error` (RateLimited), keep the socket
    CLOSE = "close"  # the client goes on sending while refused: close the socket (4029)


class MessageBudget:
    """The token buckets of one socket, and how many of its messages in a row were refused.

    Only refusals by the message bucket count towards closing: a client that resumes more
    channels at once than the replay bucket holds has the rest refused (and retries them
    after `retry_after`), but it is not closed for having sent them in one go.
    """

    __slots__ = ("_close_after", "_messages", "_replays", "refused_in_a_row")

    def __init__(
        self,
        *,
        messages_per_second: float,
        message_burst: int,
        replays_per_second: float,
        replay_burst: int,
        refusals_before_close: int,
        now: float,
    ) -> None:
        self._messages = TokenBucket(rate=messages_per_second, burst=message_burst, now=now)
        self._replays = TokenBucket(rate=replays_per_second, burst=replay_burst, now=now)
        self._close_after = refusals_before_close
        self.refused_in_a_row = 0

    def admit(self, *, replay: bool, now: float) -> Verdict:
        """Charge one message, and one replay if it is one, or say why not."""
        if not self._messages.take(now):
            self.refused_in_a_row += 1
            if self.refused_in_a_row >= self._close_after:
                return Verdict.CLOSE
            return Verdict.REFUSE
        self.refused_in_a_row = 0
        if replay and not self._replays.take(now):
            return Verdict.REFUSE
        return Verdict.ADMIT

    def retry_after(self, *, replay: bool, now: float) -> int:
        """Whole seconds (at least 1) until such a message would be admitted."""
        wait = self._messages.seconds_until_token(now)
        if replay:
            wait = max(wait, self._replays.seconds_until_token(now))
        return max(1, math.ceil(wait))


class AddressLimit:
    """How many sockets each client address has open, capped at `limit`."""

    __slots__ = ("_open", "limit")

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        """Count one more socket from `address`, unless it already has `limit` open."""
        if self._open[address] >= self.limit:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        """A socket admitted from `address` has closed."""
        left = self._open[address] - 1
        if left > 0:
            self._open[address] = left
        else:
            del self._open[address]

    def open_from(self, address: str) -> int:
        """How many sockets `address` has open."""
        return self._open.get(address, 0)


class AddressBuckets:
    """A token bucket per client address, shared by all its sockets, past and present: a
    client that reconnects does not start afresh. Buckets that have refilled are forgotten
    now and then, so an address that went away costs nothing."""

    __slots__ = ("_buckets", "burst", "forget_above", "rate")

    def __init__(self, *, rate: float, burst: float, forget_above: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        # Addresses remembered before the full buckets are swept out.
        self.forget_above = forget_above
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, address: str, cost: float, now: float) -> bool:
        """Take `cost` tokens from `address`'s bucket if it has that many."""
        return self._bucket(address, now).take(now, cost)

    def reserve(self, address: str, now: float) -> float:
        """Reserve one token of `address`'s: the seconds until it is due."""
        return self._bucket(address, now).reserve(now)

    def _bucket(self, address: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= self.forget_above:
                self._forget_full(now)
            bucket = self._buckets[address] = TokenBucket(rate=self.rate, burst=self.burst, now=now)
        return bucket

    def _forget_full(self, now: float) -> None:
        for address in [a for a, bucket in self._buckets.items() if bucket.full(now)]:
            del self._buckets[address]

    def __len__(self) -> int:
        return len(self._buckets)


class AddressLimits:
    """What the sockets of one client address share: how many may be open, a message rate
    (a socket whose address is past it has its next message read only when its token is
    due: the client is slowed, through TCP, not refused), and the log positions anonymous
    replays may cover."""

    __slots__ = ("messages", "replay_positions", "sockets")

    def __init__(
        self,
        *,
        max_sockets: int,
        messages_per_second: float,
        message_burst: float,
        replay_positions_per_second: float,
        replay_positions_burst: float,
    ) -> None:
        self.sockets = AddressLimit(limit=max_sockets)
        self.messages = AddressBuckets(rate=messages_per_second, burst=message_burst)
        self.replay_positions = AddressBuckets(
            rate=replay_positions_per_second, burst=replay_positions_burst
        )


class LimitCounts:
    """How often the limits struck in this process (GET /api/sync/stats, `limits`)."""

    __slots__ = (
        "messages_delayed",
        "messages_refused",
        "replays_reset",
        "sockets_closed",
        "sockets_refused",
    )

    def __init__(self) -> None:
        self.messages_delayed = 0  # read late: their address was past its message rate
        self.messages_refused = 0  # answered with an `error` RateLimited
        self.sockets_closed = 0  # closed with 4029 for sending on regardless
        self.sockets_refused = 0  # closed with 4029 at once: too many from one address
        self.replays_reset = 0  # anonymous replays answered with `reset` as too long

    def as_dict(self) -> dict[str, int]:
        """The counts by name."""
        return {name: getattr(self, name) for name in self.__slots__}
