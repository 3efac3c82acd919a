"""Every benchmark, one after the other, into one report (`make bench`).

    .venv/bin/python -m bench.run_all                      # the standard workloads
    .venv/bin/python -m bench.run_all --quick              # smoke durations, a few minutes
    .venv/bin/python -m bench.run_all --only booking,chatbot
    .venv/bin/python -m bench.run_all --skip realtime_chain_10k

Runs each benchmark as a subprocess (booking with one service process and with
`--workers 2` — the slots figures come with booking —, realtime chain-1k and chain-10k,
the chatbot evaluation in memory and service modes, commit_order, hostile_input,
replay_flood), keeps the ONE JSON
line each prints, and writes into bench/results/:

* latest.json — date, machine, git commit, and per benchmark its status, key figures
  (each beside its same-run reference, the ratio, the target) and its raw JSON line;
* latest.md — one table of those figures;
* latency.png, throughput.png — the plots (bench/report.py).

A benchmark that fails (no JSON line, crash, timeout) is recorded as failed with the tail
of its stderr and the others still run; the exit code is 1 if any failed (with `--strict`,
also if any target was missed). Progress on stderr; one JSON summary line on stdout.
The benchmarks' own result files (booking.json, realtime-*.json) are left alone: their
output goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import report
from bench.common import RESULTS, ROOT, code_version, log, machine

STDERR_TAIL = 40


@dataclass(frozen=True)
class Bench:
    """One benchmark run: its module, its arguments (full and quick), its figures' kind."""

    name: str
    kind: str
    module: str
    args: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    output_flag: bool = False  # takes --output FILE (kept out of bench/results/)
    aliases: tuple[str, ...] = field(default=())

    def argv(self, options: argparse.Namespace, scratch: Path) -> list[str]:
        extra = list(self.quick_args if options.quick else self.args)
        if self.kind in ("booking", "booking_workers2") and options.booking_duration:
            extra += ["--duration", str(options.booking_duration)]
        if self.kind == "realtime" and options.realtime_runs:
            extra += ["--runs", str(options.realtime_runs)]
        if self.output_flag:
            extra += ["--output", str(self.output(scratch))]
        return [sys.executable, "-m", self.module, *extra]

    def output(self, scratch: Path) -> Path:
        return scratch / f"{self.name}.json"


BENCHES = (
    Bench(
        "booking",
        "booking",
        "bench.booking",
        ("--duration", "20", "--clients", "32"),
        ("--quick",),
        output_flag=True,
        aliases=("slots",),
    ),
    Bench(
        "booking_workers2",
        "booking_workers2",
        "bench.booking",
        ("--duration", "20", "--clients", "32", "--workers", "2"),
        ("--quick", "--workers", "2"),
        output_flag=True,
    ),
    Bench(
        "realtime_chain_1k",
        "realtime",
        "bench.realtime",
        ("--profile", "chain-1k"),
        ("--profile", "chain-1k", "--duration", "5", "--settle", "10"),
        output_flag=True,
        aliases=("realtime", "chain-1k"),
    ),
    Bench(
        "realtime_chain_10k",
        "realtime",
        "bench.realtime",
        ("--profile", "chain-10k"),
        ("--profile", "chain-10k", "--duration", "5", "--settle", "15"),
        output_flag=True,
        aliases=("realtime", "chain-10k"),
    ),
    Bench(
        "realtime_capacity",
        "realtime_capacity",
        "bench.realtime_capacity",
        ("--profile", "chain-10k", "--workers", "1,2"),
        ("--profile", "chain-1k", "--rates", "50,100", "--duration", "3", "--modes", "unpinned"),
        output_flag=True,
        aliases=("realtime", "capacity"),
    ),
    Bench(
        "chatbot_memory",
        "chatbot",
        "bench.chatbot_eval",
        ("--clinic", "memory"),
        ("--clinic", "memory", "--rounds", "1"),
        aliases=("chatbot",),
    ),
    Bench(
        "chatbot_service",
        "chatbot",
        "bench.chatbot_eval",
        ("--clinic", "service"),
        ("--clinic", "service", "--rounds", "1"),
        aliases=("chatbot",),
    ),
    Bench(
        "commit_order",
        "commit_order",
        "bench.commit_order",
        (),
        ("--seconds", "1", "--rounds", "1"),
    ),
    Bench(
        "hostile_input",
        "hostile_input",
        "bench.hostile_input",
        (),
        ("--rounds", "1", "--repeats", "1"),
        aliases=("hostile",),
    ),
    Bench(
        "booking_path",
        "booking_path",
        "bench.booking_path",
        (),
        ("--bookings", "150"),
        aliases=("booking",),
    ),
    Bench(
        "booking_ab",
        "booking_ab",
        "bench.booking_ab",
        (),
        ("--rounds", "2", "--slice", "1"),
        aliases=("booking", "outbox"),
    ),
    Bench(
        "replay_flood",
        "replay_flood",
        "bench.replay_flood",
        (),
        ("--rounds", "1", "--window", "1"),
        aliases=("realtime", "flood"),
    ),
)


