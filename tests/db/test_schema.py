"""The schema's own guarantees: no double booking, row-level security, the event log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import asyncpg
import pytest

from dentalcare.db import locks
from dentalcare.db.claims import ANONYMOUS, Claims, set_claims
from dentalcare.db.pool import Database, connect
from tests.fixtures.database import app_pool, create_database, drop_database
from tests.fixtures.rows import make_appointment, make_dentist, make_user, make_window, reference

DAY = date(2031, 3, 10)  # a Monday, far from "now" so no clock rule interferes


@pytest.fixture
async def app_db(database_url: str, owner_conn: asyncpg.Connection) -> AsyncIterator[Database]:
    """The service's own pool: connections work as the restricted application role."""
    async with app_pool(database_url, max_size=40) as db:
        yield db


@asynccontextmanager
async def transaction(db: Database, claims: Claims) -> AsyncIterator[asyncpg.Connection]:
    """One unit of work's transaction, as the service runs it."""
    async with db.unit_of_work(claims) as uow:
        yield await uow.connection()


def claims_for(user: asyncpg.Record, dentist: asyncpg.Record | None = None) -> Claims:
    return Claims(user["role"], user_id=user["id"], dentist_id=dentist["id"] if dentist else None)


# --------------------------------------------------------------------------- double booking


async def _insert_as_admin(db: Database, dentist_id: UUID, at: time, duration: int) -> str:
    # Concurrent inserts into one exclusion constraint may deadlock (each waits for the
    # other's index entry). Every first attempt races unserialized: that is what the
    # constraint must survive. A deadlock's victim then tries again queued behind the
    # dentist's other writers, as the booking service does. Retrying unqueued can
    # livelock: the detector aborts whichever waiter's timer fires first, usually the
    # oldest, its retry re-enters the race at once, and on a busy CI machine one insert
    # waited out the 30 s command timeout through hundreds of such rounds.
    for attempt in range(30):
        try:
            async with transaction(db, Claims("admin")) as conn:
                if attempt:
                    await locks.queue_for_dentist(conn, dentist_id)
                await make_appointment(
                    conn, dentist_id=dentist_id, on=DAY, at=at, duration_minutes=duration
                )
            return "inserted"
        except asyncpg.ExclusionViolationError:
            return "conflict"
        except asyncpg.DeadlockDetectedError:
            continue
    return "deadlocked"


async def _who_waits(conn: asyncpg.Connection) -> str:
    """The database's other sessions: state, wait, whom they wait for, their statement."""
    rows = await conn.fetch(
        """
        SELECT pid, state, wait_event_type, wait_event, pg_blocking_pids(pid) AS blockers,
               application_name, left(query, 100) AS query
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
        ORDER BY pid
        """
    )
    return "\n".join(
        f"{r['pid']} {r['application_name']} {r['state']} {r['wait_event_type']}:"
        f"{r['wait_event']} blocked by {r['blockers']}: {r['query']}"
        for r in rows
    )


@pytest.mark.parametrize("round_", range(5))
async def test_concurrent_overlapping_inserts_leave_exactly_one(
    app_db: Database, owner_conn: asyncpg.Connection, round_: int
) -> None:
    dentist = await make_dentist(owner_conn)
    # 30 intervals that all overlap each other: starts 10:00, 10:01, ... 10:29, 30 min each.
    starts = [time(10, minute) for minute in range(30)]
    race = asyncio.ensure_future(
        asyncio.gather(*(_insert_as_admin(app_db, dentist["id"], at, 30) for at in starts))
    )
    # The race ends in well under a second. Should a statement ever hang again (CI once
    # saw one wait out the 30 s command timeout), say who waited for whom while it hung.
    done, _ = await asyncio.wait({race}, timeout=20)
    stuck = "" if done else await _who_waits(owner_conn)
    try:
        outcomes = await race
    except TimeoutError as exc:
        raise AssertionError(f"a racing insert timed out; 20 s in:\n{stuck}") from exc
    assert outcomes.count("inserted") == 1, stuck
    assert outcomes.count("conflict") == 29, stuck
    active = await owner_conn.fetchval(
        "SELECT count(*) FROM appointment_busy WHERE dentist_id = $1", dentist["id"]
    )
    assert active == 1


