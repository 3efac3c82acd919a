"""Idle guest conversations expire: the retention job, the one function that may delete
chat sessions (migration 0004), and the service running the job on its own."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import pytest

from dentalcare.chatbot import retention
from dentalcare.chatbot.retention import ChatRetention
from dentalcare.db.claims import ANONYMOUS, SYSTEM
from tests.fixtures.database import app_pool
from tests.fixtures.rows import make_user
from tests.fixtures.servers import serve
from tests.fixtures.waiting import wait_for

RETENTION = timedelta(days=30)


async def _session(
    conn: asyncpg.Connection, *, idle: timedelta, user_id: uuid.UUID | None = None
) -> uuid.UUID:
    """A chat session last touched `idle` ago (written as the owner: no trigger moves
    updated_at on INSERT)."""
    session_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO chat_sessions (id, user_id, state, messages, created_at, updated_at)
           VALUES ($1, $2, $3, $4, now() - $5::interval, now() - $5::interval)""",
        session_id,
        user_id,
        {"stage": "complaint"},
        [{"role": "user", "text": "I'm Jane Doe, jane@example.com", "quick_replies": []}],
        idle,
    )
    return session_id


async def _remaining(conn: asyncpg.Connection) -> set[uuid.UUID]:
    return {row["id"] for row in await conn.fetch("SELECT id FROM chat_sessions")}


async def test_the_job_deletes_only_guest_sessions_idle_past_the_retention(
    database_url: str, owner_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = await make_user(owner_conn)
    idle_guests = {await _session(owner_conn, idle=timedelta(days=31 + i)) for i in range(5)}
    recent_guest = await _session(owner_conn, idle=timedelta(days=29))
    idle_patient = await _session(owner_conn, idle=timedelta(days=400), user_id=patient["id"])
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches, each its own unit of work
    async with app_pool(database_url) as db:
        job = ChatRetention(unit_of_work=db.unit_of_work, idle=RETENTION, interval=3600)
        assert await job.expire() == len(idle_guests)
        assert await job.expire() == 0
    assert await _remaining(owner_conn) == {recent_guest, idle_patient}


async def test_only_the_service_may_expire_sessions_and_only_through_the_function(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    idle_guest = await _session(owner_conn, idle=timedelta(days=31))
    async with app_pool(database_url) as db:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with db.unit_of_work(SYSTEM) as uow:
                await (await uow.connection()).execute("DELETE FROM chat_sessions")
        for claims in (ANONYMOUS, ANONYMOUS.with_chat_session(idle_guest)):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with db.unit_of_work(claims) as uow:
                    await (await uow.connection()).fetchval(
                        "SELECT expire_guest_chat_sessions('31 days', 10)"
                    )
        with pytest.raises(asyncpg.InvalidParameterValueError):
            async with db.unit_of_work(SYSTEM) as uow:
                await (await uow.connection()).fetchval(
                    "SELECT expire_guest_chat_sessions('1 hour', 10)"
                )
    assert await _remaining(owner_conn) == {idle_guest}


async def test_the_service_expires_idle_guest_sessions_on_its_own(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    idle_guest = await _session(owner_conn, idle=timedelta(days=31))
    recent_guest = await _session(owner_conn, idle=timedelta(days=1))
    with serve(database_url, chat_retention_interval_seconds=0.05):
        await wait_for(
            lambda: owner_conn.fetchval(
                "SELECT NOT EXISTS (SELECT FROM chat_sessions WHERE id = $1)", idle_guest
            ),
            what="the idle guest session expired",
        )
    # One statement decided both: the session in use was never a candidate.
    assert await _remaining(owner_conn) == {recent_guest}
