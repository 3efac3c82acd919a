"""The pure slot engine alone: 62 days of a 90-minute treatment with buffers and 4 chairs.

One dentist in Europe/London (the range crosses the spring-forward change) with 5
windows every day, about 8 bookings a day on the dentist and on each of 4 chairs, two
clinic closures and a two-week holiday. Each round times, interleaved so that they share
the machine's noise:

* `engine`: `free_slots` for the treatment, the chairs, closures and holiday;
* `engine_defaults`: `free_slots` without treatment, chairs or closures (today's call);
* `reference_today`: the engine as it was before treatments (the verbatim copy kept in
  `tests/availability/test_slots_legacy.py`) on that same dentist-only input.

Prints one JSON line: wall-clock and CPU median and p99 per variant, the offered slot counts,
the machine (CPU model, load before and after) and the code measured.

    .venv/bin/python -m bench.slots_engine [--runs 300] [--slot-minutes 30]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from tests.availability.test_slots_legacy import legacy_free_slots

from bench.common import code_version, log, machine, percentiles
from dentalcare.availability.slots import (
    Busy,
    DateException,
    Slot,
    Treatment,
    Window,
    free_slots,
)

ZONE = ZoneInfo("Europe/London")
FIRST = date(2031, 3, 3)
DAYS = 62
WINDOWS = [((7, 30), (10, 0)), ((10, 15), (12, 45)), ((13, 15), (15, 45)),
           ((16, 0), (18, 30)), ((18, 45), (21, 15))]  # fmt: skip
TREATMENT = Treatment(duration_minutes=90, buffer_before_minutes=5, buffer_after_minutes=10)
CHAIRS = 4
BOOKINGS_PER_DAY = 8


def bookings(rng: random.Random) -> list[Busy]:
    """About BOOKINGS_PER_DAY non-overlapping occupied intervals a day, in UTC like asyncpg's."""
    busy: list[Busy] = []
    for n in range(DAYS):
        on = FIRST + timedelta(days=n)
        # 8 of the day's 20 forty-minute marks, each booked until the next mark at most.
        marks = [*sorted(rng.sample(range(7 * 60 + 30, 21 * 60, 40), BOOKINGS_PER_DAY)), 24 * 60]
        for minute, following in zip(marks, marks[1:], strict=False):
            length = min(rng.choice([20, 30, 45, 60, 90]), following - minute)
            local = datetime.combine(on, clock(minute // 60, minute % 60), ZONE)
            starts = local.astimezone(UTC)
            busy.append(Busy(starts, starts + timedelta(minutes=length)))
    rng.shuffle(busy)  # the engine sorts; the database's order is not promised
    return busy


def inputs(slot_minutes: int) -> dict[str, Any]:
    """The dentist-only call (today's) and the extras of the treatment call."""
    rng = random.Random(12)
    weekly = [Window(day, clock(*start), clock(*end)) for day in range(7) for start, end in WINDOWS]
    holiday = DateException(
        FIRST + timedelta(days=40), None, None, False, FIRST + timedelta(days=53)
    )
    today = {
        "weekly": weekly,
        "exceptions": [DateException(FIRST + timedelta(days=9), clock(12), clock(18), False)],
        "busy": bookings(rng),
        "timezone": ZONE,
        "slot_minutes": slot_minutes,
        "start": FIRST,
        "end": FIRST + timedelta(days=DAYS - 1),
        "now": datetime.combine(FIRST, clock(), UTC) - timedelta(days=1),
        "min_notice": timedelta(hours=2),
    }
    extras = {
        "treatment": TREATMENT,
        "closures": [date(2031, 4, 18), date(2031, 4, 21)],  # Good Friday, Easter Monday
        "chairs": [bookings(rng) for _ in range(CHAIRS)],
        "exceptions": [*today["exceptions"], holiday],
    }
    return {"today": today, "extras": extras}


def timed(call: Callable[[], list[Slot]]) -> tuple[float, float, int]:
    """Wall and CPU milliseconds of one call, and how many slots it offered. On a shared
    machine the wall time includes waiting for a core; the thread's CPU time does not."""
    started, started_cpu = time.perf_counter(), time.thread_time()
    offered = call()
    cpu = time.thread_time() - started_cpu
    return (time.perf_counter() - started) * 1000, cpu * 1000, len(offered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--slot-minutes", type=int, default=30)
    args = parser.parse_args(argv)
    made = inputs(args.slot_minutes)
    today, extras = made["today"], made["extras"]
    variants: dict[str, Callable[[], list[Slot]]] = {
        "engine": lambda: free_slots(**{**today, **extras}),
        "engine_defaults": lambda: free_slots(**today),
        "reference_today": lambda: legacy_free_slots(**today),
    }
    result: dict[str, Any] = {
        "benchmark": "slots_engine",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code_version(),
        "options": {
            "runs": args.runs,
            "days": DAYS,
            "windows_per_day": len(WINDOWS),
            "slot_minutes": args.slot_minutes,
            "treatment": [90, 5, 10],
            "chairs": CHAIRS,
            "bookings_per_day_each": BOOKINGS_PER_DAY,
            "busy_intervals": len(today["busy"]) * (1 + CHAIRS),
            "timezone": ZONE.key,
        },
    }
    for call in variants.values():  # warm caches and imports
        call()
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu_times: dict[str, list[float]] = {name: [] for name in variants}
    offered: dict[str, int] = {}
    log(f"{args.runs} rounds of {', '.join(variants)}")
    for _ in range(args.runs):
        for name, call in variants.items():
            ms, cpu_ms, offered[name] = timed(call)
            times[name].append(ms)
            cpu_times[name].append(cpu_ms)
    for name in variants:
        cpu = percentiles(cpu_times[name])
        result[name] = {
            **percentiles(times[name]),
            "cpu_p50_ms": cpu["p50_ms"],
            "cpu_p99_ms": cpu["p99_ms"],
            "slots": offered[name],
        }
    result["engine_p50_over_reference"] = round(
        result["engine"]["p50_ms"] / result["reference_today"]["p50_ms"], 3
    )
    result["machine"]["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
