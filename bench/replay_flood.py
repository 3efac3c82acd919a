"""A replay flood from one anonymous client: everyone else's commit→client latency with
the flood, beside the same sockets' latency without it, in the same run.

The scene is the test's (`tests/realtime/flooding.py`; `tests/realtime/
test_replay_flood.py` checks what everyone receives and that the limits kick in):
`dentalcare serve` as a process of its own on a throw-away embedded PostgreSQL, twenty
anonymous booking-page sockets on `availability`, a booking every 20 ms, 10,000 older
events in the log, and a client process flooding from one socket (`subscribe` with
`since` 0, or the longest replay an anonymous socket may ask for, as fast as the server
answers; a new socket at once whenever one is closed). The rounds alternate: a window
without the flood, then one with it (measured from the flooder's first answer), and so
on. An event's latency is its arrival at a socket minus its `committed_at`, counted for
the window its commit falls in. Each statistic is also taken per window and the median
of the windows' compared: one stall of the shared machine does not decide it alone.

Target: with the flood, the others' p50 and p95 (median of windows) within 2× of without
it; p99 and max are reported, not held to it. Prints one JSON line (exit 1 if missed).

    .venv/bin/python -m bench.replay_flood [--floods since=0,longest] [--rounds 5] [--window 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from typing import Any

import asyncpg
import psutil
from tests.faults.support import ClientProcess, percentile, running_services
from tests.fixtures.rows import make_dentist
from tests.fixtures.waiting import wait_until
from tests.realtime.flooding import (
    BOOK_EVERY_S,
    FLOOD_MODULE,
    FLOODS,
    WATCHERS,
    Booker,
    fill_history,
    watching,
)

from bench.common import code_version, embedded_postgres, log, machine, percentiles, run

RATIO_TARGET = 2.0
QUANTILES = ("p50", "p95", "p99")


def latency(values_ms: list[float]) -> dict[str, Any]:
    """percentiles() with p95 as well (nearest rank), in milliseconds."""
    figures = percentiles(values_ms)
    if values_ms:
        figures["p95_ms"] = round(percentile(values_ms, 0.95), 3)
    return figures


async def one_flood(url: str, name: str, *, rounds: int, window_s: float) -> dict[str, Any]:
    """Alternate windows without and with the flood; the others' latencies in each."""
    flood = FLOODS[name]
    owner = await asyncpg.connect(url)
    writer = await asyncpg.connect(url)
    try:
        dentist = await make_dentist(owner)
        await fill_history(owner, dentist["id"])
        async with running_services(url, 1) as (service,):
            flooder = await ClientProcess.start(
                FLOOD_MODULE, {"url": service.ws_url, "channel": "availability", **flood}
            )
            server = psutil.Process(service.process.pid)

            def server_cpu() -> float:
                return float(sum(server.cpu_times()[:2]))

            try:
                async with watching(service.ws_url) as watchers:
                    booker = Booker(writer, dentist["id"])
                    booking = asyncio.create_task(booker.run())
                    windows: dict[str, list[tuple[float, float]]] = {"normal": [], "flood": []}
                    cpu = {"normal": 0.0, "flood": 0.0}
                    reports = []
                    try:
                        for number in range(1, rounds + 1):
                            began, cpu_at = time.time(), server_cpu()
                            await asyncio.sleep(window_s)  # a window of normal traffic
                            windows["normal"].append((began, time.time()))
                            cpu["normal"] += server_cpu() - cpu_at
                            started = await flooder.ask({"type": "start"}, within=30)
                            if started["type"] != "flooding":
                                raise RuntimeError(f"the flooder did not start: {started}")
                            began, cpu_at = time.time(), server_cpu()
                            await asyncio.sleep(window_s)  # the same length under the flood
                            windows["flood"].append((began, time.time()))
                            cpu["flood"] += server_cpu() - cpu_at
                            reports.append(await flooder.ask({"type": "pause"}, within=30))
                            log(f"{name}: round {number}/{rounds}, {booker.count} bookings")
                    finally:
                        booker.stop.set()
                        booked = await booking
                    # Every booking reaches every socket: wait for the last ones.
                    with contextlib.suppress(TimeoutError):
                        await wait_until(
                            lambda: len(watchers.samples) >= booked * WATCHERS,
                            within=30,
                            what="every booking delivered",
                        )
                    samples = len(watchers.samples)
                    spans = {
                        phase: [watchers.between(start, end) for start, end in found]
                        for phase, found in windows.items()
                    }
            finally:
                await flooder.stop()
    finally:
        await writer.close()
        await owner.close()

    whole = {phase: latency([x for w in found for x in w]) for phase, found in spans.items()}
    by_window = {phase: [latency(w) for w in found] for phase, found in spans.items()}
    typical = {
        phase: {
            f"{q}_ms": round(statistics.median(w[f"{q}_ms"] for w in found if w["n"]), 3)
            for q in QUANTILES
        }
        for phase, found in by_window.items()
    }
    ratio = {
        "median_of_windows": {
            q: round(typical["flood"][f"{q}_ms"] / typical["normal"][f"{q}_ms"], 3)
            for q in QUANTILES
        },
        "whole_run": {
            q: round(whole["flood"][f"{q}_ms"] / whole["normal"][f"{q}_ms"], 3) for q in QUANTILES
        },
    }
    flooded = reports[-1]  # the flooder's counts are cumulative
    targets = {
        f"p50_within_{RATIO_TARGET:g}x": ratio["median_of_windows"]["p50"] <= RATIO_TARGET,
        f"p95_within_{RATIO_TARGET:g}x": ratio["median_of_windows"]["p95"] <= RATIO_TARGET,
    }
    return {
        "flood": flood,
        "normal_ms": whole["normal"],
        "flood_ms": whole["flood"],
        "median_of_windows_ms": typical,
        "ratio_flood_to_normal": ratio,
        "windows_p50_p95_max_ms": {
            phase: [[w.get("p50_ms"), w.get("p95_ms"), w.get("max_ms")] for w in found]
            for phase, found in by_window.items()
        },
        "bookings": booked,
        "deliveries": {"expected": booked * WATCHERS, "received": samples},
        "flood_rounds": flooded["rounds"],
        "flood_sockets": flooded["connections"],
        "flood_replies": flooded["replies"],
        "flood_closes": flooded["closes"],
        # The server's CPU, in share of one core, over the windows of each phase.
        "server_cpu": {phase: round(cpu[phase] / (rounds * window_s), 2) for phase in cpu},
        "targets": targets,
        "passed": all(targets.values()),
    }


