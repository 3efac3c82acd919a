"""The database side of the realtime benchmark: the dental chain it seeds, the driver that
books and cancels at a fixed rate straight through SQL, the INSERT → NOTIFY → LISTEN
reference, and what each topic had to receive."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare.auth.passwords import hash_password

WORK_START, WORK_END, SLOT_MINUTES = 8, 18, 30
SLOTS_PER_DAY = (WORK_END - WORK_START) * 60 // SLOT_MINUTES
PROBE_CHANNEL = "bench_probe"
# Writers outside the service must wake its listeners the way another service process does:
# a bare NOTIFY on this channel after the commit (harmless where the trigger notifies too).
WAKE_LISTENERS = "NOTIFY realtime_events"


@dataclass
class Patient:
    """A patient who has a socket open on `appointments`."""

    id: UUID
    name: str
    email: str


@dataclass
class Clinic:
    """What was seeded."""

    dentists: list[tuple[UUID, UUID]]  # (dentist id, login user id)
    patients: list[Patient]
    admins: list[UUID]


async def seed(url: str, *, dentists: int, patients: int, admins: int) -> Clinic:
    """Dentists (with logins and weekly windows, every day 08:00-18:00), patients, admins;
    one password hash for all (nobody logs in: tokens are issued directly)."""
    password_hash = hash_password("bench-password-0")
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():

            async def users(role: str, count: int) -> list[asyncpg.Record]:
                rows: list[asyncpg.Record] = await conn.fetch(
                    """INSERT INTO users (email, password_hash, role, full_name, phone)
                       SELECT e, $2, $3, n, '+1 555 0100'
                       FROM unnest($1::text[]) WITH ORDINALITY AS t(e, i),
                            LATERAL (SELECT initcap($3) || ' ' || i AS n) AS names
                       ORDER BY i
                       RETURNING id, email, full_name""",
                    [f"{role}-{i}@bench.example" for i in range(1, count + 1)],
                    password_hash,
                    role,
                )
                return rows

            dentist_users = await users("dentist", dentists)
            dentist_rows = await conn.fetch(
                """INSERT INTO dentists (user_id, name, email, timezone, slot_minutes)
                   SELECT u, 'Dr ' || n, e, 'UTC', $4
                   FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(u, n, e)
                   RETURNING id, user_id""",
                [u["id"] for u in dentist_users],
                [u["full_name"] for u in dentist_users],
                [u["email"] for u in dentist_users],
                SLOT_MINUTES,
            )
            await conn.execute(
                """INSERT INTO dentist_availability
                       (dentist_id, day_of_week, start_time, end_time)
                   SELECT d, dow, $2, $3
                   FROM unnest($1::uuid[]) AS d, generate_series(0, 6) AS dow""",
                [d["id"] for d in dentist_rows],
                clock(WORK_START),
                clock(WORK_END),
            )
            patient_rows = await users("patient", patients)
            admin_rows = await users("admin", admins)
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {PROBE_CHANNEL} (
                        id bigserial PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())"""
            )
    finally:
        await conn.close()
    return Clinic(
        dentists=[(d["id"], d["user_id"]) for d in dentist_rows],
        patients=[Patient(p["id"], p["full_name"], p["email"]) for p in patient_rows],
        admins=[a["id"] for a in admin_rows],
    )


async def latest_seq(url: str) -> int:
    """The event log's head."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM realtime_events"))
    finally:
        await conn.close()


async def expected_by_topic(url: str, after: int) -> tuple[dict[str, list[int]], dict[str, int]]:
    """The seqs each topic must receive (events after `after`), and events per table/op.

    Topics: `admin` (every appointment), `dentist:<id>` and `patient:<id>` (theirs),
    `availability:<dentist id>` (slots and schedule changes of that dentist)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """SELECT seq, table_name, op, dentist_id, patient_id FROM realtime_events
               WHERE seq > $1 ORDER BY seq""",
            after,
        )
    finally:
        await conn.close()
    topics: dict[str, list[int]] = defaultdict(list)
    kinds: dict[str, int] = defaultdict(int)
    for row in rows:
        seq = row["seq"]
        kinds[f"{row['table_name']}:{row['op']}"] += 1
        if row["table_name"] == "appointments":
            topics["admin"].append(seq)
            topics[f"dentist:{row['dentist_id']}"].append(seq)
            if row["patient_id"] is not None:
                topics[f"patient:{row['patient_id']}"].append(seq)
        elif row["dentist_id"] is not None:
            topics[f"availability:{row['dentist_id']}"].append(seq)
    return dict(topics), dict(kinds)


@dataclass
class DriveReport:
    """What the driver committed."""

    bookings: int = 0
    cancellations: int = 0
    failures: int = 0
    seconds: float = 0.0
    commit_ms: list[float] = field(default_factory=list)
    max_lag_ms: float = 0.0


