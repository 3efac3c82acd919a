"""A simulated clinic week with cancellations, with and without the waitlist.

The model (seeded, so a run is repeatable): 5 dentists, Monday to Friday 08:00-17:00,
30-minute visits, every slot booked a week ahead. Each visit is cancelled with
probability `--cancel-rate` (10 %), its notice drawn from an exponential (mean 72 h,
at least 30 minutes, at most the week ahead). Freed slots are refilled by:

- the public (both runs): booking requests arrive as a Poisson stream in opening hours
  (`--walk-ins` an hour); each wants a treatment within the coming week, maybe one
  dentist, some times of day, and takes the earliest free slot that suits, at least
  2 hours ahead (the service's notice);
- the waitlist (the second run only): `--waiting` entries made before the week, each
  with a dentist (or any), two to five days of the week and one to three times of day.
  A freed slot goes to the first matching entry in created order as a held offer for
  `--offer-minutes` (30, the service's default `waitlist_offer_minutes`): the offeree
  answers within it with probability 0.7 (uniformly over the lifetime) and then takes it
  with probability 0.75; otherwise it lapses or is declined and goes to the next entry.
  While held, the public cannot book it, as in the service (the hold occupies it).

The matching is the service's own (`dentalcare.waitlist.schemas.time_of_day`, dentist,
date range, times). Prints one JSON line: for each run, freed slots, the share refilled
before their start, the median and p90 minutes to refill, and (with the waitlist) how
many the waitlist refilled; the run without the waitlist is the same-run reference.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import sys
import time as wallclock
from dataclasses import dataclass, field
from datetime import time

from bench.common import machine
from dentalcare.waitlist.schemas import TIMES_OF_DAY, time_of_day

HOUR = 60.0  # the simulation's unit is the minute, from Monday 00:00 a week before
WEEK_START = 7 * 24 * HOUR
DENTISTS = 5
DAYS = 5
OPEN, CLOSE, SLOT = 8 * 60, 17 * 60, 30


@dataclass
class Slot:
    dentist: int
    day: int
    start: float  # minutes
    at: time
    free_since: float | None = None
    held: bool = False
    refilled_at: float | None = None
    by_waitlist: bool = False


@dataclass
class Entry:
    dentist: int | None
    days: set[int]
    times: set[str]
    done: bool = False
    busy: bool = False
    offered: set[int] = field(default_factory=set)


def _slots() -> list[Slot]:
    out = []
    for dentist in range(DENTISTS):
        for day in range(DAYS):
            for minute in range(OPEN, CLOSE, SLOT):
                start = WEEK_START + day * 24 * HOUR + minute
                out.append(Slot(dentist, day, start, time(minute // 60, minute % 60)))
    return out


def _wish(rng: random.Random) -> tuple[int | None, set[str]]:
    dentist = rng.randrange(DENTISTS) if rng.random() < 0.5 else None
    times = set(rng.sample(TIMES_OF_DAY[:2], rng.randint(1, 2)))  # the clinic closes at 17
    return dentist, times


def _suits(slot: Slot, dentist: int | None, times: set[str]) -> bool:
    return (dentist is None or dentist == slot.dentist) and time_of_day(slot.at) in times


def simulate(*, seed: int, waitlist: bool, args: argparse.Namespace) -> dict[str, object]:
    """One week; the figures."""
    rng = random.Random(seed)
    slots = _slots()
    events: list[tuple[float, int, str, object]] = []
    order = 0

    def push(at: float, kind: str, what: object) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (at, order, kind, what))

    for index, slot in enumerate(slots):
        if rng.random() < args.cancel_rate:
            notice = min(max(rng.expovariate(1 / (72 * HOUR)), 30.0), WEEK_START - 1)
            push(slot.start - notice, "cancel", index)
    # Public booking requests in opening hours (08-18), every day of both weeks.
    t = 0.0
    end = WEEK_START + DAYS * 24 * HOUR
    while t < end:
        t += rng.expovariate(args.walk_ins / HOUR)
        if OPEN <= t % (24 * HOUR) < 18 * 60:
            push(t, "walk_in", _wish(rng))
    entries: list[Entry] = []
    if waitlist:
        for _ in range(args.waiting):
            dentist, times = _wish(rng)
            days = set(rng.sample(range(DAYS), rng.randint(2, 5)))
            entries.append(Entry(dentist, days, times))

    def offer(index: int, now: float) -> None:
        slot = slots[index]
        if slot.start - now < 120:  # too late to offer (the service's notice)
            slot.held = False
            return
        for number, entry in enumerate(entries):
            if entry.done or entry.busy or index in entry.offered:
                continue
            if slot.day not in entry.days or not _suits(slot, entry.dentist, entry.times):
                continue
            entry.offered.add(index)
            entry.busy = True
            slot.held = True
            answers = rng.random() < 0.7
            takes = answers and rng.random() < 0.75
            delay = rng.uniform(1, args.offer_minutes) if answers else args.offer_minutes
            push(now + delay, "answer", (index, number, takes))
            return
        slot.held = False

    while events:
        now, _, kind, what = heapq.heappop(events)
        if kind == "cancel":
            assert isinstance(what, int)
            slots[what].free_since = now
            if waitlist:
                offer(what, now)
        elif kind == "answer":
            index, number, takes = what  # type: ignore[misc]
            entry, slot = entries[number], slots[index]
            entry.busy = False
            if takes:
                entry.done = True
                slot.held = False
                slot.refilled_at, slot.by_waitlist = now, True
            else:
                offer(index, now)
        else:
            dentist, times = what  # type: ignore[misc]
            free = [
                s
                for s in slots
                if s.free_since is not None
                and s.refilled_at is None
                and not s.held
                and s.start - now >= 120
                and s.start - now <= 7 * 24 * HOUR
                and _suits(s, dentist, times)
            ]
            if free:
                chosen = min(free, key=lambda s: s.start)
                chosen.refilled_at = now
    freed = [s for s in slots if s.free_since is not None]
    refilled = [s for s in freed if s.refilled_at is not None]
    waits = sorted((s.refilled_at - s.free_since) for s in refilled)  # type: ignore[operator]
    return {
        "slots": len(slots),
        "freed": len(freed),
        "refilled": len(refilled),
        "refilled_share": round(len(refilled) / len(freed), 3) if freed else None,
        "by_waitlist": sum(s.by_waitlist for s in refilled),
        "median_minutes_to_refill": round(statistics.median(waits), 1) if waits else None,
        "p90_minutes_to_refill": round(waits[int(0.9 * (len(waits) - 1))], 1) if waits else None,
        "chair_hours_lost": round((len(freed) - len(refilled)) * SLOT / 60, 1),
    }


def main() -> None:
    """Run both weeks on the same seed; print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20261216)
    parser.add_argument("--weeks", type=int, default=20, help="seeds seed..seed+weeks-1")
    parser.add_argument("--cancel-rate", type=float, default=0.10)
    parser.add_argument("--walk-ins", type=float, default=0.3, help="public requests an hour")
    parser.add_argument("--waiting", type=int, default=30)
    parser.add_argument("--offer-minutes", type=float, default=30)
    args = parser.parse_args()
    began = wallclock.perf_counter()
    runs: dict[str, list[dict[str, object]]] = {"without_waitlist": [], "with_waitlist": []}
    for week in range(args.weeks):
        for name, on in (("without_waitlist", False), ("with_waitlist", True)):
            runs[name].append(simulate(seed=args.seed + week, waitlist=on, args=args))

    def summary(weeks: list[dict[str, object]]) -> dict[str, object]:
        freed = sum(int(w["freed"]) for w in weeks)  # type: ignore[call-overload]
        refilled = sum(int(w["refilled"]) for w in weeks)  # type: ignore[call-overload]
        medians = [w["median_minutes_to_refill"] for w in weeks if w["median_minutes_to_refill"]]
        return {
            "freed": freed,
            "refilled": refilled,
            "refilled_share": round(refilled / freed, 3) if freed else None,
            "by_waitlist": sum(int(w["by_waitlist"]) for w in weeks),  # type: ignore[call-overload]
            "median_of_weekly_median_minutes_to_refill": (
                round(statistics.median(medians), 1) if medians else None  # type: ignore[arg-type]
            ),
            "first_week": weeks[0],
        }

    print(
        json.dumps(
            {
                "benchmark": "waitlist_sim",
                "model": "discrete-event simulation of the offer chain (not the live service)",
                "parameters": vars(args),
                "machine": machine(),
                "reference_without_waitlist": summary(runs["without_waitlist"]),
                "with_waitlist": summary(runs["with_waitlist"]),
                "wall_seconds": round(wallclock.perf_counter() - began, 3),
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
