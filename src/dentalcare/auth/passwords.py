"""Password hashing with argon2id, off the event loop and a few at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dentalcare.errors import ServiceUnavailable

_hasher = PasswordHasher()
# Verifying against this when the e-mail is unknown keeps login time independent of
# whether the account exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

T = TypeVar("T")


def configure(*, time_cost: int, memory_kib: int) -> None:
    """Set the hashing cost (tests lower it; production keeps argon2's defaults)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; always spends the time of one verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class PasswordHashing:
    """argon2 in worker threads, at most `limit` at once in this process.

    Each check costs tens of milliseconds of CPU (about 250 ms on a busy 2-core machine)
    and 64 MiB: unbounded, a burst of logins would take every core and the default thread
    pool, which the rest of the service shares, and starve everything else. A check that
    cannot start within `wait_seconds` is answered 503 (Retry-After) instead of queueing
    for ever.
    """

    def __init__(
        self,
        *,
        limit: int,
        wait_seconds: float,
        hash_fn: Callable[[str], str] = hash_password,
        verify_fn: Callable[[str | None, str], bool] = verify_password,
    ) -> None:
        self.limit = max(1, limit)
        self.wait_seconds = wait_seconds
        self._slots = asyncio.Semaphore(self.limit)
        self._hash_fn = hash_fn
        self._verify_fn = verify_fn
        self.running = 0  # checks in their thread right now
        self.peak = 0  # the most that ever ran at once

    async def hash(self, password: str) -> str:
        """`hash_password` in a worker thread: the event loop keeps serving meanwhile."""
        return await self._run(self._hash_fn, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """`verify_password` in a worker thread."""
        return await self._run(self._verify_fn, password_hash, password)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        try:
            # A free slot is taken without suspending, so even a zero wait admits it.
            async with asyncio.timeout(self.wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceUnavailable(
                "Too many logins at once; please try again in a moment."
            ) from None
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self.running -= 1
            self._slots.release()
