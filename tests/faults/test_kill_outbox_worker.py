"""kill -9 an outbox worker process in the middle of an SMTP transaction: nothing is lost,
and at most the message in flight goes twice, with the same Message-ID."""

from __future__ import annotations

import asyncio
import email
import email.policy
import subprocess
import sys
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller

from dentalcare.db.claims import SYSTEM
from dentalcare.outbox import enqueue
from dentalcare.outbox.transports import SmtpTransport
from dentalcare.outbox.worker import DeliveryPolicy, OutboxWorker
from tests.fixtures.database import app_pool
from tests.fixtures.waiting import wait_for
from tests.outbox.smtp import free_port

HERE = Path(__file__).resolve().parent
COUNT = 6


class StallingInbox:
    """Accepts every message but the first, on which it stalls (holding the sender mid-DATA)
    until released, then refuses it with a temporary error."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[str] = []
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._stalls_left = 1

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        with self.lock:
            stall = self._stalls_left > 0
            self._stalls_left -= 1 if stall else 0
        if stall:
            self.stalled.set()
            await asyncio.to_thread(self.release.wait, 60)
            return "451 Try again later"
        with self.lock:
            self.accepted.append(str(mail["Message-ID"]))
        return "250 OK"


def spawn_worker(database_url: str, smtp_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    """tests/faults/outbox_worker.py as a process of its own, output into `log_path`."""
    with open(log_path, "wb") as log_file:
        return subprocess.Popen(
            [sys.executable, str(HERE / "outbox_worker.py"), database_url, smtp_url],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def test_kill_9_mid_send_loses_nothing(fault_db: str, tmp_path: Path) -> None:
    inbox = StallingInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    smtp_url = f"smtp://127.0.0.1:{port}"
    child: subprocess.Popen[bytes] | None = None
    try:
        async with app_pool(fault_db) as db:
            async with db.unit_of_work(SYSTEM) as uow:
                conn = await uow.connection()
                for n in range(COUNT):
                    await enqueue(
                        conn,
                        kind="booking_received",
                        to_email=f"p{n}@example.com",
                        context={"patient_name": f"P{n}", "when": "soon (UTC, UTC)"},
                    )
            child = spawn_worker(fault_db, smtp_url, tmp_path / "worker.log")
            deadline = time.monotonic() + 30
            while not inbox.stalled.is_set():
                assert child.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, "the worker never started sending"
                await asyncio.sleep(0.02)
            child.kill()  # SIGKILL, in the middle of the SMTP DATA
            child.wait(timeout=10)
            owner = await asyncpg.connect(fault_db)
            try:
                sending = await owner.fetchval(
                    "SELECT count(*) FROM messages WHERE status = 'sending'"
                )
                assert sending == 1  # the one in flight, leased to the dead worker
                inbox.release.set()
                survivor = OutboxWorker(
                    unit_of_work=db.unit_of_work,
                    mail=SmtpTransport(smtp_url),
                    sms=None,
                    policy=DeliveryPolicy(
                        mail_from="clinic@example.com", lease_seconds=1.0, poll_seconds=0.05
                    ),
                )
                survivor.start()
                try:

                    async def all_sent() -> bool:
                        done = await owner.fetchval(
                            "SELECT count(*) FROM messages WHERE status = 'sent'"
                        )
                        return bool(done == COUNT)

                    await wait_for(all_sent, 30, what="every message sent after the kill")
                finally:
                    await survivor.stop()
                ids = [
                    r["message_id"] for r in await owner.fetch("SELECT message_id FROM messages")
                ]
            finally:
                await owner.close()
        counts = Counter(inbox.accepted)
        assert set(counts) == set(ids)  # none lost
        assert sum(counts.values()) <= COUNT + 1  # at most the one in flight again
        assert all(c == 1 for c in counts.values())  # the stalled copy was refused (451)
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        controller.stop()
