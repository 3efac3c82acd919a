"""Realtime benchmark: the `chain-10k` / `chain-1k` workload of BENCHMARKS.md.

A throw-away embedded PostgreSQL, migrated and seeded with 50 dentists (weekly windows),
the patients and the admins; ONE `dentalcare serve` process; the sockets opened from
separate client processes with picows (booking pages on `availability:<dentist>`,
patients, dentists and admins on `appointments`); then bookings and ~10 % cancellations at
R per second straight through SQL (one transaction each, as the database owner) for D
seconds. Each client measures receive time minus `committed_at` for every message and
checks its channel exactly (seq increasing, nothing lost, nothing twice, nothing foreign).
The floor, in the same run: a bare INSERT → NOTIFY → LISTEN round trip on the database,
idle and under the load.

    .venv/bin/python -m bench.realtime --profile chain-10k [--runs 3] [--rate 200]

One JSON line on stdout (medians over the runs), also in bench/results/realtime-<profile>.json;
progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import tempfile
import threading
import time
import urllib.request
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil
from pydantic import SecretStr

from bench import realtime_clients, realtime_gcprobe, realtime_load
from bench.common import (
    RESULTS,
    ROOT,
    Service,
    code_version,
    embedded_postgres,
    log,
    machine,
    machine_busy_seconds,
    own_cpu_seconds,
    percentiles,
    py_spy,
    run,
    running_service,
    tree_cpu_seconds,
)
from dentalcare.auth.tokens import issue_token
from dentalcare.config import Settings

SECRET = "bench-realtime-secret-" + "k" * 40
SOURCES = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")  # loopback only
# Up to 10,000 sockets from those four addresses, each standing for thousands of
# households: the service's per-address limits are raised to match.
CROWD_ENV = {
    "DENTALCARE_WS_MAX_SOCKETS_PER_ADDRESS": "100000",
    "DENTALCARE_WS_ANONYMOUS_REPLAY_POSITIONS_BURST": "100000000",
    "DENTALCARE_WS_ADDRESS_MESSAGE_BURST": "100000000",
}
GIB = 1 << 30


@dataclass(frozen=True)
class Profile:
    """Who is connected (BENCHMARKS.md, "Realtime: chain-10k")."""

    dentists: int  # seeded; every booking page follows one of them
    availability_per_dentist: int
    patients: int
    dentist_sockets: int
    admins: int
    processes: int


PROFILES = {
    "chain-10k": Profile(50, 180, 900, 50, 50, processes=4),
    "chain-1k": Profile(50, 18, 90, 5, 5, processes=2),
}


class ResourceSampler:
    """Samples the server's RSS (peak) every `interval` s on a thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> ResourceSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> int:
        """The RSS now (and remember the peak)."""
        with contextlib.suppress(psutil.Error):
            self.peak = max(self.peak, int(self.process.memory_info().rss))
            return int(self.process.memory_info().rss)
        return 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def plan_sockets(
    profile: Profile, clinic: realtime_load.Clinic, settings: Settings
) -> list[tuple[str, str, str | None]]:
    """(channel, topic, token) of every socket."""

    def token(user_id: Any, role: str) -> str:
        return issue_token(settings, user_id=user_id, role=role, token_version=0)

    sockets: list[tuple[str, str, str | None]] = []
    for dentist_id, _ in clinic.dentists:
        channel = f"availability:{dentist_id}"
        sockets += [(channel, channel, None)] * profile.availability_per_dentist
    for patient in clinic.patients[: profile.patients]:
        sockets.append(("appointments", f"patient:{patient.id}", token(patient.id, "patient")))
    for dentist_id, user_id in clinic.dentists[: profile.dentist_sockets]:
        sockets.append(("appointments", f"dentist:{dentist_id}", token(user_id, "dentist")))
    for admin_id in clinic.admins[: profile.admins]:
        sockets.append(("appointments", "admin", token(admin_id, "admin")))
    return sockets


@contextlib.contextmanager
def client_processes(
    sockets: list[tuple[str, str, str | None]], processes: int, port: int
) -> Iterator[list[tuple[multiprocessing.process.BaseProcess, Connection]]]:
    """Start the client processes (each a share of every kind of socket); stop them after."""
    context = multiprocessing.get_context("spawn")
    started: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    try:
        for index in range(processes):
            parent_end, child_end = context.Pipe()
            config = {
                "url": f"ws://127.0.0.1:{port}/api/realtime",
                "source": SOURCES[index % len(SOURCES)],
                "sockets": sockets[index::processes],
            }
            process: multiprocessing.process.BaseProcess = context.Process(
                target=realtime_clients.main,
                args=(child_end, config),
                name=f"bench-realtime-clients-{index}",
                daemon=True,
            )
            process.start()
            child_end.close()
            started.append((process, parent_end))
        yield started
    finally:
        for _, pipe in started:
            with contextlib.suppress(OSError, ValueError):
                pipe.send(("stop",))
        for child, pipe in started:
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
                child.join(timeout=5)
            if child.is_alive():
                child.kill()
            pipe.close()


