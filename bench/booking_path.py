"""The booking path's own cost, one booking at a time (issues 13 and 17).

    .venv/bin/python -m bench.booking_path                  # 3 x 1,500 bookings
    .venv/bin/python -m bench.booking_path --bookings 600   # quicker

`bench.booking` drives the HTTP service with 32 clients, and on a 2-core machine its
throughput moves with whatever else the machine does. This one asks a narrower question
that holds still: what does the service's booking code (`appointments.service.
book_appointment`, in this process, no HTTP) cost per booking, in this process's CPU
and in its PostgreSQL backend's CPU (read from /proc), against the bare INSERT in the
same run? One connection, one booking at a time, the variants interleaved booking by
booking, so a slow minute slows all of them alike:

* `reference`: BEGIN, the guest's claims, the INSERT, COMMIT as the restricted role
  (bench.booking's asyncpg reference);
* `service`: the service's guest booking with e-mail off (the slot check, the overlap
  check, the insert);
* `service_email`: the same with e-mail on: the booking's messages (received and two
  reminders) written in its transaction, no worker sending them;
* `service_email_sent`: the same, and then its confirmation delivered by the service's
  own worker (`OutboxWorker.run_once`: claim, render, build, keep the captured copy as
  `make run` does without SMTP, mark sent) on the same connection.

Ratios: `service` over `reference` (the booking path against the database's own cost,
issue 17), `service_email` over `service` (what writing the outbox costs a booking,
issue 13), `service_email_sent` over `service` (writing and delivering). On a machine
whose cores are the limit, bookings/s falls by as much as CPU per booking grows.
Each booking is for a distinct free slot of 50 dentists (windows 08:00-20:00, every day),
in a clinic seeded as bench.booking seeds it. One JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any, cast
from uuid import UUID, uuid4

import asyncpg

from bench.booking import _reference, _seed
from bench.common import APP_ROLE, code_version, embedded_postgres, log, machine, percentiles

TIMEZONE = "Europe/Berlin"
VARIANTS = ("reference", "service", "service_email", "service_email_sent")


def _backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one PostgreSQL backend."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Unthrottled:
    """A Throttle that lets everything through (the bench measures the path, not limits)."""

    address = "198.51.100.7"

    def booking(self, user_id: UUID | None) -> None:
        return None


async def _measure(url: str, *, bookings: int, seed: int) -> dict[str, Any]:
    from dentalcare.appointments.repository import INSERTABLE
    from dentalcare.appointments.schemas import AppointmentCreate
    from dentalcare.appointments.service import book_appointment
    from dentalcare.config import Settings
    from dentalcare.db.claims import Claims, set_claims
    from dentalcare.db.pool import Database
    from dentalcare.ratelimit import Throttle

    common = {
        "database_url": url,
        "secret_key": "bench-secret-key-" + "x" * 48,
        "min_notice_minutes": 0,
        "clinic_timezone": TIMEZONE,
        "rate_limits_enabled": False,
    }
    settings = {
        "service": Settings(**common, email_enabled=False),  # type: ignore[arg-type]
        "service_email": Settings(**common, email_enabled=True),  # type: ignore[arg-type]
        "service_email_sent": Settings(**common, email_enabled=True),  # type: ignore[arg-type]
    }
    throttle = cast(Throttle, _Unthrottled())
    from dentalcare.outbox.transports import CaptureTransport
    from dentalcare.outbox.worker import DeliveryPolicy, OutboxWorker

    owner = await asyncpg.connect(url)
    dentists = [row["id"] for row in await owner.fetch("SELECT id FROM dentists ORDER BY id")]
    db = await Database.open(url, app_role=APP_ROLE, min_size=1, max_size=1)
    worker = OutboxWorker(
        unit_of_work=db.unit_of_work,
        mail=CaptureTransport(),
        sms=None,
        policy=DeliveryPolicy(mail_from="clinic@example.com"),
    )
    insert_sql = (
        f"INSERT INTO appointments ({', '.join(INSERTABLE)}) "
        f"VALUES ({', '.join(f'${i}' for i in range(1, len(INSERTABLE) + 1))}) RETURNING *"
    )
    # Distinct free slots: days after the seeded ones, 24 half-hours a day per dentist.
    first = datetime.now(UTC).date() + timedelta(days=10)
    slots = [
        (dentist, first + timedelta(days=k), dtime(8 + m // 2, 30 * (m % 2)))
        for dentist in dentists
        for k in range(-(-bookings * len(VARIANTS) // (len(dentists) * 24)) + 1)
        for m in range(24)
    ]
    random.Random(seed).shuffle(slots)
    wall: dict[str, list[float]] = {v: [] for v in VARIANTS}
    pg_cpu = dict.fromkeys(VARIANTS, 0.0)
    py_cpu = dict.fromkeys(VARIANTS, 0.0)
    try:
        async with db.unit_of_work(Claims("anonymous")) as uow:
            pid = await (await uow.connection()).fetchval("SELECT pg_backend_pid()")
        now = datetime.now(UTC)
        for i in range(bookings * len(VARIANTS)):
            variant = VARIANTS[i % len(VARIANTS)]
            dentist, day, at = slots[i]
            email = f"path-{i}@example.com"
            request = AppointmentCreate(
                dentist_id=dentist,
                appointment_date=day,
                appointment_time=at,
                patient_name=f"Path Guest {i}",
                patient_email=email,
                patient_phone="+49 30 1234567",
            )
            pg0, py0, t0 = _backend_cpu(pid), time.process_time(), time.perf_counter()
            if variant == "reference":
                conn = await db.acquire()
                try:
                    async with conn.transaction():
                        await set_claims(conn, Claims("anonymous", guest_email=email))
                        values = {
                            **request.model_dump(),
                            "id": uuid4(),
                            "booking_reference": _reference("P", i),
                            "booking_source": "manual",
                            "duration_minutes": 30,
                            "buffer_before_minutes": 0,
                            "buffer_after_minutes": 0,
                        }
                        await conn.fetchrow(insert_sql, *(values.get(c) for c in INSERTABLE))
                finally:
                    await db.release(conn)
            else:
                async with db.unit_of_work(Claims("anonymous")) as uow:
                    await book_appointment(
                        uow=uow,
                        settings=settings[variant],
                        throttle=throttle,
                        caller=None,
                        request=request,
                        now=now,
                    )
                if variant == "service_email_sent":
                    sent = await worker.run_once()
                    assert sent == 1, f"the worker claimed {sent} messages, not the one due"
            wall[variant].append((time.perf_counter() - t0) * 1000)
            py_cpu[variant] += time.process_time() - py0
            pg_cpu[variant] += _backend_cpu(pid) - pg0
            if variant == "service_email":
                # Unmeasured: its confirmation is not the next delivered variant's to send.
                await owner.execute(
                    "UPDATE messages SET status = 'cancelled' WHERE status = 'scheduled' "
                    "AND due_at <= now()"
                )
        counts = await owner.fetchrow(
            "SELECT (SELECT count(*) FROM appointments WHERE patient_email LIKE 'path-%') AS a,"
            " (SELECT count(*) FROM messages WHERE to_address LIKE 'path-%') AS m"
        )
    finally:
        await db.close()
        await owner.close()
    figures: dict[str, Any] = {}
    for variant in VARIANTS:
        n = len(wall[variant])
        figures[variant] = {
            "bookings": n,
            "latency": percentiles(wall[variant]),
            "python_cpu_ms": round(1000 * py_cpu[variant] / n, 3),
            "postgres_cpu_ms": round(1000 * pg_cpu[variant] / n, 3),
            "cpu_ms": round(1000 * (py_cpu[variant] + pg_cpu[variant]) / n, 3),
        }
    figures["rows"] = {"appointments": counts["a"], "messages": counts["m"]}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=1500, help="per variant (1,500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", default=None, help="append the JSON line to this file")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "benchmark": "booking_path",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code_version(),
        "options": {"bookings_per_variant": args.bookings, "timezone": TIMEZONE},
    }
    with embedded_postgres() as pg:
        asyncio.run(_seed(pg.url, timezone=TIMEZONE, booked_days=2, booked_share=0.5))
        log(f"booking {args.bookings} x {len(VARIANTS)} times, interleaved")
        result.update(asyncio.run(_measure(pg.url, bookings=args.bookings, seed=args.seed)))

    def ratio(a: str, b: str, field: str) -> float:
        return round(result[a][field] / result[b][field], 3)

    result["ratio"] = {
        "service_cpu_over_reference": ratio("service", "reference", "cpu_ms"),
        "service_p50_over_reference": round(
            result["service"]["latency"]["p50_ms"] / result["reference"]["latency"]["p50_ms"], 3
        ),
        "email_cpu_over_service": ratio("service_email", "service", "cpu_ms"),
        "email_sent_cpu_over_service": ratio("service_email_sent", "service", "cpu_ms"),
        "email_p50_over_service": round(
            result["service_email"]["latency"]["p50_ms"] / result["service"]["latency"]["p50_ms"],
            3,
        ),
    }
    expected = {"appointments": 4 * args.bookings, "messages": 6 * args.bookings}
    result["rows_as_expected"] = result["rows"] == expected
    line = json.dumps(result)
    print(line)
    if args.output:
        with open(args.output, "a") as out:
            out.write(line + "\n")
    return 0 if result["rows_as_expected"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
