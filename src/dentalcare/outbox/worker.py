"""Delivery: workers that claim due messages and send them, in every service process.

A worker claims a batch with `FOR UPDATE SKIP LOCKED` and a lease (repository.claim_due)
in one statement, then sends each message with no transaction open and records the
outcome of each in a statement of its own (each commits by itself, migration 0030):
sent, or scheduled again after an exponential back-off (base × 2^(attempt-1), capped),
or failed after its last attempt (the dead letter). Any number of workers in any number
of processes can run: a row is claimed by one. A worker killed mid-send leaves its rows
`sending`; their lease lapses and another worker sends them again, with the same
Message-ID — so at most the message in flight goes twice, and a mail client sees it as
the same e-mail.

Requests come first. A worker shares its process's event loop (and, on a small machine,
the cores) with the requests the process answers, and an e-mail costs more CPU to build
and send than the booking that caused it. So while the process is answering HTTP
requests (`busy`), a worker claims small batches and, after each message, pauses long
enough that delivering takes at most `busy_share` of its time; once the requests stop
it delivers at full speed again. It never stops: a process that is busy all the time
still delivers at that share, and what waited goes out when the rush ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from dentalcare.config import Settings
from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.outbox import repository
from dentalcare.outbox.mail import build_email, ics_of
from dentalcare.outbox.rendering import render
from dentalcare.outbox.transports import (
    CaptureTransport,
    MailTransport,
    SmtpTransport,
)
from dentalcare.sms import SmsTransport, sms_transport, to_e164

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How workers claim and retry."""

    mail_from: str
    batch: int = 50
    lease_seconds: float = 120.0
    poll_seconds: float = 0.5
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    # The country of SMS numbers written without their country code (None: they need it).
    sms_region: str | None = None
    # While the process answers requests: at most this share of a worker's time goes to
    # delivering (1: no yielding), in batches of at most `busy_batch`.
    busy_share: float = 0.1
    busy_batch: int = 5
    # The longest pause after one message while busy.
    busy_pause_max_seconds: float = 1.0

    def pause_after(self, seconds: float) -> float:
        """The pause after a message that took `seconds` to deliver while busy."""
        return min(seconds * (1 / self.busy_share - 1), self.busy_pause_max_seconds)

    def retry_in(self, attempts: int, max_attempts: int) -> float | None:
        """Seconds until the next attempt after `attempts` failed ones; None: give up."""
        if attempts >= max_attempts:
            return None
        return min(self.retry_base_seconds * 2 ** (attempts - 1), self.retry_max_seconds)


class PermanentFailure(Exception):
    """A message that can never go (no template for its kind): failed at once."""