def receive(pipe: Connection, timeout: float) -> Any:
    """The next message from a client process, or TimeoutError."""
    if not pipe.poll(timeout):
        raise TimeoutError("a client process did not answer in time")
    return pipe.recv()


def server_stats(port: int, token: str) -> dict[str, Any]:
    """GET /api/sync/stats (the server's own commit→send latency)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/sync/stats", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body: dict[str, Any] = json.loads(response.read())
    body.pop("subscriptions", None)
    return body


async def drive_with_probe(
    url: str, clinic: realtime_load.Clinic, args: argparse.Namespace
) -> tuple[realtime_load.DriveReport, list[float]]:
    """The driver, and the reference probe (about 10 per second) beside it."""
    driver = realtime_load.Driver(
        url, clinic, rate=args.rate, seconds=args.duration, cancel_share=args.cancel_share
    )
    done = asyncio.Event()
    probe = asyncio.create_task(
        realtime_load.notify_round_trips(
            url, samples=int(args.duration * 10), interval=0.1, stop=done
        )
    )
    try:
        report = await driver.run()
    finally:
        done.set()
    return report, await probe


def timeline(
    latencies: array[float], received_at: array[float], began: float
) -> list[tuple[int, int, float, float]]:
    """(second of the drive, messages, p99 ms, max ms) for each second messages arrived in."""
    buckets: dict[int, list[float]] = {}
    for latency, at in zip(latencies, received_at, strict=True):
        buckets.setdefault(int(at - began), []).append(latency)
    rows = []
    for second in sorted(buckets):
        ordered = sorted(buckets[second])
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        rows.append((second, len(ordered), round(p99, 1), round(ordered[-1], 1)))
    return rows


def timed_full_pass(pid: int, gc_log: str) -> dict[str, Any] | None:
    """Make the server run one full collection (SIGUSR1) and read back what it cost."""
    asked = time.time()
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.1)
        figures: dict[str, Any] | None = realtime_gcprobe.read(gc_log, asked).get("gen2")
        if figures:
            return figures
    return None


@contextlib.contextmanager
def server_hooks(extra_env: dict[str, str]) -> Iterator[str]:
    """A folder with a generated `sitecustomize` put on the server's path: it runs the
    diagnostics and experiments that the environment asks for (see realtime_gcprobe)."""
    with tempfile.TemporaryDirectory(prefix="dentalcare-bench-hooks-") as folder:
        (Path(folder) / "sitecustomize.py").write_text(realtime_gcprobe.SITECUSTOMIZE)
        extra_env["PYTHONPATH"] = f"{folder}:{ROOT}"
        yield folder


def outside_window(
    latencies: array[float], received_at: array[float], began: float, ping_times: list[float]
) -> dict[str, Any] | None:
    """Latency percentiles leaving out the messages received around the keepalive sweep."""
    if not ping_times:
        return None
    start, end = began + min(ping_times) - 0.5, began + max(ping_times) + 1.5
    kept = [lat for lat, at in zip(latencies, received_at, strict=True) if not start <= at <= end]
    return percentiles(kept)


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """The --server-env KEY=VALUE settings (e.g. DENTALCARE_WS_PING_SECONDS=3600)."""
    pairs = [item.split("=", 1) for item in args.server_env]
    if any(len(pair) != 2 or not pair[0].startswith("DENTALCARE_") for pair in pairs):
        raise SystemExit("--server-env takes DENTALCARE_NAME=value")
    return dict(pairs)


def ratio(value: float | None, reference: float | None) -> float | None:
    """value / reference, rounded (None when either is missing)."""
    if not value or not reference:
        return None
    return round(value / reference, 2)


def one_run(args: argparse.Namespace, profile: Profile, number: int) -> dict[str, Any]:
    """Set up, connect, drive, count; the figures of one run."""
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(embedded_postgres())
        clinic = run(
            realtime_load.seed(
                pg.url, dentists=profile.dentists, patients=profile.patients, admins=profile.admins
            )
        )
        log(f"run {number}: seeded {len(clinic.dentists)} dentists, {profile.patients} patients")
        extra_env = {**CROWD_ENV, **server_env(args), "DENTALCARE_SECRET_KEY": SECRET}
        hooks = args.gc_trace or args.stagger_pings
        folder = stack.enter_context(server_hooks(extra_env)) if hooks else None
        gc_log = None
        if folder is not None and args.gc_trace:
            gc_log = extra_env["DENTALCARE_BENCH_GC_LOG"] = str(Path(folder) / "gc.log")
        if args.stagger_pings:
            extra_env["DENTALCARE_BENCH_STAGGER_PINGS"] = "1"
        service: Service = stack.enter_context(running_service(pg.url, extra_env=extra_env))
        sampler = stack.enter_context(ResourceSampler(service.pid))
        rss_idle = sampler.sample()
        settings = Settings(secret_key=SecretStr(SECRET), env="test")
        sockets = plan_sockets(profile, clinic, settings)
        log(f"run {number}: connecting {len(sockets)} sockets from {profile.processes} processes")
        connect_began = time.monotonic()
        workers = stack.enter_context(client_processes(sockets, profile.processes, service.port))
        ready = [receive(pipe, 600)[1] for _, pipe in workers]
        connect_s = time.monotonic() - connect_began
        connected = sum(r["connected"] for r in ready)
        failed = sum(r["failed"] for r in ready)
        log(f"run {number}: {connected} connected, {failed} failed, in {connect_s:.1f} s")
        if failed:
            log(f"connect failures: {[f for r in ready for f in r['failures']][:3]}")
        rss_connected = sampler.sample()
        full_pass = frozen_pass = None
        if gc_log:  # one full collection with every socket connected, timed in the server
            full_pass = timed_full_pass(service.pid, gc_log)
            if args.gc_freeze:  # the experiment: gc.freeze() once the sockets are in
                asked = time.time()
                os.kill(service.pid, signal.SIGUSR2)
                deadline = time.monotonic() + 30
                while "frozen_objects" not in realtime_gcprobe.read(gc_log, 0):  # the only one
                    if time.monotonic() > deadline:
                        tail = Path(gc_log).read_text().splitlines()[-5:]
                        raise RuntimeError(f"no freeze after {asked:.3f}: {tail}")
                    time.sleep(0.1)
                frozen_pass = timed_full_pass(service.pid, gc_log)
                frozen_pass = {**(frozen_pass or {}), **realtime_gcprobe.read(gc_log, asked)}
                frozen_pass.pop("gen2", None)

        reference_idle = run(realtime_load.notify_round_trips(pg.url, samples=300, interval=0.005))
        start_seq = run(realtime_load.latest_seq(pg.url))

        client_pids = [process.pid for process, _ in workers if process.pid]
        cpu_before = {
            "server": service.cpu_seconds(),
            "postgres": pg.cpu_seconds(),
            "clients": sum(tree_cpu_seconds(pid) for pid in client_pids),
            "driver": own_cpu_seconds(),
            "machine": machine_busy_seconds(),
        }
        log(f"run {number}: driving {args.rate}/s for {args.duration} s")
        profile_out = (
            Path(args.py_spy) / f"realtime-{args.profile}-{number}.txt" if args.py_spy else None
        )
        with py_spy(service.pid, profile_out, args.duration):
            wall_began, drive_began = time.monotonic(), time.time()
            drive, reference_load = run(drive_with_probe(pg.url, clinic, args))
            wall = time.monotonic() - wall_began
        gc_pauses = realtime_gcprobe.read(gc_log, drive_began, time.time()) if gc_log else None
        if gc_log and args.output:  # every pass, for a closer look
            shutil.copyfile(gc_log, f"{args.output}.gc-{number}.log")
        cpu = {
            "server": service.cpu_seconds() - cpu_before["server"],
            "postgres": pg.cpu_seconds() - cpu_before["postgres"],
            "clients": sum(tree_cpu_seconds(pid) for pid in client_pids) - cpu_before["clients"],
            "driver": own_cpu_seconds() - cpu_before["driver"],
            "machine": machine_busy_seconds() - cpu_before["machine"],
        }
        by_topic, kinds = run(realtime_load.expected_by_topic(pg.url, start_seq))
        log(
            f"run {number}: {drive.bookings} bookings, {drive.cancellations} cancellations, "
            "settling"
        )
        for _, pipe in workers:
            pipe.send(("expect", by_topic, args.settle))
        results = [receive(pipe, args.settle + 120)[1] for _, pipe in workers]
        admin_token = plan_sockets(profile, clinic, settings)[-1][2]
        assert admin_token is not None
        stats = server_stats(service.port, admin_token)
        rss_end = sampler.sample()

    latencies, received_at = array("d"), array("d")
    for result in results:
        latencies.frombytes(result.pop("latencies"))
        received_at.frombytes(result.pop("received_at"))
    per_second = timeline(latencies, received_at, drive_began)
    delivery = {
        key: sum(r[key] for r in results)
        for key in ("expected", "delivered", "lost", "unexpected", "duplicates", "out_of_order")
    }
    delivery["disconnects"] = sum(r["disconnects"] for r in results)
    delivery["incomplete_sockets"] = sum(r["incomplete_sockets"] for r in results)
    delivery["settle_s"] = max(r["settle_s"] for r in results)
    delivery["server_pings_answered"] = sum(r["server_pings"] for r in results)
    ping_times = [t - drive_began for r in results for t in r["server_ping_times"]]
    latency = percentiles(latencies)
    ref_idle, ref_load = percentiles(reference_idle), percentiles(reference_load)
    changes = drive.bookings + drive.cancellations
    return {
        "sockets": {
            "availability": profile.dentists * profile.availability_per_dentist,
            "patients": profile.patients,
            "dentists": profile.dentist_sockets,
            "admins": profile.admins,
            "connected": connected,
            "failed": failed,
            "client_processes": profile.processes,
            "connect_s": round(connect_s, 2),
        },
        "changes": {
            "bookings": drive.bookings,
            "cancellations": drive.cancellations,
            "failures": drive.failures,
            "per_s": round(changes / drive.seconds, 1),
            "driver_commit_ms": percentiles(drive.commit_ms),
            "driver_max_lag_ms": round(drive.max_lag_ms, 1),
            "events_logged": kinds,
        },
        "messages": {
            **delivery,
            "per_change": round(delivery["expected"] / changes, 1) if changes else None,
            "delivered_per_s": round(delivery["delivered"] / drive.seconds),
        },
        "latency_ms": latency,
        "worst_second": max(per_second, key=lambda row: row[3]) if per_second else None,
        # Diagnosis: the same figures without the messages received from 0.5 s before the
        # keepalive sweep reached the clients to 1.5 s after it ended.
        "latency_ms_outside_ping_sweep": outside_window(
            latencies, received_at, drive_began, ping_times
        ),
        "timeline_s_n_p99_max": per_second,
        # When the server's keepalive pings reached the clients (s from the drive's start).
        "ping_sweep_s": [round(min(ping_times), 2), round(max(ping_times), 2)]
        if ping_times
        else None,
        "reference_ms": {"idle": ref_idle, "under_load": ref_load},
        "ratios": {
            "p50_vs_ref_idle": ratio(latency.get("p50_ms"), ref_idle.get("p50_ms")),
            "p99_vs_ref_idle": ratio(latency.get("p99_ms"), ref_idle.get("p99_ms")),
            "p50_vs_ref_under_load": ratio(latency.get("p50_ms"), ref_load.get("p50_ms")),
            "p99_vs_ref_under_load": ratio(latency.get("p99_ms"), ref_load.get("p99_ms")),
        },
        "server": {
            "rss_mib": {
                "idle": round(rss_idle / 2**20, 1),
                "connected": round(rss_connected / 2**20, 1),
                "end": round(rss_end / 2**20, 1),
                "peak": round(sampler.peak / 2**20, 1),
            },
            "cpu_percent": round(100 * cpu["server"] / wall, 1),
            "own_commit_to_send_ms": stats.get("latency_ms"),
            "gc_pauses_while_driving": gc_pauses,
            "gc_full_pass_when_connected": full_pass,
            "gc_full_pass_after_freeze": frozen_pass,
            "events": stats.get("events"),
        },
        "cpu_percent": {
            **{key: round(100 * value / wall, 1) for key, value in cpu.items()},
            # Everything else running on the machine meanwhile (other people's work).
            "others": round(
                100 * (cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine")) / wall,
                1,
            ),
        },
        "errors": [e for r in results for e in r["errors"]][:5],
    }


FIGURES = (
    ("latency_ms", "p50_ms"),
    ("latency_ms", "p99_ms"),
    ("latency_ms", "max_ms"),
    ("reference_ms", "under_load", "p50_ms"),
    ("reference_ms", "under_load", "p99_ms"),
    ("reference_ms", "idle", "p50_ms"),
    ("reference_ms", "idle", "p99_ms"),
    ("ratios", "p99_vs_ref_under_load"),
    ("messages", "delivered_per_s"),
    ("messages", "lost"),
    ("messages", "duplicates"),
    ("server", "rss_mib", "peak"),
    ("server", "cpu_percent"),
    ("cpu_percent", "clients"),
    ("cpu_percent", "postgres"),
    ("cpu_percent", "machine"),
    ("cpu_percent", "others"),
    ("latency_ms_outside_ping_sweep", "p99_ms"),
)


def dig(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    """data[path[0]][path[1]]…, or None."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data