async def test_adjacent_other_dentist_and_cancelled_appointments_do_not_conflict(
    owner_conn: asyncpg.Connection,
) -> None:
    smith, jones = await make_dentist(owner_conn), await make_dentist(owner_conn)
    first = await make_appointment(owner_conn, dentist_id=smith["id"], on=DAY, at=time(9))
    await make_appointment(owner_conn, dentist_id=smith["id"], on=DAY, at=time(9, 30))
    await make_appointment(owner_conn, dentist_id=jones["id"], on=DAY, at=time(9))
    with pytest.raises(asyncpg.ExclusionViolationError):
        await make_appointment(owner_conn, dentist_id=smith["id"], on=DAY, at=time(9, 15))
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", first["id"]
    )
    again = await make_appointment(owner_conn, dentist_id=smith["id"], on=DAY, at=time(9))
    assert again["status"] == "pending"


async def test_reactivating_into_a_taken_slot_is_refused(owner_conn: asyncpg.Connection) -> None:
    dentist = await make_dentist(owner_conn)
    await make_appointment(owner_conn, dentist_id=dentist["id"], on=DAY, at=time(11))
    other = await make_appointment(owner_conn, dentist_id=dentist["id"], on=DAY, at=time(12))
    with pytest.raises(asyncpg.ExclusionViolationError):
        await owner_conn.execute(
            "UPDATE appointments SET appointment_time = '11:15' WHERE id = $1", other["id"]
        )


async def test_times_are_derived_in_the_dentists_time_zone(owner_conn: asyncpg.Connection) -> None:
    dentist = await make_dentist(owner_conn, timezone="America/New_York")
    summer = await make_appointment(
        owner_conn, dentist_id=dentist["id"], on=date(2031, 7, 1), at=time(9), duration_minutes=45
    )
    winter = await make_appointment(
        owner_conn, dentist_id=dentist["id"], on=date(2031, 1, 6), at=time(9)
    )
    assert summer["starts_at"] == datetime(2031, 7, 1, 13, 0, tzinfo=UTC)
    assert summer["ends_at"] - summer["starts_at"] == timedelta(minutes=45)
    assert winter["starts_at"] == datetime(2031, 1, 6, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        ("pending", "confirmed", True),
        ("pending", "cancelled", True),
        ("confirmed", "completed", True),
        ("confirmed", "no_show", True),
        ("pending", "completed", False),
        ("pending", "no_show", False),
        ("completed", "cancelled", False),
        ("cancelled", "confirmed", False),
        ("no_show", "confirmed", False),
    ],
)
async def test_status_machine_is_enforced_by_the_database(
    owner_conn: asyncpg.Connection, start: str, target: str, allowed: bool
) -> None:
    dentist = await make_dentist(owner_conn)
    appointment = await make_appointment(
        owner_conn, dentist_id=dentist["id"], on=DAY, at=time(14), status=start
    )
    update = "UPDATE appointments SET status = $2 WHERE id = $1 RETURNING *"
    if allowed:
        row = await owner_conn.fetchrow(update, appointment["id"], target)
        stamp = {
            "confirmed": "confirmed_at",
            "cancelled": "cancelled_at",
            "completed": "completed_at",
        }.get(target)
        if stamp:
            assert row[stamp] is not None
    else:
        with pytest.raises(asyncpg.PostgresError) as raised:
            await owner_conn.execute(update, appointment["id"], target)
        assert raised.value.sqlstate == "DCT01"


# --------------------------------------------------------------------------- row-level security


