"""Booking-assistant evaluation: scripted conversations with expected outcomes.

Runs every conversation of the given JSONL files (default: `bench/conversations.jsonl`
and the sets in `tests/chatbot/conversations/`; format in `dentalcare.chatbot.evaluation`)
and prints ONE JSON line: the task success rate (a conversation succeeds when every turn,
its outcome and the safety invariants hold) overall, per set and per category — the
held-out sets, written before the rules were run and never tuned on, apart — and the turn
latency (median, p99) beside a reference measured on the same turns in the same run: the
understanding alone (rules + dateparser + RapidFuzz), so `ratio` says what the dialogue,
the slot search and the clinic add on top.

    .venv/bin/python -m bench.chatbot_eval                     # in-memory clinic (pure)
    .venv/bin/python -m bench.chatbot_eval --clinic service    # real services + PostgreSQL

`--clinic service` starts an embedded PostgreSQL, migrates it, seeds the demo dentists
and drives `chatbot.service` (sessions persisted, bookings through the booking service,
RLS on): the whole turn minus HTTP. Its extra reference is a bare `SELECT 1` round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.common import machine
from dentalcare.chatbot.evaluation import MemoryDriver, Result, load, run_conversation
from dentalcare.chatbot.memory import DEMO_DENTISTS
from dentalcare.chatbot.when import warm_up

HERE = Path(__file__).resolve().parent
SETS = HERE.parent / "tests" / "chatbot" / "conversations"
DEFAULT_FILES = [HERE / "conversations.jsonl", *sorted(SETS.glob("*.jsonl"))]
FRIDAY_MORNING = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)


def log(message: str) -> None:
    """Progress to stderr; stdout carries only the JSON line."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))]


def figures(values: list[float]) -> dict[str, float]:
    """p50, p99 and max in milliseconds."""
    if not values:
        return {}
    return {
        "p50_ms": round(statistics.median(values), 3),
        "p99_ms": round(quantile(values, 0.99), 3),
        "max_ms": round(max(values), 3),
    }


# ----------------------------------------------------------------------------- memory


async def run_memory(specs: list[dict[str, Any]], rounds: int) -> tuple[list[Result], list[float]]:
    """Every conversation `rounds` times on a fresh in-memory clinic."""
    results: list[Result] = []
    reference: list[float] = []
    for _ in range(rounds):
        for spec in specs:
            driver = MemoryDriver(FRIDAY_MORNING)
            results.append(await run_conversation(driver, spec))
            reference += driver.understanding_ms
    return results, reference


# ----------------------------------------------------------------------------- service


