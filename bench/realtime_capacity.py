"""Realtime capacity at the SLO: ours and the bare fan-out floor, in the same run.

For each configuration — the floor (`bench/realtime_floor.py`), our `dentalcare serve`
(and, with `--workers 2`, two worker processes) — the `chain-10k` (or `chain-1k`) sockets
are connected once, then driven at each change rate R of the sweep for D seconds; every
client checks every message (nothing lost, repeated, reordered or foreign) and measures
commit→client latency. *Capacity at the SLO* is the highest R whose p99 stays under
50 ms with nothing lost. Each configuration runs unpinned and pinned (`--modes`): pinned,
the server has CPU 0 to itself (every thread of it) and the clients, the driver and
PostgreSQL share CPU 1, which models a server with its machine to itself. Our server
runs with the benchmark's GC probe: every collector pass is timed (`gc.callbacks`), and
the longest during each drive is reported.

    .venv/bin/python -m bench.realtime_capacity --profile chain-10k \\
        [--rates 50,100,150,200,250,300] [--duration 10] [--modes unpinned,pinned] \\
        [--workers 1,2]

One JSON line on stdout, also in bench/results/realtime-capacity-<profile>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psutil
from pydantic import SecretStr

from bench import realtime_floor, realtime_gcprobe, realtime_load
from bench.common import (
    RESULTS,
    code_version,
    embedded_postgres,
    free_port,
    log,
    machine,
    machine_busy_seconds,
    own_cpu_seconds,
    percentiles,
    run,
    running_service,
    tree_cpu_seconds,
)
from bench.realtime import (
    CROWD_ENV,
    PROFILES,
    SECRET,
    Profile,
    ResourceSampler,
    client_processes,
    plan_sockets,
    receive,
    server_hooks,
)
from bench.realtime_clients import raise_nofile_limit
from dentalcare.config import Settings

SLO_MS = 50.0
SERVER_CPU, OTHERS_CPU = {0}, {1}


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.Error:
        return []


def set_affinity(pids: list[int], cpus: set[int]) -> None:
    """Every thread of every process in `pids` on `cpus` (new threads and children inherit)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(tid), cpus)


@contextlib.contextmanager
def pinned(server: list[int], others: list[int], on: bool) -> Iterator[None]:
    """The server on CPU 0, everything else of the benchmark on CPU 1 (if `on`)."""
    if not on or (os.cpu_count() or 1) < 2:
        yield
        return
    set_affinity(server, SERVER_CPU)
    set_affinity([*others, os.getpid()], OTHERS_CPU)
    try:
        yield
    finally:
        every = set(range(os.cpu_count() or 1))
        set_affinity([*server, *others, os.getpid()], every)


class Fleet:
    """The connected client processes."""

    def __init__(self, workers: list[tuple[multiprocessing.process.BaseProcess, Any]]) -> None:
        self.workers = workers

    def ready(self) -> tuple[int, int, list[str]]:
        """(connected, failed, a few failures) once every process has connected."""
        ready = [receive(pipe, 600)[1] for _, pipe in self.workers]
        failures = [f for r in ready for f in r["failures"]]
        return sum(r["connected"] for r in ready), sum(r["failed"] for r in ready), failures[:3]

    def pids(self) -> list[int]:
        """Every client process (and its threads' process)."""
        return [pid for process, _ in self.workers if process.pid for pid in tree(process.pid)]

    def reset(self) -> int:
        """Forget the last step; the disconnects so far."""
        for _, pipe in self.workers:
            pipe.send(("reset",))
        return sum(receive(pipe, 60)[1]["disconnects"] for _, pipe in self.workers)

    def expect(self, by_topic: dict[str, list[int]], settle: float) -> list[dict[str, Any]]:
        """Every process's exact figures against what each topic had to receive."""
        for _, pipe in self.workers:
            pipe.send(("expect", by_topic, settle))
        return [receive(pipe, settle + 120)[1] for _, pipe in self.workers]


