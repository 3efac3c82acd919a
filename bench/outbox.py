"""Outbox benchmark (issue 13): reminders delivered over SMTP, and what the outbox costs a
booking.

    .venv/bin/python -m bench.outbox              # 10,000 reminders; booking --quick twice
    .venv/bin/python -m bench.outbox --messages 2000 --skip-booking

* delivery: N reminders (default 10,000) all due in the same minute are written to the
  outbox of a throw-away embedded PostgreSQL; then 1, and in a second round 2, worker
  processes (the service's own OutboxWorker, one SMTP connection each) deliver them to
  a local aiosmtpd server running as a process of its own, which notes when it accepted
  each Message-ID. Figures: messages/s (N / (last accepted - first due)) and
  due→accepted p50/p99. Same-run floor: one bare aiosmtplib connection sending the same
  number of pre-built messages to the same server.
* booking: `python -m bench.booking --quick` with the outbox (every booking writes its
  received message and reminders, the workers capture them) and with
  DENTALCARE_EMAIL_ENABLED=false (no outbox); the ratio of bookings/s (target: the
  outbox costs at most 15 %).

One JSON line on stdout (also bench/results/outbox.json), with the machine's CPU model;
progress on stderr. The machine may be shared: see loadavg in the line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import orjson

from bench.common import (
    RESULTS,
    ROOT,
    Postgres,
    embedded_postgres,
    free_port,
    log,
    machine,
    percentiles,
    tree_cpu_seconds,
)

TARGET_COST = 0.15


# ----------------------------------------------------------------------------- processes


def smtp_server_main(port: int, out: str) -> None:
    """An aiosmtpd server that writes 'Message-ID accepted-at' lines to `out` until killed."""
    from aiosmtpd.controller import Controller

    handle = open(out, "a", buffering=1)  # noqa: SIM115

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            content: bytes = envelope.content
            for line in content.split(b"\n", 40)[:40]:
                if line.lower().startswith(b"message-id:"):
                    handle.write(f"{line.split(b':', 1)[1].strip().decode()} {time.time()}\n")
                    break
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


async def worker_main(database_url: str, smtp_url: str) -> None:
    """One outbox worker (as in the service) delivering until killed."""
    from dentalcare.db.pool import Database
    from dentalcare.outbox.transports import SmtpTransport
    from dentalcare.outbox.worker import DeliveryPolicy, OutboxWorker

    db = await Database.open(database_url, app_role="dentalcare_app", min_size=1, max_size=2)
    worker = OutboxWorker(
        unit_of_work=db.unit_of_work,
        mail=SmtpTransport(smtp_url),
        sms=None,
        policy=DeliveryPolicy(mail_from="clinic@example.com", poll_seconds=0.05),
    )
    worker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


def _spawn(*args: str, log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.outbox", *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_ready(log_path: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while b"ready" not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log_path.name}: {log_path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)


# ----------------------------------------------------------------------------- delivery


async def _enqueue_reminders(url: str, count: int, due: datetime) -> None:
    from dentalcare.db.claims import SYSTEM
    from dentalcare.db.pool import Database
    from dentalcare.outbox import enqueue

    context = {
        "clinic": {"name": "Bench Dental", "address": "1 Bench St", "phone": ""},
        "patient_name": "Pat Bench",
        "dentist_name": "Dr Bench",
        "treatment": "Check-up",
        "reference": "DC-BENCH01",
        "when": "Tuesday 15 December 2026, 09:30 (Europe/Berlin, CET)",
    }
    db = await Database.open(url, app_role="dentalcare_app", min_size=1, max_size=4)
    try:
        for start in range(0, count, 1000):
            async with db.unit_of_work(SYSTEM) as uow:
                conn = await uow.connection()
                for n in range(start, min(count, start + 1000)):
                    await enqueue(
                        conn,
                        kind="reminder",
                        to_email=f"patient{n}@example.com",
                        context=context,
                        due_at=due,
                    )
    finally:
        await db.close(grace_seconds=1)


async def _due_at(url: str) -> dict[str, float]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT message_id, due_at FROM messages WHERE status = 'sent'")
        return {r["message_id"]: r["due_at"].timestamp() for r in rows}
    finally:
        await conn.close()


async def _reset(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE messages")
    finally:
        await conn.close()


def delivery_round(pg: Postgres, smtp_port: int, workers: int, count: int, tmp: Path) -> dict:
    """`workers` worker processes deliver `count` reminders due in the same minute. CPU
    per message, from the due instant to the last acceptance: the workers', PostgreSQL's
    (every backend) and the SMTP server's."""
    url = pg.url
    asyncio.run(_reset(url))
    accepted_file = tmp / f"accepted-{workers}.txt"
    smtp_log = tmp / f"smtp-{workers}.log"
    smtp = _spawn("--smtp-server", str(smtp_port), str(accepted_file), log_path=smtp_log)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _wait_ready(smtp_log, smtp)
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        log(f"{workers} worker(s): writing {count} reminders due at {due:%H:%M:%S}")
        asyncio.run(_enqueue_reminders(url, count, due))
        for n in range(workers):
            path = tmp / f"worker-{workers}-{n}.log"
            procs.append(_spawn("--worker", url, f"smtp://127.0.0.1:{smtp_port}", log_path=path))
            _wait_ready(path, procs[-1])
        time.sleep(max(0.0, due.timestamp() - time.time()))

        def cpu() -> tuple[float, float, float]:
            return (
                sum(tree_cpu_seconds(p.pid) for p in procs),
                pg.cpu_seconds(),
                tree_cpu_seconds(smtp.pid),
            )

        cpu_from = cpu()
        deadline = time.monotonic() + 600
        while True:
            lines = accepted_file.read_text().splitlines() if accepted_file.exists() else []
            if len(lines) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # the last "sent" marks commit
        cpu_to = cpu()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        smtp.kill()
        smtp.wait()
    accepted = {}
    for line in accepted_file.read_text().splitlines():
        mid, at = line.rsplit(" ", 1)
        accepted.setdefault(mid, float(at))
    due_at = asyncio.run(_due_at(url))
    lat = [(accepted[m] - due_at[m]) * 1000 for m in accepted if m in due_at]
    first_due = min(due_at.values()) if due_at else 0.0
    last = max(accepted.values()) if accepted else 0.0
    elapsed = last - first_due
    return {
        "workers": workers,
        "messages": count,
        "accepted": len(accepted),
        "duplicates": len(accepted_file.read_text().splitlines()) - len(accepted),
        "per_s": round(len(accepted) / elapsed, 1) if elapsed > 0 else None,
        "due_to_accepted": percentiles(lat),
        "cpu_ms_per_message": {
            party: round(1000 * (cpu_to[i] - cpu_from[i]) / max(1, len(accepted)), 3)
            for i, party in enumerate(("workers", "postgres", "smtp_server"))
        },
    }


