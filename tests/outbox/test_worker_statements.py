"""The delivery worker's statements (migration 0030): a claim and each outcome commit by
themselves, need no claims, move a message only along the worker's path, and two
workers claiming at once never take the same row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import asyncpg

from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.outbox import enqueue
from dentalcare.outbox.repository import claim_due, mark_failed_attempt, mark_sent
from tests.fixtures.clinic import next_weekday, working_dentist
from tests.fixtures.database import app_pool
from tests.fixtures.rows import make_appointment


async def test_two_workers_claiming_at_once_share_the_due_rows_without_overlap(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    async with app_pool(database_url) as db:
        async with db.unit_of_work(SYSTEM) as uow:
            conn = await uow.connection()
            for i in range(40):
                await enqueue(conn, kind="reminder", to_email=f"p{i}@example.com")
            later = datetime.now(UTC) + timedelta(hours=1)
            await enqueue(conn, kind="reminder", to_email="later@example.com", due_at=later)

        async def claim() -> list[asyncpg.Record]:
            async with db.unit_of_work(SYSTEM).statement(logs_events=False) as conn:
                return await claim_due(conn, limit=25, lease_seconds=60)

        first, second = await asyncio.gather(claim(), claim())
    ids = [r["id"] for r in first] + [r["id"] for r in second]
    assert len(ids) == len(set(ids)) == 40  # each due row once, the later one not at all
    rows = await owner_conn.fetch("SELECT status, attempts, locked_until FROM messages")
    sending = [r for r in rows if r["status"] == "sending"]
    assert len(sending) == 40
    assert all(r["attempts"] == 1 and r["locked_until"] is not None for r in sending)
    assert [r["status"] for r in rows if r not in sending] == ["scheduled"]


async def test_each_outcome_commits_by_itself_and_moves_only_a_message_being_sent(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    dentist = await working_dentist(owner_conn)
    appointment = await make_appointment(
        owner_conn, dentist_id=dentist["id"], on=next_weekday(), at=time(10)
    )
    async with app_pool(database_url) as db:
        async with db.unit_of_work(SYSTEM) as uow:
            conn = await uow.connection()
            ids = [
                await enqueue(
                    conn,
                    kind="booking_received",
                    to_email=f"a{i}@example.com",
                    appointment_id=appointment["id"],
                )
                for i in range(3)
            ]
        sent, retried, failed = ids
        async with db.unit_of_work(SYSTEM).statement(logs_events=False) as conn:
            # Not claimed yet: the outcomes of a send change nothing.
            await mark_sent(conn, sent, captured="kept")
            await mark_failed_attempt(conn, failed, error="x", retry_in_seconds=None)
        untouched = await owner_conn.fetch("SELECT status FROM messages")
        assert {r["status"] for r in untouched} == {"scheduled"}

        async with db.unit_of_work(SYSTEM).statement(logs_events=False) as conn:
            assert len(await claim_due(conn, limit=10, lease_seconds=60)) == 3
        async with db.unit_of_work(SYSTEM).statement(logs_events=True) as conn:
            await mark_sent(conn, sent, captured="the kept copy")
            await mark_failed_attempt(
                conn, retried, error="4.2.0 busy " + "x" * 3000, retry_in_seconds=300
            )
            await mark_failed_attempt(
                conn, failed, error="5.1.1 no such user", retry_in_seconds=None
            )
            # Each statement has committed: another connection sees it while this one is
            # still held.
            seen = await owner_conn.fetch(
                "SELECT id, status, sent_at, captured, last_error, due_at, locked_until "
                "FROM messages"
            )
    by_id = {r["id"]: r for r in seen}
    assert by_id[sent]["status"] == "sent" and by_id[sent]["sent_at"] is not None
    assert by_id[sent]["captured"] == "the kept copy" and by_id[sent]["locked_until"] is None
    assert by_id[retried]["status"] == "scheduled"
    assert len(by_id[retried]["last_error"]) == 2000
    assert by_id[retried]["due_at"] > datetime.now(UTC) + timedelta(seconds=250)
    assert by_id[failed]["status"] == "failed"
    assert by_id[failed]["last_error"] == "5.1.1 no such user"
    # The status trigger logged the three outcomes (not the claims) as realtime events.
    events = await owner_conn.fetch(
        "SELECT record->>'id' AS id, record->>'status' AS status FROM realtime_events "
        "WHERE table_name = 'messages' ORDER BY seq"
    )
    assert sorted((e["id"], e["status"]) for e in events) == sorted(
        [(str(sent), "sent"), (str(retried), "scheduled"), (str(failed), "failed")]
    )


async def test_without_the_functions_the_role_cannot_move_messages_unclaimed(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    """Why the worker's statements are functions: with no claims set, the application
    role's own UPDATE of a message reaches no row (row-level security); only the three
    functions, which do the worker's steps and nothing else, move it."""
    async with app_pool(database_url) as db:
        async with db.unit_of_work(SYSTEM) as uow:
            message = await enqueue(
                await uow.connection(), kind="reminder", to_email="a@example.com"
            )
        async with db.unit_of_work(Claims("anonymous")).statement(logs_events=False) as conn:
            changed = await conn.execute("UPDATE messages SET status = 'sending'")
            assert changed == "UPDATE 0"
            granted = await conn.fetch(
                "SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS anyone "
                "FROM pg_proc p WHERE p.proname LIKE 'outbox\\_%' ORDER BY p.proname"
            )
    assert [(g["proname"], g["anyone"]) for g in granted] == [
        ("outbox_attempt_failed", False),
        ("outbox_claim", False),
        ("outbox_sent", False),
    ]
    status = await owner_conn.fetchval("SELECT status FROM messages WHERE id = $1", message)
    assert status == "scheduled"


async def test_a_claim_takes_lapsed_leases_first_then_the_oldest_due(
    owner_conn: asyncpg.Connection, database_url: str
) -> None:
    now = datetime.now(UTC)
    async with app_pool(database_url) as db:
        async with db.unit_of_work(SYSTEM) as uow:
            conn = await uow.connection()
            due = {
                minutes: await enqueue(
                    conn,
                    kind="reminder",
                    to_email=f"due{minutes}@example.com",
                    due_at=now - timedelta(minutes=minutes),
                )
                for minutes in (1, 5, 3, 9, 7)
            }
            await enqueue(
                conn, kind="reminder", to_email="ahead@example.com", due_at=now + timedelta(hours=1)
            )
        # Two messages whose worker died mid-send: their lease lapsed a minute ago.
        lapsed = await owner_conn.fetch(
            "UPDATE messages SET status = 'sending', attempts = 1, "
            "locked_until = now() - interval '1 minute' "
            "WHERE id = ANY($1::uuid[]) RETURNING id",
            [due[1], due[5]],
        )
        async with db.unit_of_work(SYSTEM).statement(logs_events=False) as conn:
            first = await claim_due(conn, limit=3, lease_seconds=60)
            second = await claim_due(conn, limit=3, lease_seconds=60)
            third = await claim_due(conn, limit=3, lease_seconds=60)
    assert {r["id"] for r in first} == {r["id"] for r in lapsed} | {due[9]}
    assert {r["attempts"] for r in first if r["id"] != due[9]} == {2}
    assert {r["id"] for r in second} == {due[7], due[3]}
    assert third == []  # the one due in an hour is not taken