def step_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency percentiles and delivery counts of one step, over every client process."""
    latencies = array("d")
    for result in results:
        latencies.frombytes(result.pop("latencies"))
        result.pop("received_at")
    delivery = {
        key: sum(r[key] for r in results)
        for key in ("expected", "delivered", "lost", "unexpected", "duplicates", "out_of_order")
    }
    delivery["incomplete_sockets"] = sum(r["incomplete_sockets"] for r in results)
    return {"latency_ms": percentiles(latencies), "messages": delivery}


def passes(step: dict[str, Any]) -> bool:
    """Within the SLO and exact: p99 < 50 ms, nothing lost, repeated, reordered or foreign."""
    messages, p99 = step["messages"], step["latency_ms"].get("p99_ms")
    exact = all(messages[k] == 0 for k in ("lost", "unexpected", "duplicates", "out_of_order"))
    return p99 is not None and p99 < SLO_MS and exact and messages["expected"] > 0


def sweep(
    args: argparse.Namespace,
    fleet: Fleet,
    drive: Callable[[float], tuple[dict[str, list[int]], dict[str, Any]]],
    cpu_of: dict[str, Callable[[], float]],
    gc_log: str | None,
) -> list[dict[str, Any]]:
    """Drive each rate in turn; stop after two rates past the SLO in a row."""
    steps: list[dict[str, Any]] = []
    misses = 0
    for rate in args.rates:
        disconnects = fleet.reset()
        before = {name: read() for name, read in cpu_of.items()}
        load_before = os.getloadavg()[0]
        began_wall, began = time.time(), time.monotonic()
        by_topic, driven = drive(rate)
        wall = time.monotonic() - began
        cpu = {
            name: round(100 * (read() - before[name]) / wall, 1) for name, read in cpu_of.items()
        }
        cpu["others"] = round(cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine"), 1)
        step = {
            "rate_per_s": rate,
            **driven,
            **step_figures(fleet.expect(by_topic, args.settle)),
            "disconnects_before": disconnects,
            "cpu_percent": cpu,
            "loadavg_1m_before": round(load_before, 2),
        }
        if gc_log:
            step["gc_passes_while_driving"] = realtime_gcprobe.read(
                gc_log, began_wall, began_wall + wall
            )
        delivered = step["messages"]["delivered"]
        # What a message costs the server, whatever the machine's load: comparable between
        # ours and the floor when the capacities are not (a busy machine starves both).
        step["server_cpu_ms_per_1k_messages"] = (
            round(cpu["server"] * 10 * wall / delivered * 1000, 2) if delivered else None
        )
        step["within_slo"] = passes(step)
        steps.append(step)
        log(
            f"  R={rate}/s: p99 {step['latency_ms'].get('p99_ms')} ms, "
            f"lost {step['messages']['lost']}, server cpu {cpu.get('server')} %, "
            f"clients {cpu.get('clients')} %"
        )
        misses = 0 if step["within_slo"] else misses + 1
        if misses >= 2:
            break
        time.sleep(1)
    return steps


def capacity(steps: list[dict[str, Any]]) -> float | None:
    """The highest rate within the SLO below the first that was not (None: not even the
    lowest)."""
    best = None
    for step in steps:
        if not step["within_slo"]:
            break
        best = step["rate_per_s"]
    return best


def config_name(workers: int, mode: str) -> str:
    """`ours/pinned`, `ours-2w/unpinned`, …"""
    return f"ours-{workers}w/{mode}" if workers > 1 else f"ours/{mode}"


def fake_clinic(profile: Profile) -> realtime_load.Clinic:
    """The floor's clinic: ids only (nobody reads a database)."""
    return realtime_load.Clinic(
        dentists=[(uuid4(), uuid4()) for _ in range(profile.dentists)],
        patients=[
            realtime_load.Patient(uuid4(), f"Patient {i}", f"p{i}@bench.example")
            for i in range(profile.patients)
        ],
        admins=[uuid4() for _ in range(profile.admins)],
    )


def run_floor(args: argparse.Namespace, profile: Profile, mode: str) -> dict[str, Any]:
    """The floor's sweep."""
    settings = Settings(secret_key=SecretStr(SECRET), env="test")
    clinic = fake_clinic(profile)
    sockets = plan_sockets(profile, clinic, settings)
    port = free_port()
    config = {
        "port": port,
        "token_topics": {token: topic for _, topic, token in sockets if token},
        "plan": {
            "dentists": [str(d) for d, _ in clinic.dentists],
            "patients": [str(p.id) for p in clinic.patients],
        },
    }
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=realtime_floor.main, args=(child_end, config), daemon=True)
    process.start()
    child_end.close()
    try:
        receive(parent_end, 60)
        assert process.pid is not None
        with client_processes(sockets, profile.processes, port) as workers:
            fleet = Fleet(workers)
            connected, failed, failures = fleet.ready()
            log(f"floor/{mode}: {connected} connected, {failed} failed {failures}")
            server = tree(process.pid)

            def drive(rate: float) -> tuple[dict[str, list[int]], dict[str, Any]]:
                parent_end.send(("drive", rate, args.duration, args.cancel_share))
                driven = receive(parent_end, args.duration + 60)[1]
                expected = driven.pop("expected")
                return expected, {
                    **driven,
                    "changes_per_s": round(driven["changes"] / driven["seconds"], 1),
                }

            cpu_of = cpu_readers(server, fleet, postgres=None)
            with pinned(server, fleet.pids(), mode == "pinned"):
                steps = sweep(args, fleet, drive, cpu_of, None)
    finally:
        with contextlib.suppress(OSError, ValueError):
            parent_end.send(("stop",))
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    return {"connected": connected, "failed": failed, "steps": steps}