class Driver:
    """Bookings (and a share of cancellations) at `rate` per second for `seconds`, spread
    round-robin over the dentists, each for a random connected patient; every change is one
    single-statement transaction as the database owner (the trigger logs it at commit),
    followed by a NOTIFY to wake the service's listener as another service process would."""

    def __init__(
        self,
        url: str,
        clinic: Clinic,
        *,
        rate: float,
        seconds: float,
        cancel_share: float,
        workers: int = 8,
        seed: int = 20260,
    ) -> None:
        self.url = url
        self.clinic = clinic
        self.rate = rate
        self.seconds = seconds
        self.cancel_share = cancel_share
        self.workers = workers
        self.rng = random.Random(seed)
        self.first_day = datetime.now(UTC).date() + timedelta(days=1)
        self.next_slot = [0] * len(clinic.dentists)
        self.active: list[UUID] = []
        self.report = DriveReport()
        self.changes_made = 0  # over every run: the next one goes on numbering from here

    def _slot(self, dentist: int) -> tuple[date, clock]:
        index = self.next_slot[dentist]
        self.next_slot[dentist] += 1
        day, slot = divmod(index, SLOTS_PER_DAY)
        minutes = WORK_START * 60 + slot * SLOT_MINUTES
        return self.first_day + timedelta(days=day), clock(minutes // 60, minutes % 60)

    async def _change(self, conn: asyncpg.Connection, number: int) -> None:
        if self.active and self.rng.random() < self.cancel_share:
            victim = self.active.pop(self.rng.randrange(len(self.active)))
            await conn.execute(
                """UPDATE appointments SET status = 'cancelled', cancelled_at = now(),
                          cancellation_reason = 'bench' WHERE id = $1""",
                victim,
            )
            self.report.cancellations += 1
            return
        dentist = number % len(self.clinic.dentists)
        patient = self.clinic.patients[self.rng.randrange(len(self.clinic.patients))]
        on, at = self._slot(dentist)
        appointment_id = await conn.fetchval(
            """INSERT INTO appointments (booking_reference, dentist_id, patient_id,
                   patient_name, patient_email, patient_phone, appointment_date,
                   appointment_time, duration_minutes, status, booking_source)
               VALUES ($1, $2, $3, $4, $5, '+1 555 0100', $6, $7, $8, 'pending', 'manual')
               RETURNING id""",
            f"DC-B{number:07d}",
            self.clinic.dentists[dentist][0],
            patient.id,
            patient.name,
            patient.email,
            on,
            at,
            SLOT_MINUTES,
        )
        self.active.append(appointment_id)
        self.report.bookings += 1

    async def run(self) -> DriveReport:
        """Drive for `seconds`; what was committed."""
        pool = await asyncpg.create_pool(self.url, min_size=self.workers, max_size=self.workers)
        assert pool is not None
        loop = asyncio.get_running_loop()
        first = self.changes_made
        numbers = itertools.count(first)
        start = loop.time()
        end = start + self.seconds
        report = self.report

        async def work(conn: asyncpg.Connection) -> None:
            while True:
                number = next(numbers)
                due = start + (number - first) / self.rate
                if due >= end:
                    return
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                report.max_lag_ms = max(report.max_lag_ms, (loop.time() - due) * 1000)
                began = time.perf_counter()
                try:
                    await self._change(conn, number)
                    await conn.execute(WAKE_LISTENERS)
                except asyncpg.PostgresError:
                    report.failures += 1
                report.commit_ms.append((time.perf_counter() - began) * 1000)

        try:
            conns = [await pool.acquire() for _ in range(self.workers)]
            await asyncio.gather(*(work(conn) for conn in conns))
            for conn in conns:
                await pool.release(conn)
            await pool.close()
        finally:
            pool.terminate()  # after an error or Ctrl-C: do not wait for busy connections
        report.seconds = loop.time() - start
        self.changes_made = next(numbers)  # past every number a worker took
        return report


async def notify_round_trips(
    url: str, *, samples: int, interval: float, stop: asyncio.Event | None = None
) -> list[float]:
    """The floor: INSERT → NOTIFY → LISTEN on the same database, in ms, measured like the
    events (receive time minus a `clock_timestamp()` taken in the committing transaction)."""
    listener = await asyncpg.connect(url)
    sender = await asyncpg.connect(url)
    arrivals: asyncio.Queue[tuple[float, str]] = asyncio.Queue()

    def heard(conn: Any, pid: int, channel: str, payload: str) -> None:
        arrivals.put_nowait((time.time(), payload))

    out: list[float] = []
    try:
        await listener.add_listener(PROBE_CHANNEL, heard)
        for _ in range(samples):
            if stop is not None and stop.is_set():
                break
            await sender.execute(
                f"""WITH probe AS (INSERT INTO {PROBE_CHANNEL} DEFAULT VALUES RETURNING at)
                    SELECT pg_notify('{PROBE_CHANNEL}', extract(epoch FROM at)::text)
                    FROM probe"""
            )
            async with asyncio.timeout(10):
                received, payload = await arrivals.get()
            out.append((received - float(payload)) * 1000.0)
            await asyncio.sleep(interval)
    finally:
        await listener.close()
        await sender.close()
    return out