async def test_service_role_is_subject_to_row_level_security(app_db: Database) -> None:
    async with transaction(app_db, ANONYMOUS) as conn:
        row = await conn.fetchrow(
            """SELECT current_user AS who, r.rolsuper, r.rolbypassrls,
                      (SELECT tableowner FROM pg_tables WHERE tablename = 'appointments') AS owner,
                      (SELECT relrowsecurity FROM pg_class WHERE relname = 'appointments') AS rls
               FROM pg_roles r WHERE r.rolname = current_user"""
        )
    assert row["who"] == "dentalcare_app"
    assert row["rolsuper"] is False
    assert row["rolbypassrls"] is False
    assert row["owner"] != "dentalcare_app"
    assert row["rls"] is True


@pytest.fixture
async def two_patients(owner_conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    """Patients A and B, dentists X and Y, and an appointment for each pairing."""
    a, b = await make_user(owner_conn), await make_user(owner_conn)
    x, y = await make_dentist(owner_conn), await make_dentist(owner_conn)
    appt_a = await make_appointment(
        owner_conn, dentist_id=x["id"], patient_id=a["id"], on=DAY, at=time(9)
    )
    appt_b = await make_appointment(
        owner_conn, dentist_id=y["id"], patient_id=b["id"], on=DAY, at=time(9), notes="B's note"
    )
    guest = await make_appointment(
        owner_conn, dentist_id=x["id"], on=DAY, at=time(10), patient_email="guest@example.com"
    )
    x_user = await owner_conn.fetchrow("SELECT * FROM users WHERE id = $1", x["user_id"])
    return {
        "a": a,
        "b": b,
        "x": x,
        "y": y,
        "x_user": x_user,
        "appt_a": appt_a,
        "appt_b": appt_b,
        "guest": guest,
    }


async def test_patient_reads_only_own_rows_even_with_hand_written_sql(
    app_db: Database, two_patients: dict[str, asyncpg.Record]
) -> None:
    a, appt_a, appt_b = two_patients["a"], two_patients["appt_a"], two_patients["appt_b"]
    async with transaction(app_db, claims_for(a)) as conn:
        ids = {r["id"] for r in await conn.fetch("SELECT id FROM appointments")}
        direct = await conn.fetchrow("SELECT * FROM appointments WHERE id = $1", appt_b["id"])
        by_email = await conn.fetch(
            "SELECT id FROM appointments WHERE patient_email = $1", appt_b["patient_email"]
        )
        users = await conn.fetch("SELECT id FROM users")
        events = await conn.fetch("SELECT seq FROM realtime_events")
    assert ids == {appt_a["id"]}
    assert direct is None
    assert by_email == []
    assert [u["id"] for u in users] == [a["id"]]
    assert events == []


async def test_patient_cannot_update_another_patients_rows(
    app_db: Database, owner_conn: asyncpg.Connection, two_patients: dict[str, asyncpg.Record]
) -> None:
    a, appt_b = two_patients["a"], two_patients["appt_b"]
    async with transaction(app_db, claims_for(a)) as conn:
        status = await conn.execute(
            "UPDATE appointments SET notes = 'hacked', status = 'cancelled' WHERE id = $1",
            appt_b["id"],
        )
        everyone = await conn.execute("UPDATE appointments SET notes = 'mine'")
    assert status == "UPDATE 0"
    assert everyone == "UPDATE 1"  # only A's own row
    row = await owner_conn.fetchrow(
        "SELECT notes, status FROM appointments WHERE id = $1", appt_b["id"]
    )
    assert (row["notes"], row["status"]) == ("B's note", "pending")


async def test_patient_cannot_book_in_another_patients_name_or_raise_their_role(
    app_db: Database, two_patients: dict[str, asyncpg.Record]
) -> None:
    a, b, y = two_patients["a"], two_patients["b"], two_patients["y"]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with transaction(app_db, claims_for(a)) as conn:
            await make_appointment(
                conn, dentist_id=y["id"], patient_id=b["id"], on=DAY, at=time(15)
            )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with transaction(app_db, claims_for(a)) as conn:
            await conn.execute("UPDATE users SET role = 'admin' WHERE id = $1", a["id"])


async def test_dentist_sees_own_admin_all_anonymous_none(
    app_db: Database, two_patients: dict[str, asyncpg.Record]
) -> None:
    x, x_user = two_patients["x"], two_patients["x_user"]
    expected_x = {two_patients["appt_a"]["id"], two_patients["guest"]["id"]}
    async with transaction(app_db, claims_for(x_user, x)) as conn:
        seen_by_x = {r["id"] for r in await conn.fetch("SELECT id FROM appointments")}
    async with transaction(app_db, Claims("admin")) as conn:
        seen_by_admin = await conn.fetchval("SELECT count(*) FROM appointments")
    async with transaction(app_db, ANONYMOUS) as conn:
        seen_by_anonymous = await conn.fetchval("SELECT count(*) FROM appointments")
        busy = await conn.fetchval("SELECT count(*) FROM appointment_busy")
    assert seen_by_x == expected_x
    assert seen_by_admin == 3
    assert seen_by_anonymous == 0
    assert busy == 3  # busy times are public, patient data is not


async def test_anonymous_may_only_insert_guest_bookings(
    app_db: Database, owner_conn: asyncpg.Connection, two_patients: dict[str, asyncpg.Record]
) -> None:
    x, a = two_patients["x"], two_patients["a"]
    guest = Claims("anonymous", guest_email="new.guest@example.com")
    async with transaction(app_db, guest) as conn:
        row = await make_appointment(
            conn, dentist_id=x["id"], on=DAY, at=time(16), patient_email="New.Guest@example.com"
        )
    assert row["patient_id"] is None
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with transaction(app_db, ANONYMOUS) as conn:
            await make_appointment(
                conn, dentist_id=x["id"], patient_id=a["id"], on=DAY, at=time(16, 30)
            )
    async with transaction(app_db, ANONYMOUS) as conn:
        changed = await conn.execute("UPDATE appointments SET notes = 'x'")
    assert changed == "UPDATE 0"
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with transaction(app_db, Claims("admin")) as conn:
            await conn.execute("DELETE FROM appointments")


# --------------------------------------------------------------------------- event log


async def _events(conn: asyncpg.Connection, after: int = 0) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM realtime_events WHERE seq > $1 ORDER BY seq", after)


async def _head(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM realtime_events"))


async def test_every_change_writes_exactly_one_event(owner_conn: asyncpg.Connection) -> None:
    head = await _head(owner_conn)
    dentist = await make_dentist(owner_conn)
    window = await make_window(
        owner_conn, dentist_id=dentist["id"], day_of_week=0, start=time(9), end=time(12)
    )
    exception = await owner_conn.fetchrow(
        "INSERT INTO availability_exceptions (dentist_id, date) VALUES ($1, $2) RETURNING *",
        dentist["id"],
        DAY,
    )
    appointment = await make_appointment(owner_conn, dentist_id=dentist["id"], on=DAY, at=time(9))
    await owner_conn.execute(
        "UPDATE appointments SET status = 'confirmed' WHERE id = $1", appointment["id"]
    )
    await owner_conn.execute(
        "UPDATE dentist_availability SET end_time = '12:30' WHERE id = $1", window["id"]
    )
    await owner_conn.execute("UPDATE dentists SET bio = 'Hello' WHERE id = $1", dentist["id"])
    await owner_conn.execute("DELETE FROM availability_exceptions WHERE id = $1", exception["id"])
    await owner_conn.execute("DELETE FROM appointments WHERE id = $1", appointment["id"])
    events = await _events(owner_conn, head)
    changes = [e for e in events if e["table_name"] != "slots"]
    assert [(e["table_name"], e["op"]) for e in changes] == [
        ("dentists", "INSERT"),
        ("dentist_availability", "INSERT"),
        ("availability_exceptions", "INSERT"),
        ("appointments", "INSERT"),
        ("appointments", "UPDATE"),
        ("dentist_availability", "UPDATE"),
        ("dentists", "UPDATE"),
        ("availability_exceptions", "DELETE"),
        ("appointments", "DELETE"),
    ]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    update = changes[4]
    assert update["record"]["status"] == "confirmed"
    assert update["old_record"]["status"] == "pending"
    assert update["record"]["dentist_name"] == dentist["name"]
    assert update["dentist_id"] == dentist["id"]
    deleted = changes[8]
    assert deleted["record"] is None and deleted["old_record"]["id"] == str(appointment["id"])
    # The booking took its slot, the confirmation changed no slot, the delete freed it.
    slot_ops = [e["op"] for e in events if e["table_name"] == "slots"]
    assert slot_ops == ["TAKEN", "RELEASED"]


async def test_event_commits_with_its_change_and_a_rollback_writes_none(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    head = await _head(owner_conn)
    writer = await connect(database_url, app_role=None)
    try:
        tx = writer.transaction()
        await tx.start()
        await make_appointment(writer, dentist_id=dentist["id"], on=DAY, at=time(9))
        # Not committed: neither the row nor its event is visible elsewhere.
        assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 0
        assert await _events(owner_conn, head) == []
        await tx.rollback()
        assert await _events(owner_conn, head) == []
        assert await owner_conn.fetchval("SELECT count(*) FROM appointments") == 0

        async with writer.transaction():
            await make_appointment(writer, dentist_id=dentist["id"], on=DAY, at=time(9))
            await make_appointment(writer, dentist_id=dentist["id"], on=DAY, at=time(10))
        events = await _events(owner_conn, head)
        # Each booking's row and the interval it took (different channels: their
        # relative order is not a promise, each channel's own order is).
        assert sorted(e["table_name"] for e in events) == ["appointments"] * 2 + ["slots"] * 2
        assert [e["record"]["time"] for e in events if e["table_name"] == "slots"] == [
            "09:00",
            "10:00",
        ]
        assert len({e["txid"] for e in events}) == 1
    finally:
        await writer.close()


async def test_no_op_update_writes_no_event(owner_conn: asyncpg.Connection) -> None:
    dentist = await make_dentist(owner_conn)
    head = await _head(owner_conn)
    await owner_conn.execute("UPDATE dentists SET name = name WHERE id = $1", dentist["id"])
    assert await _events(owner_conn, head) == []


async def test_seq_follows_commit_order_not_start_order(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    """T1 writes first but commits last: its event must come after T2's."""
    dentist = await make_dentist(owner_conn)
    head = await _head(owner_conn)
    t1 = await connect(database_url, app_role=None)
    t2 = await connect(database_url, app_role=None)
    try:
        tx1 = t1.transaction()
        await tx1.start()
        first = await make_appointment(t1, dentist_id=dentist["id"], on=DAY, at=time(9))
        async with t2.transaction():
            second = await make_appointment(t2, dentist_id=dentist["id"], on=DAY, at=time(10))
        await tx1.commit()
    finally:
        await t1.close()
        await t2.close()
    events = [e for e in await _events(owner_conn, head) if e["table_name"] == "appointments"]
    assert [e["record"]["id"] for e in events] == [str(second["id"]), str(first["id"])]
    assert events[0]["seq"] < events[1]["seq"]
    assert events[0]["committed_at"] <= events[1]["committed_at"]


async def test_horizon_waits_for_writers_that_drew_a_seq(
    database_url: str, owner_conn: asyncpg.Connection
) -> None:
    """A writer between drawing its seq and finishing its commit holds the horizon back."""
    await make_dentist(owner_conn)
    writer = await connect(database_url, app_role=None)
    reader = await connect(database_url, app_role="dentalcare_app")
    try:
        tx = writer.transaction()
        await tx.start()
        # What the event trigger does at commit: the shared lock, then a seq.
        await writer.execute("SELECT pg_advisory_xact_lock_shared(7216011)")
        drawn = await writer.fetchval("SELECT nextval('realtime_events_seq')")
        pending = asyncio.ensure_future(reader.fetchval("SELECT realtime_horizon()"))
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        async with asyncio.timeout(10):
            while await owner_conn.fetchval(waiting) == 0:  # noqa: ASYNC110 (another process)
                await asyncio.sleep(0.01)
        assert not pending.done()
        await tx.commit()
        assert await asyncio.wait_for(pending, 10) >= drawn
    finally:
        await writer.close()
        await reader.close()


async def test_writers_do_not_wait_for_each_other_and_do_not_notify(database_url: str) -> None:
    """Event writers share the lock (group commit stays possible) and send no NOTIFY.

    On a database of its own: a service's listener asking for the horizon while `first`
    holds its shared lock open (no real writer holds it past its commit) would queue an
    exclusive request that the second writer then has to wait behind."""
    name = f"{database_url.rsplit('/', 1)[1].split('?', 1)[0]}_writers"
    url = await asyncio.to_thread(create_database, database_url, name)
    owner = await connect(url, app_role=None)
    listener = await connect(url, app_role=None)
    first = await connect(url, app_role=None)
    try:
        dentist = await make_dentist(owner)
        heard: list[str] = []
        await listener.add_listener("realtime_events", lambda *args: heard.append(args[2]))
        tx = first.transaction()
        await tx.start()
        await first.execute("SELECT pg_advisory_xact_lock_shared(7216011)")
        async with asyncio.timeout(10):  # would hang if writers excluded each other
            await make_appointment(owner, dentist_id=dentist["id"], on=DAY, at=time(9))
        await tx.rollback()
        await listener.execute("SELECT 1")  # notifications arrive before a command's result
        assert heard == []
    finally:
        for conn in (first, listener, owner):
            await conn.close()
        await asyncio.to_thread(drop_database, database_url, name)


async def test_booking_reference_is_unique(owner_conn: asyncpg.Connection) -> None:
    dentist = await make_dentist(owner_conn)
    ref = reference()
    await make_appointment(
        owner_conn, dentist_id=dentist["id"], on=DAY, at=time(9), booking_reference=ref
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        await make_appointment(
            owner_conn, dentist_id=dentist["id"], on=DAY, at=time(11), booking_reference=ref
        )


async def test_claims_do_not_leak_between_transactions_on_one_connection(
    app_db: Database, two_patients: dict[str, asyncpg.Record]
) -> None:
    conn = await app_db.acquire()
    try:
        async with conn.transaction():
            await set_claims(conn, Claims("admin"))
            assert await conn.fetchval("SELECT count(*) FROM appointments") == 3
        assert await conn.fetchval("SELECT app_role()") == "anonymous"
        assert await conn.fetchval("SELECT count(*) FROM appointments") == 0
    finally:
        await app_db.release(conn)


async def test_slot_events_follow_bookings_cancellations_and_reschedules(
    owner_conn: asyncpg.Connection,
) -> None:
    dentist = await make_dentist(owner_conn)
    head = await _head(owner_conn)
    booked = await make_appointment(
        owner_conn, dentist_id=dentist["id"], on=DAY, at=time(9), notes="private"
    )
    await owner_conn.execute(
        "UPDATE appointments SET appointment_time = '11:00' WHERE id = $1", booked["id"]
    )
    await owner_conn.execute(
        "UPDATE appointments SET status = 'cancelled' WHERE id = $1", booked["id"]
    )
    slots = [e for e in await _events(owner_conn, head) if e["table_name"] == "slots"]
    assert [(e["op"], e["record"]["time"]) for e in slots] == [
        ("TAKEN", "09:00"),
        ("RELEASED", "09:00"),
        ("TAKEN", "11:00"),
        ("RELEASED", "11:00"),
    ]
    for event in slots:
        assert event["patient_id"] is None and event["old_record"] is None
        assert set(event["record"]) == {
            "dentist_id",
            "date",
            "time",
            "duration_minutes",
            "chair_id",
        }
        assert event["record"]["date"] == DAY.isoformat()