def cpu_readers(
    server: list[int], fleet: Fleet, postgres: Callable[[], float] | None
) -> dict[str, Callable[[], float]]:
    """CPU-second counters of each party, read before and after each step."""
    clients = [process.pid for process, _ in fleet.workers if process.pid is not None]
    readers: dict[str, Callable[[], float]] = {
        # With --workers the server is uvicorn's supervisor: its tree counts every worker.
        "server": lambda: tree_cpu_seconds(server[0]),
        "clients": lambda: sum(tree_cpu_seconds(pid) for pid in clients),
        "driver": own_cpu_seconds,
        "machine": machine_busy_seconds,
    }
    if postgres is not None:
        readers["postgres"] = postgres
    return readers


def run_ours(args: argparse.Namespace, profile: Profile, mode: str, workers: int) -> dict[str, Any]:
    """Our server's sweep (`workers` processes)."""
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(embedded_postgres())
        clinic = run(
            realtime_load.seed(
                pg.url, dentists=profile.dentists, patients=profile.patients, admins=profile.admins
            )
        )
        extra_env = {**CROWD_ENV, "DENTALCARE_SECRET_KEY": SECRET}
        folder = stack.enter_context(server_hooks(extra_env))
        gc_log = extra_env["DENTALCARE_BENCH_GC_LOG"] = str(Path(folder) / "gc.log")
        extra_args = ["--workers", str(workers)] if workers > 1 else []
        service = stack.enter_context(
            running_service(pg.url, extra_env=extra_env, extra_args=extra_args, timeout=240)
        )
        sampler = stack.enter_context(ResourceSampler(service.pid))
        settings = Settings(secret_key=SecretStr(SECRET), env="test")
        sockets = plan_sockets(profile, clinic, settings)
        fleet = Fleet(
            stack.enter_context(client_processes(sockets, profile.processes, service.port))
        )
        connected, failed, failures = fleet.ready()
        name = config_name(workers, mode)
        log(f"{name}: {connected} connected, {failed} failed {failures}")
        driver = realtime_load.Driver(
            pg.url, clinic, rate=1, seconds=args.duration, cancel_share=args.cancel_share
        )

        def drive(rate: float) -> tuple[dict[str, list[int]], dict[str, Any]]:
            start_seq = run(realtime_load.latest_seq(pg.url))
            driver.rate, driver.report = rate, realtime_load.DriveReport()
            report = run(driver.run())
            expected, kinds = run(realtime_load.expected_by_topic(pg.url, start_seq))
            changes = report.bookings + report.cancellations
            return expected, {
                "changes": changes,
                "failures": report.failures,
                "seconds": round(report.seconds, 2),
                "changes_per_s": round(changes / report.seconds, 1),
                "max_lag_ms": round(report.max_lag_ms, 1),
                "events_logged": kinds,
            }

        server = tree(service.pid)
        postmaster = pg.postmaster_pid()
        postgres = tree(postmaster) if postmaster else []
        cpu_of = cpu_readers(server, fleet, postgres=pg.cpu_seconds)
        with pinned(server, [*fleet.pids(), *postgres], mode == "pinned"):
            steps = sweep(args, fleet, drive, cpu_of, gc_log)
        rss_peak = sampler.peak
    return {
        "connected": connected,
        "failed": failed,
        "workers": workers,
        "server_rss_peak_mib": round(rss_peak / 2**20, 1),
        "steps": steps,
    }