def main(argv: list[str] | None = None) -> int:
    """Each flood on a fresh embedded PostgreSQL; print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.replay_flood", description=__doc__)
    parser.add_argument("--floods", default=",".join(FLOODS), help="since=0,longest")
    parser.add_argument("--rounds", type=int, default=5, help="window pairs (5)")
    parser.add_argument("--window", type=float, default=2.0, help="seconds per window (2)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.floods.split(",") if n.strip()]
    unknown = sorted(set(names) - set(FLOODS))
    if unknown:
        parser.error(f"unknown flood(s) {unknown}; known: {sorted(FLOODS)}")
    before = machine()
    floods = {}
    for name in names:
        with embedded_postgres() as postgres:
            floods[name] = run(
                one_flood(postgres.url, name, rounds=args.rounds, window_s=args.window)
            )
        log(f"{name}: ratio {floods[name]['ratio_flood_to_normal']['median_of_windows']}")
    targets = {f"{name}: {t}": met for name, f in floods.items() for t, met in f["targets"].items()}
    result = {
        "bench": "replay_flood",
        "watchers": WATCHERS,
        "book_every_s": BOOK_EVERY_S,
        "rounds": args.rounds,
        "window_s": args.window,
        "floods": floods,
        "targets": targets,
        "passed": all(targets.values()),
        "machine": before,
        "code": code_version(),
    }
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
