"""A delivery worker yields to the requests its process answers: while they are in
flight it claims small batches and pauses after each message, and once they stop it
delivers at full speed; a process that is busy all the time still delivers everything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from dentalcare.db.claims import SYSTEM
from dentalcare.db.pool import Database
from dentalcare.outbox import enqueue
from dentalcare.outbox.transports import CaptureTransport
from dentalcare.outbox.worker import DeliveryPolicy, OutboxWorker
from tests.fixtures.database import app_pool
from tests.fixtures.waiting import wait_for


async def _statuses(owner_conn: asyncpg.Connection) -> dict[str, int]:
    rows = await owner_conn.fetch("SELECT status, count(*) AS n FROM messages GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def _due(database_url: str, count: int) -> None:
    async with app_pool(database_url) as db, db.unit_of_work(SYSTEM) as uow:
        conn = await uow.connection()
        for i in range(count):
            await enqueue(conn, kind="reminder", to_email=f"p{i}@example.com")


def _worker(
    db: Database,
    policy: DeliveryPolicy,
    busy: Callable[[], bool] | None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> OutboxWorker:
    return OutboxWorker(
        unit_of_work=db.unit_of_work,
        mail=CaptureTransport(),
        sms=None,
        policy=policy,
        busy=busy,
        sleep=sleep,
    )


async def _all_sent(owner_conn: asyncpg.Connection, count: int) -> None:
    async def sent() -> bool:
        return await _statuses(owner_conn) == {"sent": count}

    await wait_for(sent, what=f"all {count} sent")


async def test_while_busy_a_worker_takes_small_batches_and_pauses_after_each_message(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    await _due(database_url, 12)
    busy = True
    pauses: list[float] = []
    go_on = asyncio.Event()

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        await go_on.wait()

    policy = DeliveryPolicy(
        mail_from="clinic@example.com", batch=50, busy_batch=5, busy_share=0.25, poll_seconds=0.05
    )
    async with app_pool(database_url) as db:
        worker = _worker(db, policy, lambda: busy, pause)
        worker.start()
        try:
            await wait_for(lambda: pauses, what="the first pause")
            # One message out of a batch of five, the other seven not even claimed.
            assert await _statuses(owner_conn) == {"sent": 1, "sending": 4, "scheduled": 7}
            assert 0 < pauses[0] <= policy.busy_pause_max_seconds
            busy = False  # the requests stop: the rest goes without pausing
            go_on.set()
            await _all_sent(owner_conn, 12)
        finally:
            await worker.stop()
    assert len(pauses) == 1
    assert worker.delivered == 12


async def test_a_process_busy_all_the_time_still_delivers_everything(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    await _due(database_url, 8)
    policy = DeliveryPolicy(
        mail_from="clinic@example.com", busy_batch=3, busy_share=0.5, poll_seconds=0.05
    )
    async with app_pool(database_url) as db:
        worker = _worker(db, policy, lambda: True)
        assert worker.busy()
        worker.start()
        try:
            await _all_sent(owner_conn, 8)
        finally:
            await worker.stop()


def test_the_pause_keeps_delivery_to_its_share_and_is_bounded() -> None:
    policy = DeliveryPolicy(mail_from="c@example.com", busy_share=0.1, busy_pause_max_seconds=1)
    assert abs(policy.pause_after(0.005) - 0.045) < 1e-12  # 5 ms of 50: a tenth
    assert policy.pause_after(0.5) == 1  # a slow send does not stall the worker for long
    assert DeliveryPolicy(mail_from="c@example.com", busy_share=1).pause_after(0.5) == 0


async def test_a_worker_that_may_always_deliver_does_not_count_as_busy(
    database_url: str,
) -> None:
    async with app_pool(database_url) as db:
        full = DeliveryPolicy(mail_from="c@example.com", busy_share=1)
        assert not _worker(db, full, lambda: True).busy()
        share = DeliveryPolicy(mail_from="c@example.com")
        assert not _worker(db, share, None).busy()  # nobody says it is busy
        assert _worker(db, share, lambda: True).busy()