class OutboxWorker:
    """One worker: claims due messages and delivers them, until stopped."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[Claims], UnitOfWork],
        mail: MailTransport,
        sms: SmsTransport | None,
        policy: DeliveryPolicy,
        name: str = "outbox-worker",
        busy: Callable[[], bool] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._busy = busy
        self._sleep = sleep
        self._mail = mail
        self._sms = sms
        self.policy = policy
        self.name = name
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0

    def start(self) -> None:
        """Start delivering in the background."""
        self._task = asyncio.create_task(self._loop(), name=self.name)

    def wake(self) -> None:
        """Look for due messages now (a message was just enqueued)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop (a send in progress is abandoned: its lease lapses, it goes again)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._mail.close()

    async def _loop(self) -> None:
        while True:
            try:
                done = await self._run(paced=True)
            except Exception as exc:
                log.warning("%s failed: %r", self.name, exc)
                done = 0
            if done == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.policy.poll_seconds):
                        await self._wake.wait()

    async def run_once(self) -> int:
        """Claim one batch and deliver it at full speed; how many messages were claimed."""
        return await self._run(paced=False)

    def busy(self) -> bool:
        """Whether the process is answering requests (the worker yields to them)."""
        return self._busy is not None and self._busy() and self.policy.busy_share < 1

    async def _run(self, *, paced: bool) -> int:
        limit = self.policy.busy_batch if paced and self.busy() else self.policy.batch
        # Each of the worker's statements commits by itself (migration 0030): a claim, and
        # then each message's outcome, the moment it is known.
        async with self._unit_of_work(SYSTEM).statement(logs_events=False) as conn:
            rows = await repository.claim_due(
                conn, limit=limit, lease_seconds=self.policy.lease_seconds
            )
        for row in rows:
            started = time.perf_counter()
            await self._deliver(row)
            if paced and self.busy():
                await self._sleep(self.policy.pause_after(time.perf_counter() - started))
        return len(rows)

    async def _deliver(self, row: Any) -> None:
        captured: str | None = None
        try:
            context = _context(row["context"])
            try:
                rendered = render(row["kind"], context)
            except Exception as exc:  # a template missing or broken: it never will go
                raise PermanentFailure(f"cannot render {row['kind']!r}: {exc}") from exc
            if row["channel"] == "sms":
                if self._sms is None:
                    raise PermanentFailure("SMS is not configured (DENTALCARE_SMS_URL)")
                to = to_e164(row["to_address"], region=self.policy.sms_region)
                if to is None:
                    raise PermanentFailure(f"not a phone number: {row['to_address']!r}")
                await self._sms.send(to=to, body=rendered.text)
            else:
                mail = build_email(
                    message_id=row["message_id"],
                    mail_from=self.policy.mail_from,
                    to=row["to_address"],
                    rendered=rendered,
                    ics=ics_of(context),
                )
                captured = await self._mail.send(mail)
        except PermanentFailure as exc:
            await self._failed(row, str(exc), retry_in=None)
            return
        except Exception as exc:
            retry = self.policy.retry_in(row["attempts"], row["max_attempts"])
            await self._failed(row, f"{type(exc).__name__}: {exc}", retry_in=retry)
            return
        async with self._unit_of_work(SYSTEM).statement(logs_events=True) as conn:
            await repository.mark_sent(conn, row["id"], captured=captured)
        self.delivered += 1

    async def _failed(self, row: Any, error: str, *, retry_in: float | None) -> None:
        log.info("message %s attempt %s failed: %s", row["id"], row["attempts"], error)
        async with self._unit_of_work(SYSTEM).statement(logs_events=True) as conn:
            await repository.mark_failed_attempt(
                conn, row["id"], error=error, retry_in_seconds=retry_in
            )


def _context(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    loaded = orjson.loads(value) if value else {}
    return loaded if isinstance(loaded, dict) else {}


def mail_transport(settings: Settings) -> MailTransport | None:
    """SMTP when DENTALCARE_SMTP_URL is set; otherwise capture (development and tests)
    or, in production (refused at start unless e-mail is disabled), none."""
    if settings.smtp_url is not None:
        return SmtpTransport(settings.smtp_url.get_secret_value())
    if settings.env == "production":
        return None
    return CaptureTransport()


def workers_from_settings(
    settings: Settings,
    unit_of_work: Callable[[Claims], UnitOfWork],
    busy: Callable[[], bool] | None = None,
) -> list[OutboxWorker]:
    """This process's workers (DENTALCARE_OUTBOX_WORKERS; none with e-mail disabled),
    yielding to requests while `busy()` (DENTALCARE_OUTBOX_BUSY_SHARE)."""
    if not settings.email_enabled:
        return []
    policy = DeliveryPolicy(
        mail_from=settings.mail_from,
        sms_region=settings.clinic_country,
        batch=settings.outbox_batch,
        lease_seconds=settings.outbox_lease_seconds,
        poll_seconds=settings.outbox_poll_seconds,
        retry_base_seconds=settings.outbox_retry_base_seconds,
        retry_max_seconds=settings.outbox_retry_max_seconds,
        busy_share=settings.outbox_busy_share,
        busy_batch=min(settings.outbox_batch, 5),
    )
    workers = []
    for n in range(settings.outbox_workers):
        mail = mail_transport(settings)
        if mail is None:
            break
        sms = sms_transport(settings)
        workers.append(
            OutboxWorker(
                unit_of_work=unit_of_work,
                mail=mail,
                sms=sms,
                policy=policy,
                name=f"outbox-worker-{n + 1}",
                busy=busy,
            )
        )
    return workers
