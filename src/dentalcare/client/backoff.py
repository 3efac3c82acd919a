"""Reconnect delays: exponential backoff with jitter, so a fleet of clients does not
reconnect in lock-step after a server restart."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before reconnect attempt n: half of `initial * multiplier**n` (capped at
    `maximum`) plus a random share of the other half ("equal jitter")."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.multiplier < 1:
            raise ValueError("need 0 < initial <= maximum and multiplier >= 1")

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay of attempt `attempt` (0-based)."""
        # min() before the power would overflow on very long outages.
        exponent = min(attempt, 64)
        return min(self.maximum, self.initial * self.multiplier**exponent)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The jittered delay of attempt `attempt`, in [ceiling / 2, ceiling]."""
        ceiling = self.ceiling(attempt)
        uniform = (rng or random).random()
        return ceiling / 2 + uniform * ceiling / 2