class ServiceDriver:
    """Drives `chatbot.service` directly on a real database (no HTTP)."""

    def __init__(self, db: Any, settings: Any, owner: Any, patient: Any) -> None:
        from dentalcare.chatbot.understanding import Context, RuleBasedUnderstanding

        self.db, self.settings, self.owner, self.patient = db, settings, owner, patient
        self.session_id: UUID | None = None
        self.caller: Any = None
        self.understanding = RuleBasedUnderstanding()
        self.context_type = Context
        self.understanding_ms: list[float] = []
        from dentalcare.chatbot.service import TurnLimiter

        self.turns = TurnLimiter(limit=4)

    async def existing_booking(self, *, logged_in: bool) -> dict[str, Any]:
        """An appointment in the first free slot of Dr Smith three days ahead."""
        from dentalcare.appointments.service import new_reference
        from dentalcare.availability.service import free_slots
        from dentalcare.db.claims import ANONYMOUS

        smith = await self.owner.fetchval("SELECT id FROM dentists WHERE name = 'Dr Sarah Smith'")
        day = datetime.now(UTC).date() + timedelta(days=3)
        async with self.db.unit_of_work(ANONYMOUS, read_only=True) as uow:
            slots = await free_slots(
                uow=uow, settings=self.settings, dentist_id=smith, start=day, end=day
            )
        slot = slots[0]
        reference = new_reference()
        email = self.patient.email if logged_in else "guest.booker@example.com"
        await self.owner.execute(
            """INSERT INTO appointments (booking_reference, dentist_id, patient_id, patient_name,
                   patient_email, patient_phone, appointment_date, appointment_time,
                   duration_minutes, booking_source)
               VALUES ($1, $2, $3, 'Guest Booker', $4, '+1 555 0199', $5, $6, 30, 'manual')""",
            reference,
            smith,
            self.patient.user_id if logged_in else None,
            email,
            slot.date,
            slot.time,
        )
        return {"booking_reference": reference, "patient_email": email}

    async def start(self, *, logged_in: bool) -> dict[str, Any]:
        """Open a session."""
        from dentalcare.chatbot import service
        from dentalcare.db.claims import ANONYMOUS
        from dentalcare.ratelimit import UNLIMITED

        self.caller = self.patient if logged_in else None
        async with self.db.unit_of_work(ANONYMOUS) as uow:
            body = await service.start_session(
                uow=uow, settings=self.settings, throttle=UNLIMITED, caller=self.caller
            )
        self.session_id = UUID(body["session_id"])
        return body

    async def send(self, text: str) -> dict[str, Any]:
        """One turn, and the understanding alone on the same text (the reference)."""
        from dentalcare.chatbot import service
        from dentalcare.chatbot.dialogue import Dialogue
        from dentalcare.chatbot.ports import DentistInfo
        from dentalcare.chatbot.state import ChatState
        from dentalcare.db.claims import ANONYMOUS
        from dentalcare.ratelimit import UNLIMITED

        assert self.session_id is not None
        row = await self.owner.fetchrow(
            "SELECT state FROM chat_sessions WHERE id = $1", self.session_id
        )
        state = ChatState.from_json(row["state"])
        directory = [
            DentistInfo(r["id"], r["name"], r["specialization"])
            for r in await self.owner.fetch("SELECT id, name, specialization FROM dentists")
        ]
        context = self.context_type(
            today=datetime.now(UTC).date(),
            directory=directory,
            expecting=Dialogue._expecting(state),
            missing=state.missing_details(),
        )
        began = time.perf_counter()
        self.understanding.parse_now(text, context)
        self.understanding_ms.append((time.perf_counter() - began) * 1000)
        async with self.db.unit_of_work(ANONYMOUS) as uow:
            return await service.post_message(
                uow=uow,
                settings=self.settings,
                turns=self.turns,
                throttle=UNLIMITED,
                caller=self.caller,
                session_id=self.session_id,
                text=text,
            )

    async def take(self, slot: dict[str, Any]) -> None:
        """Someone else books the slot through the booking service."""
        from dentalcare.appointments.schemas import AppointmentCreate
        from dentalcare.appointments.service import book_appointment
        from dentalcare.db.claims import ANONYMOUS
        from dentalcare.ratelimit import UNLIMITED

        request = AppointmentCreate(
            dentist_id=slot["dentist_id"],
            appointment_date=slot["date"],
            appointment_time=slot["time"],
            patient_name="Someone Else",
            patient_email="someone.else@example.com",
            patient_phone="+1 555 0100",
        )
        async with self.db.unit_of_work(ANONYMOUS) as uow:
            await book_appointment(
                uow=uow, settings=self.settings, throttle=UNLIMITED, caller=None, request=request
            )

    async def lapse_holds(self) -> None:
        """Every live hold lapses (its expiry moves to a second ago)."""
        await self.owner.execute(
            "UPDATE holds SET expires_at = least(expires_at, clock_timestamp() - interval '1 s')"
        )

    def clock(self) -> datetime:
        """The real clock."""
        return datetime.now(UTC)

    def facts(self) -> Any:
        """What the settings publish about the clinic."""
        from dentalcare.chatbot.clinic import facts_from_settings

        return facts_from_settings(self.settings)