def summarize(
    args: argparse.Namespace, configs: dict[str, Any], before: dict[str, Any]
) -> dict[str, Any]:
    """Capacities, ratios to the floor's and the per-rate comparison."""
    for config in configs.values():
        config["capacity_per_s"] = capacity(config["steps"])
    ratios: dict[str, float | None] = {}
    for mode in args.modes:
        for name in [n for n in configs if n.startswith("ours") and n.endswith(f"/{mode}")]:
            ours, floor = (
                configs[name]["capacity_per_s"],
                configs.get(f"floor/{mode}", {}).get("capacity_per_s"),
            )
            ratios[name] = round(ours / floor, 2) if ours and floor else None
    at_rate: dict[str, dict[str, Any]] = {}
    for name, config in configs.items():
        for step in config["steps"]:
            at_rate.setdefault(str(step["rate_per_s"]), {})[name] = step["latency_ms"].get("p99_ms")
    gc_max = [
        gen.get("wall_ms_max", 0.0)
        for name, config in configs.items()
        if name.startswith("ours")
        for step in config["steps"]
        for key, gen in (step.get("gc_passes_while_driving") or {}).items()
        if key.startswith("gen")
    ]
    targets = {
        f"capacity_{name.replace('/', '_')}_ge_0.8x_floor": (ratio or 0) >= 0.8
        for name, ratio in ratios.items()
    }
    targets["no_gc_pass_over_10ms_while_driving"] = max(gc_max, default=0.0) <= 10.0
    targets["nothing_lost_or_repeated"] = all(
        step["messages"][k] == 0
        for config in configs.values()
        for step in config["steps"]
        for k in ("lost", "unexpected", "duplicates", "out_of_order")
        if step["latency_ms"].get("p99_ms") is not None and step["latency_ms"]["p99_ms"] < 1000
    )
    cost: dict[str, float | None] = {}
    for name, config in configs.items():
        values = [s["server_cpu_ms_per_1k_messages"] for s in config["steps"]]
        numbers = sorted(v for v in values if v is not None)
        cost[name] = numbers[len(numbers) // 2] if numbers else None
    cost_ratio = {
        name: round(value / floor, 2)
        for name, value in cost.items()
        if name.startswith("ours")
        and value
        and (floor := cost.get(f"floor/{name.split('/', 1)[1]}"))
    }
    return {
        "bench": "realtime_capacity",
        "profile": args.profile,
        "slo_p99_ms": SLO_MS,
        "duration_s": args.duration,
        "rates_per_s": args.rates,
        "capacity_per_s": {name: config["capacity_per_s"] for name, config in configs.items()},
        "capacity_ratio_to_floor": ratios,
        "server_cpu_ms_per_1k_messages": cost,
        "server_cpu_per_message_ratio_to_floor": cost_ratio,
        "p99_ms_by_rate": at_rate,
        "gc_pass_max_ms_while_driving": max(gc_max, default=None),
        "targets": targets,
        "passed": all(targets.values()),
        "machine": before,
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "code": code_version(),
        "configs": configs,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.realtime_capacity", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="chain-10k")
    parser.add_argument("--rates", default="50,100,150,200,250,300", help="changes/s to sweep")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per rate (10)")
    parser.add_argument("--cancel-share", type=float, default=0.1)
    parser.add_argument("--settle", type=float, default=20.0, help="max wait for stragglers (s)")
    parser.add_argument("--modes", default="unpinned,pinned", help="unpinned and/or pinned")
    parser.add_argument("--workers", default="1", help="our server's worker counts, e.g. 1,2")
    parser.add_argument("--no-floor", action="store_true", help="ours only")
    parser.add_argument("--output", default=None)
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",")]
    args.modes = [m for m in args.modes.split(",") if m]
    args.workers = [int(w) for w in args.workers.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: every configuration's sweep, one JSON line."""
    args = parse_args(argv)
    raise_nofile_limit()
    profile = PROFILES[args.profile]
    before = machine()
    configs: dict[str, Any] = {}
    default = RESULTS / f"realtime-capacity-{args.profile}.json"
    output = Path(args.output) if args.output else default
    runs: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    for mode in args.modes:
        if not args.no_floor:
            runs.append((f"floor/{mode}", lambda mode=mode: run_floor(args, profile, mode)))
        for workers in args.workers:
            if mode == "pinned" and workers > 1:
                continue  # two workers on a 2-core machine: nothing to pin them apart from
            runs.append(
                (
                    config_name(workers, mode),
                    lambda mode=mode, workers=workers: run_ours(args, profile, mode, workers),
                )
            )
    for name, sweep_one in runs:
        log(name)
        try:
            configs[name] = sweep_one()
        except Exception as exc:  # one configuration failing keeps the others' figures
            log(f"{name} failed: {exc!r}")
            configs[name] = {"error": repr(exc)[:500], "steps": []}
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"partial": True, "configs": configs}, indent=2) + "\n")
    result = summarize(args, configs, before)
    output = (
        Path(args.output) if args.output else RESULTS / f"realtime-capacity-{args.profile}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    brief = {k: v for k, v in result.items() if k != "configs"}
    print(json.dumps(brief, separators=(",", ":")), flush=True)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
