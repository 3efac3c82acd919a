"""A job every service process runs in the background every few seconds (expiring idle
chat sessions, releasing lapsed holds): run once at start, then every `interval`
seconds until stopped; a failing run is logged and the next one tries again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    """Runs `run` now and then every `interval` seconds, in the background."""

    def __init__(self, *, name: str, run: Callable[[], Awaitable[object]], interval: float) -> None:
        self.name = name
        self._run_once = run
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start running in the background."""
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stop (a run in progress is cancelled: its unit of work rolls back)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self._run_once()
            except Exception as exc:
                log.warning("%s failed: %r", self.name, exc)
            await asyncio.sleep(self.interval)