def _names(value: str) -> list[str]:
    return [n.strip().replace("-", "_") for n in value.split(",") if n.strip()]


def _matches(bench: Bench, wanted: list[str]) -> bool:
    keys = {bench.name, bench.kind, *(a.replace("-", "_") for a in bench.aliases)}
    return any(w in keys for w in wanted)


def select(options: argparse.Namespace) -> list[tuple[Bench, bool]]:
    """Every benchmark with whether it runs this time (--only / --skip)."""
    known = {
        key for b in BENCHES for key in (b.name, b.kind, *(a.replace("-", "_") for a in b.aliases))
    }
    only = [n for v in options.only for n in _names(v)]
    skip = [n for v in options.skip for n in _names(v)]
    unknown = sorted(set(only + skip) - known)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {sorted(known)}")
    return [
        (b, (not only or _matches(b, only)) and not (skip and _matches(b, skip))) for b in BENCHES
    ]


# ============================================================================ running


class Child:
    """A benchmark subprocess in its own process group; stderr forwarded and its tail kept."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # our Ctrl-C / timeout reaches it only through us
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.stdout = b""
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            print(f"  [{self.name}] {line}", file=sys.stderr, flush=True)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None after `timeout` seconds (then the group is stopped)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        finally:
            for thread in self._threads:
                thread.join(timeout=10)
        return code

    def stop(self) -> None:
        """SIGINT to its process group (the benchmarks clean up on it), then harder."""
        for sig, grace in ((signal.SIGINT, 60.0), (signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            if self.process.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)


def json_line(stdout: bytes) -> dict[str, Any] | None:
    """The last line of stdout that is a JSON object."""
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(orjson.JSONDecodeError):
                value = orjson.loads(line)
                if isinstance(value, dict):
                    return value
    return None


def run_one(bench: Bench, options: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Run one benchmark; its entry for latest.json."""
    argv = bench.argv(options, scratch)
    shown = " ".join(["python", *argv[1:]]).replace(str(scratch) + "/", "$TMP/")
    log(f"{bench.name}: {shown}")
    entry: dict[str, Any] = {
        "kind": bench.kind,
        "command": shown,
        "loadavg_1m_before": round(os.getloadavg()[0], 2),
    }
    began = time.monotonic()
    child = Child(bench.name, argv)
    try:
        code = child.wait(options.timeout)
    except BaseException:
        child.stop()
        raise
    entry["seconds"] = round(time.monotonic() - began, 1)
    entry["exit_code"] = code
    raw = json_line(child.stdout)
    if code is None:
        entry.update(status="failed", reason=f"timeout after {options.timeout:g} s")
    elif raw is None:
        entry.update(status="failed", reason=f"exit code {code}, no JSON line on stdout")
    else:
        # A JSON line means it measured; a non-zero exit then is its own verdict.
        entry["status"] = "ok" if code == 0 else "missed"
    if raw is not None:
        entry["figures"] = report.figures_for(bench.kind, raw)
        entry["raw"] = raw
        series = _series(bench, scratch)
        if series:
            entry["series"] = series
    if entry["status"] == "failed" or code:
        entry["stderr_tail"] = list(child.tail)[-20:]
    log(f"{bench.name}: {entry['status']} in {entry['seconds']} s")
    return entry


