"""Idle guest conversations expire: a periodic job of every service process.

A guest's session id is its only key, and the transcript holds what they typed (their
name, e-mail, phone, what hurts). Guest sessions nobody has touched for
`chat_retention_days` are deleted, when the service starts and every
`chat_retention_interval_seconds` after, in batches, each batch one short unit of work
under the service's own claims. Patients' conversations stay with their account (they go
when it does). The app role has no DELETE on chat_sessions; migration 0007's
`expire_guest_chat_sessions()` is the whole permission (why: see that migration). Several
processes may run the job at once: a row another one is deleting is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from dentalcare.chatbot import repository
from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.periodic import PeriodicJob

log = logging.getLogger(__name__)

BATCH = 1000


class ChatRetention(PeriodicJob):
    """Deletes guest chat sessions idle for longer than `idle`, every `interval` seconds."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[Claims], UnitOfWork],
        idle: timedelta,
        interval: float,
    ) -> None:
        super().__init__(
            name="expiring idle chat sessions", run=self._expire_and_log, interval=interval
        )
        self._unit_of_work = unit_of_work
        self.idle = idle

    async def expire(self) -> int:
        """Delete the idle guest sessions now; how many went."""
        total = 0
        while True:
            async with self._unit_of_work(SYSTEM) as uow:
                expired = await repository.expire_guest_sessions(
                    await uow.connection(), idle=self.idle, batch=BATCH
                )
            total += expired
            if expired < BATCH:
                return total

    async def _expire_and_log(self) -> None:
        expired = await self.expire()
        if expired:
            log.info("deleted %d guest chat sessions idle for over %s", expired, self.idle)
