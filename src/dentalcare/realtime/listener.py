"""The listener: one LISTEN connection per process, reading the event log in commit order.

It wakes when this process commits a unit of work (`poke`, hooked to
`Database.after_commit`), when another process says it did (NOTIFY), and on a safety
poll every `realtime_poll_seconds` (writers outside the service). Each round first asks
for the horizon — the seq below which the log is final, waiting out in-flight commits —
then reads the rows after the last `seq` it handed to the hub up to that horizon, in
batches, in order, so it never skips a late committer (see repository.py). After a round
caused by its own process's commits it sends one NOTIFY for the other processes; rounds
are at least MIN_ROUND_SECONDS apart, so a busy process batches its wake-ups instead of
taking the horizon lock for every commit. When the database goes away the listener
reports unhealthy, reconnects with backoff and carries on from the same `seq`, so the
events committed meanwhile are delivered too. It also prunes history older than
`event_retention_days` now and then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from dentalcare.db.pool import SYSTEM, Database, connect
from dentalcare.realtime import repository
from dentalcare.realtime.events import LogEvent
from dentalcare.realtime.hub import Hub

log = logging.getLogger(__name__)

CHANNEL = "realtime_events"
BATCH = 500
PRUNE_BATCH = 5000
CONNECT_TIMEOUT = 10.0
MIN_ROUND_SECONDS = 0.003
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 2.0


class ListenerObserver(Protocol):
    """Told what the listener reads, to keep a cache of the logged tables true."""

    def round_began(self) -> None:
        """A round starts: every commit this process made before it is read by its end."""

    def events_seen(self, tables: Collection[str] | None) -> None:
        """A batch of events of `tables` is about to reach the hub; None: the listener
        (re)connected or lost the database, and may not have seen every event."""

    def round_ended(self) -> None:
        """The round read the log up to its horizon."""


class EventListener:
    """Feeds the hub from the event log; survives database restarts on its own."""

    def __init__(
        self,
        *,
        db: Database,
        hub: Hub,
        poll_seconds: float,
        retention: timedelta,
        prune_interval: float,
    ) -> None:
        self._db = db
        self._hub = hub
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._prune_interval = prune_interval
        self._next_prune = time.monotonic()
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._local_commits = False
        self._last_round = 0.0
        self._task: asyncio.Task[None] | None = None
        self._prune_task: asyncio.Task[int] | None = None
        self.healthy = False
        self.last_seq: int | None = None
        self.backend_pid: int | None = None
        # Caches of what the logged tables say (the slots cache): see ListenerObserver.
        self.observers: list[ListenerObserver] = []

    async def start(self) -> None:
        """Connect and start at the log's current head (retrying in the background if down)."""
        try:
            await self._connect()
        except Exception as exc:
            log.warning("realtime listener cannot connect yet: %r", exc)
        self._task = asyncio.create_task(self._run(), name="realtime-listener")

    async def stop(self) -> None:
        """Stop reading and close the connection."""
        for task in (self._task, self._prune_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._drop_connection()
        self.healthy = False

    async def prune(self) -> int:
        """Delete history older than the retention period; how many events went."""
        cutoff = datetime.now(UTC) - self._retention
        total = 0
        while True:
            async with self._db.unit_of_work(SYSTEM) as uow:
                deleted = await repository.prune(
                    await uow.connection(), committed_before=cutoff, batch=PRUNE_BATCH
                )
            total += deleted
            if deleted < PRUNE_BATCH:
                return total

    # ------------------------------------------------------------------ internals

    async def _connect(self) -> None:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            conn = await connect(
                self._db.url, app_role=self._db.app_role, app_password=self._db.app_password
            )
        try:
            await repository.act_as_system(conn)
            await conn.add_listener(CHANNEL, self._on_notify)
            conn.add_termination_listener(self._on_terminated)
            if self.last_seq is None:
                self.last_seq = await repository.latest_seq(conn)
                self._hub.start_at(self.last_seq)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self.backend_pid = conn.get_server_pid()
        self.healthy = True
        self._tell_observers(None)
        self._wake.set()
        log.info("realtime listener connected at seq %s", self.last_seq)

    async def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            try:
                if self._conn is None:
                    await self._connect()
                    backoff = BACKOFF_FIRST
                await self._wait()
                for observer in self.observers:
                    observer.round_began()
                await self._tell_other_processes()
                await self._drain()
                for observer in self.observers:
                    observer.round_ended()
                self._maybe_prune()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.healthy:
                    log.warning("realtime listener lost the database: %r", exc)
                self.healthy = False
                self._tell_observers(None)
                await self._drop_connection()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _wait(self) -> None:
        if not self._wake.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wake.wait()
        # Batch a burst of commits into one round instead of one round per commit.
        pause = self._last_round + MIN_ROUND_SECONDS - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        self._last_round = time.monotonic()
        # Cleared before reading: a wake-up arriving during the read causes the next round.
        self._wake.clear()

    async def _tell_other_processes(self) -> None:
        if not self._local_commits or self._conn is None:
            return
        self._local_commits = False
        # A bare NOTIFY writes no WAL and waits for no flush: cheap, unlike one sent from
        # inside the writing transaction.
        await self._conn.execute(f"NOTIFY {CHANNEL}")

    def poke(self) -> None:
        """This process committed something: read the log soon."""
        self._local_commits = True
        self._wake.set()

    async def _drain(self) -> None:
        conn = self._conn
        if conn is None or conn.is_closed():
            raise ConnectionError("the listener connection is closed")
        assert self.last_seq is not None
        horizon = await repository.horizon(conn)
        while True:
            rows = await repository.events_after(conn, self.last_seq, through=horizon, limit=BATCH)
            if rows:
                # Caches first: a client told of the change may ask again at once.
                self._tell_observers({row["table_name"] for row in rows})
                self._hub.publish([LogEvent.from_row(row) for row in rows])
                self.last_seq = rows[-1]["seq"]
            if len(rows) < BATCH:
                break
            await asyncio.sleep(0)  # let sockets breathe between big batches
        # Everything up to the horizon is final: seqs of rolled-back writers never appear.
        self.last_seq = max(self.last_seq, horizon)
        self._hub.head = max(self._hub.head, horizon)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune or (self._prune_task and not self._prune_task.done()):
            return
        self._next_prune = now + self._prune_interval
        self._prune_task = asyncio.create_task(self._prune_logged(), name="realtime-prune")

    async def _prune_logged(self) -> int:
        try:
            deleted = await self.prune()
        except Exception as exc:
            log.warning("pruning realtime history failed: %r", exc)
            return 0
        if deleted:
            log.info("pruned %d realtime events older than %s", deleted, self._retention)
        return deleted

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self.backend_pid = None
        if conn is None:
            return
        try:
            async with asyncio.timeout(2):
                await conn.close()
        except Exception:
            conn.terminate()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if pid != self.backend_pid:  # our own NOTIFY comes back to us too
            self._wake.set()

    def _tell_observers(self, tables: Collection[str] | None) -> None:
        for observer in self.observers:
            observer.events_seen(tables)

    def _on_terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self.healthy = False
            self._tell_observers(None)
            self._wake.set()