@contextmanager
def embedded_database() -> Iterator[str]:
    """A migrated throw-away embedded PostgreSQL; its owner URL."""
    from dentalcare.db import migrate
    from dentalcare.db.embedded import start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="dentalcare-chat-eval-"))
    embedded = None
    try:
        embedded = start_embedded(tmp / "pgdata", delete_on_stop=True)
        migrate.upgrade(embedded.url)
        yield embedded.url
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def seed_treatments(owner: Any, dentist_ids: list[UUID]) -> None:
    """The demo clinic's treatment types (lengths, buffers and performers; no prices, as
    the in-memory facts' prices are the memory clinic's), Check-up the default."""
    from dentalcare.demo.service import DEFAULT_TREATMENT, DENTISTS, TREATMENTS

    by_name = {d[0]: dentist_ids[i] for i, d in enumerate(DENTISTS)}
    for name, minutes, before, after, recall, _price, who, description in TREATMENTS:
        treatment_id = await owner.fetchval(
            """INSERT INTO treatment_types (name, description, duration_minutes,
                   buffer_before_minutes, buffer_after_minutes, recall_months)
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            name,
            description,
            minutes,
            before,
            after,
            recall,
        )
        await owner.execute(
            """INSERT INTO treatment_dentists (treatment_type_id, dentist_id)
               SELECT $1, d FROM unnest($2::uuid[]) AS d""",
            treatment_id,
            [by_name[w] for w in who],
        )
        if name == DEFAULT_TREATMENT:
            await owner.execute(
                "UPDATE clinic_settings SET default_treatment_type_id = $1", treatment_id
            )


async def run_service(
    url: str, specs: list[dict[str, Any]], rounds: int, *, treatments: bool = True
) -> tuple[list[Result], list[float], list[float]]:
    """Every conversation `rounds` times through the real services (with the demo
    clinic's treatment types unless `treatments` is false: then every visit is the
    migrated standard type)."""
    from dentalcare.auth.tokens import Principal
    from dentalcare.config import Settings
    from dentalcare.db.claims import ANONYMOUS
    from dentalcare.db.pool import Database, connect

    settings = Settings.model_validate(
        {"env": "test", "database_url": url, "secret_key": "x" * 40, "min_notice_minutes": 0}
    )
    owner = await connect(url, app_role=None)
    db = await Database.open(url, app_role=settings.app_db_role, min_size=2, max_size=10)
    try:
        seeded = []
        for name, specialization in DEMO_DENTISTS:
            email = name.lower().replace(" ", ".").replace("dr.", "dr.") + "@example.com"
            dentist = await owner.fetchval(
                """INSERT INTO dentists (name, email, specialization) VALUES ($1, $2, $3)
                   RETURNING id""",
                name,
                email,
                specialization,
            )
            seeded.append(dentist)
            for day in range(7):
                await owner.execute(
                    """INSERT INTO dentist_availability (dentist_id, day_of_week, start_time,
                       end_time) VALUES ($1, $2, $3, $4)""",
                    dentist,
                    day,
                    clock(9),
                    clock(17),
                )
        if treatments:
            await seed_treatments(owner, seeded)
        user = await owner.fetchrow(
            """INSERT INTO users (email, password_hash, role, full_name, phone)
               VALUES ('alice@example.com', 'x', 'patient', 'Alice Patient', '+1 555 0101')
               RETURNING *"""
        )
        patient = Principal(
            user_id=user["id"],
            role="patient",
            email=user["email"],
            full_name=user["full_name"],
            phone=user["phone"],
            dentist_id=None,
            token_expires_at=int(time.time()) + 3600,
        )
        round_trips = []
        for _ in range(200):
            began = time.perf_counter()
            async with db.unit_of_work(ANONYMOUS, read_only=True) as uow:
                await (await uow.connection()).fetchval("SELECT 1")
            round_trips.append((time.perf_counter() - began) * 1000)
        results: list[Result] = []
        reference: list[float] = []
        for index in range(rounds):
            log(f"round {index + 1}/{rounds}")
            for spec in specs:
                # every conversation starts in the same clinic, as in memory mode
                await owner.execute("TRUNCATE appointments, chat_sessions, realtime_events CASCADE")
                driver = ServiceDriver(db, settings, owner, patient)
                results.append(await run_conversation(driver, spec))
                reference += driver.understanding_ms
        return results, reference, round_trips
    finally:
        await db.close()
        await owner.close()


# ----------------------------------------------------------------------------- main


def _rates(results: list[Result], key: Any) -> dict[str, dict[str, Any]]:
    """Success per group: {group: {conversations, success_rate}}."""
    groups: dict[str, list[Result]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return {
        name: {
            "runs": len(members),
            "success_rate": round(sum(r.ok for r in members) / len(members), 4),
        }
        for name, members in sorted(groups.items())
    }


def summary(
    args: argparse.Namespace,
    specs: list[dict[str, Any]],
    results: list[Result],
    reference: list[float],
) -> dict[str, Any]:
    """The JSON line."""
    turns = [ms for r in results for ms in r.turn_ms]
    succeeded = sum(r.ok for r in results)
    failed = sorted({r.name for r in results if not r.ok})
    set_of = {spec["name"]: spec["_set"] for spec in specs}
    out: dict[str, Any] = {
        "benchmark": "chatbot_eval",
        "clinic": args.clinic,
        "conversations": len(specs),
        "rounds": args.rounds,
        "treatment_types": (
            None
            if args.clinic == "memory"
            else "standard only"
            if args.no_treatments
            else "demo clinic's"
        ),
        "turns": len(turns),
        "task_success_rate": round(succeeded / len(results), 4) if results else 0.0,
        "by_set": _rates(results, lambda r: set_of[r.name]),
        "by_category": _rates(results, lambda r: r.category),
        "failed": failed,
        "turn": figures(turns),
        "reference": {"what": "understanding only, same turns", **figures(reference)},
        "target_turn_p99_ms": 50,
        # What it ran on, the CPU model included (the load read as the run ends).
        "machine": {**machine(), "loadavg_1m": round(os.getloadavg()[0], 2)},
    }
    if turns and reference:
        out["ratio_p50"] = round(statistics.median(turns) / statistics.median(reference), 2)
        out["ratio_p99"] = round(quantile(turns, 0.99) / quantile(reference, 0.99), 2)
    for result in results:
        if not result.ok:
            log(f"FAILED {result.name}: {'; '.join(result.failures)}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--file", type=Path, action="append", help="a JSONL file of conversations (repeatable)"
    )
    parser.add_argument("--clinic", choices=("memory", "service"), default="memory")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--no-treatments",
        action="store_true",
        help="service clinic: only the migrated standard treatment type",
    )
    args = parser.parse_args(argv)
    specs = []
    for path in args.file or DEFAULT_FILES:
        specs += [{**spec, "_set": path.stem} for spec in load(path)]
    warm_up()
    log(f"{len(specs)} conversations, {args.rounds} rounds, clinic: {args.clinic}")
    if args.clinic == "memory":
        results, reference = asyncio.run(run_memory(specs, args.rounds))
        out = summary(args, specs, results, reference)
    else:
        with embedded_database() as url:
            results, reference, round_trips = asyncio.run(
                run_service(url, specs, args.rounds, treatments=not args.no_treatments)
            )
        out = summary(args, specs, results, reference)
        out["db_round_trip"] = {"what": "SELECT 1 on the pool", **figures(round_trips)}
    print(json.dumps(out))
    return 0 if out["task_success_rate"] == 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
