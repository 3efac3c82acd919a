"""Diagnostics for the realtime benchmark (`--gc-trace`): time every pass of the server's
garbage collector, in wall and CPU time (CPU time is what the pass costs on a quiet
machine; wall time is how long the event loop stood still here). Loaded into the server
process by a generated `sitecustomize`; SIGUSR1 makes it run (and so time) one full pass,
SIGUSR2 moves every object alive into the permanent generation (`gc.freeze()`), the
experiment behind `--gc-freeze`."""

from __future__ import annotations

import gc
import os
import signal
import time
from collections import Counter
from typing import Any, TextIO

SITECUSTOMIZE = """\
import os
if os.environ.get("DENTALCARE_BENCH_GC_LOG"):
    from bench.realtime_gcprobe import install
    install(os.environ["DENTALCARE_BENCH_GC_LOG"])
if os.environ.get("DENTALCARE_BENCH_STAGGER_PINGS"):
    from bench.realtime_patches import stagger_pings
    stagger_pings()
"""


def install(path: str) -> None:
    """Log `wall_time generation wall_ms cpu_ms collected tracked_objects` for each pass of
    generation 1 or 2 (and generation-0 passes over 2 ms); tracked objects only for the
    full pass asked for by SIGUSR1 (counting them is itself a pause of its own)."""
    log: TextIO = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life
    began = [0.0, 0.0]
    asked = [False]

    young: list[str] = [""]

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            if os.environ.get("DENTALCARE_BENCH_GC_YOUNG"):  # what a pass walks, by type
                objects = gc.get_objects(info["generation"])
                kinds = Counter(type(o).__name__ for o in objects).most_common(4)
                young[0] = f"{len(objects)}:" + ",".join(f"{k}={n}" for k, n in kinds)
                del objects
            began[:] = [time.perf_counter(), time.thread_time()]
            return
        wall = (time.perf_counter() - began[0]) * 1000.0
        cpu = (time.thread_time() - began[1]) * 1000.0
        generation = info["generation"]
        if generation or wall > 2.0:
            tracked = len(gc.get_objects()) if generation == 2 and asked[0] else -1
            asked[0] = False
            log.write(
                f"{time.time():.3f} {generation} {wall:.3f} {cpu:.3f} "
                f"{info['collected']} {tracked}{' ' + young[0] if young[0] else ''}\n"
            )

    gc.callbacks.append(timed)

    def full_pass(signum: int, frame: object) -> None:
        asked[0] = True
        gc.collect()

    signal.signal(signal.SIGUSR1, full_pass)

    def freeze(signum: int, frame: object) -> None:
        gc.freeze()
        log.write(f"{time.time():.3f} F 0 0 0 {gc.get_freeze_count()}\n")

    signal.signal(signal.SIGUSR2, freeze)


def read(path: str, start: float, end: float | None = None) -> dict[str, Any]:
    """Passes per generation between `start` and `end` (wall clock): count, total and max
    of wall and CPU milliseconds, and the most objects a full pass walked."""
    figures: dict[str, Any] = {}
    try:
        with open(path) as log:
            lines = log.read().splitlines()
    except OSError:
        return {"error": "no gc log"}
    for line in lines:
        at, generation, wall, cpu, _, tracked = line.split()[:6]
        if float(at) < start or (end is not None and float(at) > end):
            continue
        if generation == "F":  # gc.freeze(): `tracked` objects moved out of the collector's way
            figures["frozen_objects"] = int(tracked)
            continue
        entry = figures.setdefault(
            f"gen{generation}",
            {"count": 0, "wall_ms_total": 0.0, "wall_ms_max": 0.0, "cpu_ms_max": 0.0},
        )
        entry["count"] += 1
        entry["wall_ms_total"] = round(entry["wall_ms_total"] + float(wall), 1)
        entry["wall_ms_max"] = max(entry["wall_ms_max"], float(wall))
        entry["cpu_ms_max"] = max(entry["cpu_ms_max"], float(cpu))
        if int(tracked) > 0:
            entry["tracked_objects"] = max(entry.get("tracked_objects", 0), int(tracked))
    return figures