def _series(bench: Bench, scratch: Path) -> dict[str, Any]:
    """Time series the JSON line leaves out but the benchmark's result file keeps."""
    if bench.kind != "realtime":
        return {}
    with contextlib.suppress(OSError, orjson.JSONDecodeError):
        full = orjson.loads(bench.output(scratch).read_bytes())
        timelines = [run.get("timeline_s_n_p99_max") for run in full.get("each_run") or []]
        if any(timelines):
            return {"timeline_s_n_p99_max": [t or [] for t in timelines]}
    return {}


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        return ""

    return {
        **code_version(),
        "commit_full": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
    }


def machine_info() -> dict[str, Any]:
    info = machine()
    info.pop("loadavg_1m_before", None)
    info.pop("loadavg_5m_before", None)
    info["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
    return info


# ============================================================================ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    names = ", ".join(b.name for b in BENCHES)
    parser = argparse.ArgumentParser(
        prog="python -m bench.run_all",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smoke durations (a few minutes)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME[,NAME]",
        help=f"run only these ({names}; or booking, slots, realtime, chatbot, hostile, flood)",
    )
    parser.add_argument("--skip", action="append", default=[], metavar="NAME[,NAME]")
    parser.add_argument(
        "--booking-duration", type=float, default=None, help="booking seconds (20; quick 5)"
    )
    parser.add_argument(
        "--realtime-runs", type=int, default=None, help="realtime runs, medians over them (1)"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds per benchmark (1800; quick 600)"
    )
    parser.add_argument(
        "--results", default=str(RESULTS), help="folder for latest.* and the PNGs (bench/results)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 also if a target is missed")
    options = parser.parse_args(argv)
    if options.timeout is None:
        options.timeout = 600.0 if options.quick else 1800.0
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    plan = select(options)
    command = " ".join(["python -m bench.run_all", *(sys.argv[1:] if argv is None else argv)])
    data: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": options.quick,
        "command": command,
        "machine": machine_info(),
        "git": git_info(),
        "benchmarks": {},
    }

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="dentalcare-bench-") as tmp:
            for bench, selected in plan:
                if not selected:
                    data["benchmarks"][bench.name] = {"kind": bench.kind, "status": "skipped"}
                    continue
                data["benchmarks"][bench.name] = run_one(bench, options, Path(tmp))
    except KeyboardInterrupt:
        log("interrupted: nothing written")
        return 130
    data["duration_s"] = round(time.monotonic() - began, 1)
    data["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]

    folder = Path(options.results)
    folder.mkdir(parents=True, exist_ok=True)
    statuses = {name: b["status"] for name, b in data["benchmarks"].items()}
    missed = [
        f"{name}: {f['label']}"
        for name, b in data["benchmarks"].items()
        for f in b.get("figures") or []
        if f.get("met") is False
    ]
    data["summary"] = {"statuses": statuses, "targets_missed": missed}
    (folder / "latest.json").write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    written = report.render(data, folder)
    failed = [name for name, status in statuses.items() if status == "failed"]
    summary = {
        "bench": "run_all",
        "quick": options.quick,
        "duration_s": data["duration_s"],
        "ran": [n for n, s in statuses.items() if s != "skipped"],
        "failed": failed,
        "targets_missed": len(missed),
        "targets_met": sum(
            1 for b in data["benchmarks"].values() for f in b.get("figures") or [] if f.get("met")
        ),
        "written": [str(folder / "latest.json"), *written.values()],
    }
    print(orjson.dumps(summary).decode(), flush=True)
    return 1 if failed or (options.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