async def _floor(port: int, count: int) -> dict:
    import aiosmtplib

    mails = []
    for n in range(count):
        mail = EmailMessage()
        mail["Message-ID"] = f"<floor-{n}@bench>"
        mail["From"] = "clinic@example.com"
        mail["To"] = f"patient{n}@example.com"
        mail["Subject"] = "Reminder"
        mail.set_content("A reminder of your appointment.")
        mail.add_alternative("<p>A reminder of your appointment.</p>", subtype="html")
        mails.append(mail)
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await client.connect()
    started = time.perf_counter()
    for mail in mails:
        await client.send_message(mail)
    elapsed = time.perf_counter() - started
    await client.quit()
    return {"messages": count, "per_s": round(count / elapsed, 1)}


def floor_round(port: int, count: int, tmp: Path) -> dict:
    """Bare aiosmtplib to the same kind of server: what SMTP alone allows."""
    smtp_log = tmp / "smtp-floor.log"
    smtp = _spawn("--smtp-server", str(port), str(tmp / "accepted-floor.txt"), log_path=smtp_log)
    try:
        _wait_ready(smtp_log, smtp)
        return asyncio.run(_floor(port, count))
    finally:
        smtp.kill()
        smtp.wait()


# ----------------------------------------------------------------------------- booking


def booking_round(no_email: bool, tmp: Path) -> dict:
    """bench.booking --quick, its booking figures."""
    args = [sys.executable, "-m", "bench.booking", "--quick", "--output", str(tmp / "b.json")]
    if no_email:
        args.append("--no-email")
    done = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=1200, check=False)
    line = done.stdout.decode().strip().splitlines()[-1] if done.stdout.strip() else "{}"
    result = orjson.loads(line)
    booking = result.get("booking", {})
    return {
        "outbox": not no_email,
        "per_s": booking.get("per_s"),
        "p99_ms": booking.get("latency", {}).get("p99_ms"),
    }


def benchmark(args: argparse.Namespace) -> dict:
    import tempfile

    result: dict[str, Any] = {"benchmark": "outbox", "machine": machine()}
    tmp = Path(tempfile.mkdtemp(prefix="dentalcare-bench-outbox-"))
    with embedded_postgres() as pg:
        port = free_port()
        result["floor_bare_aiosmtplib"] = floor_round(port, min(args.messages, 5000), tmp)
        log(f"floor: {result['floor_bare_aiosmtplib']}")
        rounds = []
        for workers in (1, 2):
            rounds.append(delivery_round(pg, free_port(), workers, args.messages, tmp))
            log(f"delivery: {rounds[-1]}")
        result["delivery"] = rounds
    if not args.skip_booking:
        with_outbox = booking_round(False, tmp)
        without = booking_round(True, tmp)
        cost = (
            1 - with_outbox["per_s"] / without["per_s"]
            if with_outbox["per_s"] and without["per_s"]
            else None
        )
        result["booking"] = {
            "with_outbox": with_outbox,
            "without_outbox": without,
            "cost": round(cost, 3) if cost is not None else None,
            "target_cost_max": TARGET_COST,
            "met": cost is not None and cost <= TARGET_COST,
        }
        log(f"booking: {result['booking']}")
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--smtp-server"]:
        smtp_server_main(int(argv[1]), argv[2])
        return 0
    if argv[:1] == ["--worker"]:
        asyncio.run(worker_main(argv[1], argv[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="reminders (10,000)")
    parser.add_argument("--skip-booking", action="store_true", help="delivery figures only")
    parser.add_argument("--output", default=str(RESULTS / "outbox.json"), help="JSON file")
    args = parser.parse_args(argv)
    result = benchmark(args)
    line = orjson.dumps(result).decode()
    Path(args.output).write_text(line + "\n")
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