def summarize(
    args: argparse.Namespace, runs: list[dict[str, Any]], before: dict[str, Any]
) -> dict[str, Any]:
    """The one JSON line: medians of every figure, verdicts, and each run in full."""
    median: dict[str, Any] = {}
    for path in FIGURES:
        values = [v for v in (dig(r, path) for r in runs) if isinstance(v, int | float)]
        median[".".join(path)] = round(statistics.median(values), 3) if values else None
    worst_lost = max(r["messages"]["lost"] for r in runs)
    worst_dup = max(r["messages"]["duplicates"] + r["messages"]["out_of_order"] for r in runs)
    targets = {
        "p99_below_50ms": (median["latency_ms.p99_ms"] or 1e9) < 50,
        "lost_zero_in_every_run": worst_lost == 0
        and all(r["messages"]["unexpected"] == 0 for r in runs),
        "duplicates_zero_in_every_run": worst_dup == 0,
        "rss_below_1gib": max(r["server"]["rss_mib"]["peak"] for r in runs) < 1024,
    }
    return {
        "bench": "realtime",
        "profile": args.profile,
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "cancel_share": args.cancel_share,
        "driver": "sql: one single-statement transaction per change as the owner, then NOTIFY",
        "server_env": server_env(args),
        "experiments": {
            name: True
            for name, on in (("gc_freeze", args.gc_freeze), ("stagger_pings", args.stagger_pings))
            if on
        },
        "runs": len(runs),
        "median": median,
        "targets": targets,
        "passed": all(targets.values()),
        "machine": before,
        "code": code_version(),
        "each_run": runs,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="chain-1k")
    parser.add_argument("--rate", type=float, default=200.0, help="changes per second (200)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    parser.add_argument("--cancel-share", type=float, default=0.1, help="share of cancellations")
    parser.add_argument("--runs", type=int, default=1, help="repeat, report medians (1)")
    parser.add_argument("--settle", type=float, default=30.0, help="max wait for stragglers (s)")
    parser.add_argument("--processes", type=int, default=None, help="client processes")
    parser.add_argument("--output", default=None, help="JSON file (bench/results/…)")
    parser.add_argument("--py-spy", default=None, metavar="DIR", help="profile the server")
    parser.add_argument("--gc-trace", action="store_true", help="time the server's GC passes")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="experiment (with --gc-trace): gc.freeze() in the server once connected",
    )
    parser.add_argument(
        "--stagger-pings",
        action="store_true",
        help="experiment: a rolling keepalive (bench/realtime_patches.py) in the server",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="DENTALCARE_NAME=VALUE",
        help="a server setting for an A/B run (repeatable)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, print one JSON line, write it to the results file."""
    args = parse_args(argv)
    nofile = realtime_clients.raise_nofile_limit()  # inherited by the server and the clients
    profile = PROFILES[args.profile]
    if args.processes:
        profile = Profile(**{**profile.__dict__, "processes": args.processes})
    log(f"{args.profile}: open-files limit {nofile}")
    before = machine()
    runs = []
    for number in range(1, args.runs + 1):
        runs.append(one_run(args, profile, number))
        latency, messages = runs[-1]["latency_ms"], runs[-1]["messages"]
        log(
            f"run {number}: p50 {latency.get('p50_ms')} ms, p99 {latency.get('p99_ms')} ms, "
            f"lost {messages['lost']}, dup {messages['duplicates']}, "
            f"rss {runs[-1]['server']['rss_mib']['peak']} MiB"
        )
    result = summarize(args, runs, before)
    # The line leaves out the per-second timelines (they stay in the file).
    brief = {
        **result,
        "each_run": [{k: v for k, v in run.items() if k != "timeline_s_n_p99_max"} for run in runs],
    }
    line = json.dumps(brief, separators=(",", ":"))
    output = Path(args.output) if args.output else RESULTS / f"realtime-{args.profile}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(line, flush=True)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
