"""The unit of work: claims on every statement, effects only after commit, bounded waits."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dentalcare.db.claims import ANONYMOUS, SYSTEM, Claims
from dentalcare.db.pool import Database
from dentalcare.errors import ServiceUnavailable
from tests.fixtures.database import app_pool
from tests.fixtures.rows import make_dentist

CLAIMS_SQL = (
    "SELECT current_setting('app.role', true) AS role,"
    " current_setting('app.user_id', true) AS user_id,"
    " current_setting('app.guest_email', true) AS guest_email,"
    " current_setting('app.chat_session', true) AS chat_session"
)


@pytest.fixture
async def app_db(database_url: str, owner_conn: asyncpg.Connection) -> AsyncIterator[Database]:
    """A small pool working as the restricted application role, with a short wait."""
    async with app_pool(database_url, max_size=2, acquire_timeout=0.5) as db:
        yield db


async def test_the_first_statement_already_runs_under_the_claims(app_db: Database) -> None:
    patient = Claims("patient", user_id=uuid.uuid4())
    async with app_db.unit_of_work(patient) as uow:
        row = await (await uow.connection()).fetchrow(CLAIMS_SQL)
    assert row["role"] == "patient" and row["user_id"] == str(patient.user_id)


async def test_claims_changed_mid_transaction_apply_before_the_next_statement(
    app_db: Database,
) -> None:
    session = uuid.uuid4()
    async with app_db.unit_of_work(ANONYMOUS) as uow:
        conn = await uow.connection()
        assert (await conn.fetchrow(CLAIMS_SQL))["role"] == "anonymous"
        uow.act_as(ANONYMOUS.with_chat_session(session))
        async with uow.acting_as(Claims("anonymous", guest_email="Guest@Example.com")):
            inside = await (await uow.connection()).fetchrow(CLAIMS_SQL)
        after = await (await uow.connection()).fetchrow(CLAIMS_SQL)
    assert inside["guest_email"] == "guest@example.com" and inside["chat_session"] == ""
    assert after["chat_session"] == str(session) and after["guest_email"] == ""


async def test_effects_run_after_a_commit_and_never_after_a_rollback(
    app_db: Database, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    seen: list[str] = []
    pokes: list[int] = []
    app_db.after_commit.append(lambda: pokes.append(1))

    async def rename(to: str, *, fail: bool) -> None:
        async with app_db.unit_of_work(Claims("admin")) as uow:
            conn = await uow.connection()
            await conn.execute("UPDATE dentists SET bio = $2 WHERE id = $1", dentist["id"], to)
            before = list(seen)
            uow.after_commit(lambda: seen.append(to))
            assert seen == before  # nothing runs before the commit
            if fail:
                raise RuntimeError("the request failed")

    await rename("kept", fail=False)
    with pytest.raises(RuntimeError):
        await rename("dropped", fail=True)
    assert seen == ["kept"] and pokes == [1]
    assert await owner_conn.fetchval("SELECT bio FROM dentists WHERE id = $1", dentist["id"]) == (
        "kept"
    )


async def test_a_read_only_unit_refuses_to_write_and_pokes_no_listener(
    app_db: Database, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    pokes: list[int] = []
    app_db.after_commit.append(lambda: pokes.append(1))
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        async with app_db.unit_of_work(Claims("admin"), read_only=True) as uow:
            await (await uow.connection()).execute(
                "UPDATE dentists SET bio = 'x' WHERE id = $1", dentist["id"]
            )
    async with app_db.unit_of_work(SYSTEM, read_only=True) as uow:
        await (await uow.connection()).fetchval("SELECT 1")
    assert pokes == []


async def test_a_savepoint_keeps_the_transaction_usable_after_a_refused_statement(
    app_db: Database, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    async with app_db.unit_of_work(Claims("admin")) as uow:
        with pytest.raises(asyncpg.CheckViolationError):
            async with uow.savepoint() as conn:
                await conn.execute(
                    "UPDATE dentists SET slot_minutes = -5 WHERE id = $1", dentist["id"]
                )
        await (await uow.connection()).execute(
            "UPDATE dentists SET bio = 'after the refusal' WHERE id = $1", dentist["id"]
        )
    bio = await owner_conn.fetchval("SELECT bio FROM dentists WHERE id = $1", dentist["id"])
    assert bio == "after the refusal"


async def test_a_transaction_block_commits_at_its_end_and_releases_the_connection(
    app_db: Database,
) -> None:
    async with app_db.unit_of_work(ANONYMOUS) as uow:
        async with uow.transaction() as conn:
            assert await conn.fetchval("SELECT 1") == 1
            assert uow.in_transaction
        assert not uow.in_transaction
        assert app_db.pool_idle == app_db.pool_size


async def test_a_full_pool_answers_service_unavailable_within_its_timeout(
    app_db: Database,
) -> None:
    holders = [app_db.unit_of_work(SYSTEM) for _ in range(2)]
    for holder in holders:
        await holder.connection()
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            async with app_db.unit_of_work(ANONYMOUS) as uow:
                await uow.connection()
        waited = time.monotonic() - started
        assert 0.4 < waited < 3.0
    finally:
        for holder in holders:
            await holder.rollback()
    async with app_db.unit_of_work(ANONYMOUS) as uow:  # the pool recovers
        assert await (await uow.connection()).fetchval("SELECT 1") == 1


async def test_postgres_ends_a_transaction_left_idle(app_db: Database) -> None:
    async with app_db.unit_of_work(SYSTEM, read_only=True) as uow:
        setting = await (await uow.connection()).fetchval(
            "SHOW idle_in_transaction_session_timeout"
        )
    assert setting == "30s"


async def test_cancelling_a_request_gives_its_connection_back(app_db: Database) -> None:
    async def stuck() -> None:
        async with app_db.unit_of_work(SYSTEM) as uow:
            await (await uow.connection()).execute("SELECT pg_sleep(30)")

    task = asyncio.create_task(stuck())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(2):  # both connections can be had again at once
        async with app_db.unit_of_work(ANONYMOUS) as uow:
            assert await (await uow.connection()).fetchval("SELECT 1") == 1
