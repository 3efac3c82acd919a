"""The benchmark report: key figures, the Markdown table and the plots, from latest.json.

`bench.run_all` calls this after running the benchmarks; it can also be run alone to
render the table and the plots again from a results file:

    .venv/bin/python -m bench.report [bench/results/latest.json]

Every figure is a value beside a reference measured in the same run (and the ratio),
with the target of BENCHMARKS.md where there is one. Figures are medians (p50) and
tails (p99, max) over every sample of the run, never one sample.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench.common import RESULTS

Figure = dict[str, Any]

# BENCHMARKS.md, for benchmarks whose JSON does not carry its own targets.
REALTIME_P99_MS = 50.0
RSS_LIMIT_MIB = 1024.0
CHATBOT_TURN_P99_MS = 50.0


# ============================================================================ figures


def dig(data: Any, *path: str | int) -> Any:
    """data[path[0]][path[1]]…, or None when any step is missing."""
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _met(value: float | None, op: str | None, target: float | None) -> bool | None:
    if value is None or op is None or target is None:
        return None
    if op == ">=":
        return value >= target
    if op == "<":
        return value < target
    if op == "<=":
        return value <= target
    return value == target


def figure(
    key: str,
    label: str,
    unit: str,
    value: Any,
    reference: Any = None,
    reference_what: str | None = None,
    *,
    op: str | None = None,
    target: float | None = None,
) -> Figure:
    """One row: value, same-run reference, ratio (value / reference), target, met."""
    v, r = _number(value), _number(reference)
    return {
        "key": key,
        "label": label,
        "unit": unit,
        "value": v,
        "reference": r,
        "reference_what": reference_what,
        "ratio": round(v / r, 3) if v is not None and r else None,
        "target": None if op is None else {"op": op, "value": target},
        "met": _met(v, op, target),
    }


def _booking(raw: dict[str, Any], tag: str, *, with_slots: bool) -> list[Figure]:
    targets = raw.get("targets") or {}
    b, ref = raw.get("booking") or {}, raw.get("reference_asyncpg") or {}
    ref_what = "same INSERTs via asyncpg, same clients"
    out = [
        figure(
            "bookings_per_s",
            f"bookings/s{tag}",
            "/s",
            b.get("per_s"),
            ref.get("per_s"),
            ref_what,
            op=">=",
            target=targets.get("bookings_per_s", 1000),
        ),
        figure(
            "booking_p50_ms",
            f"booking p50{tag}",
            "ms",
            dig(b, "latency", "p50_ms"),
            dig(ref, "latency", "p50_ms"),
            ref_what,
        ),
        figure(
            "booking_p99_ms",
            f"booking p99{tag}",
            "ms",
            dig(b, "latency", "p99_ms"),
            dig(ref, "latency", "p99_ms"),
            ref_what,
            op="<",
            target=targets.get("p99_ms", 50),
        ),
        figure(
            "booking_errors",
            f"booking errors{tag}",
            "",
            b.get("errors"),
            b.get("requests"),
            "requests made",
            op="==",
            target=0,
        ),
    ]
    if not with_slots:
        return out
    health = dig(raw, "slots_reference", "health_roundtrip") or {}
    slots = dig(raw, "slots_62d", "latency") or {}
    directory = raw.get("directory_14d") or {}
    sweep = directory.get("sequential_sweep") or {}
    dentists = _number(directory.get("dentists")) or 50.0

    def times(value: Any) -> float | None:
        n = _number(value)
        return round(n * dentists, 3) if n is not None else None

    sweep_what = f"{int(dentists)} × GET /api/health round trip p50 (the floor of the sweep)"
    return out + [
        figure(
            "slots_62d_p50_ms",
            "slots 62 d, one dentist p50",
            "ms",
            slots.get("p50_ms"),
            health.get("p50_ms"),
            "GET /api/health round trip",
        ),
        figure(
            "slots_62d_p99_ms",
            "slots 62 d, one dentist p99",
            "ms",
            slots.get("p99_ms"),
            health.get("p99_ms"),
            "GET /api/health round trip",
            op="<",
            target=targets.get("slots_p99_ms", 10),
        ),
        figure(
            "directory_14d_sweep_p50_ms",
            "directory 14 d sweep (50 dentists) p50",
            "ms",
            sweep.get("p50_ms"),
            times(health.get("p50_ms")),
            sweep_what,
        ),
        figure(
            "directory_14d_sweep_p99_ms",
            "directory 14 d sweep (50 dentists) p99",
            "ms",
            sweep.get("p99_ms"),
            times(health.get("p50_ms")),
            sweep_what,
        ),
    ]


def booking_figures(raw: dict[str, Any]) -> list[Figure]:
    """Booking with one service process, and the slots figures measured in that run."""
    return _booking(raw, "", with_slots=True)


def booking_workers2_figures(raw: dict[str, Any]) -> list[Figure]:
    """Booking against `dentalcare serve --workers 2`."""
    return _booking(raw, " (2 workers)", with_slots=False)


def realtime_median(raw: dict[str, Any], *path: str) -> float | None:
    """The median over the runs of one figure of `each_run`."""
    values = [_number(dig(run, *path)) for run in raw.get("each_run") or []]
    numbers = [v for v in values if v is not None]
    return round(statistics.median(numbers), 3) if numbers else None


def realtime_figures(raw: dict[str, Any]) -> list[Figure]:
    """Commit→client latency, delivery, loss, duplicates and memory of one profile."""
    profile = raw.get("profile", "?")
    tag = f" ({profile})"

    def m(*path: str) -> float | None:
        return realtime_median(raw, *path)

    ref_what = "INSERT→NOTIFY→LISTEN on the same database, under the load"
    duration = _number(raw.get("duration_s"))
    expected = m("messages", "expected")
    expected_per_s = round(expected / duration, 1) if expected and duration else None
    duplicates = [
        (_number(dig(r, "messages", "duplicates")) or 0.0)
        + (_number(dig(r, "messages", "out_of_order")) or 0.0)
        for r in raw.get("each_run") or []
    ]
    return [
        figure(
            "commit_to_client_p50_ms",
            f"realtime commit→client p50{tag}",
            "ms",
            m("latency_ms", "p50_ms"),
            m("reference_ms", "under_load", "p50_ms"),
            ref_what,
        ),
        figure(
            "commit_to_client_p99_ms",
            f"realtime commit→client p99{tag}",
            "ms",
            m("latency_ms", "p99_ms"),
            m("reference_ms", "under_load", "p99_ms"),
            ref_what,
            op="<",
            target=REALTIME_P99_MS,
        ),
        figure(
            "commit_to_client_max_ms",
            f"realtime commit→client max{tag}",
            "ms",
            m("latency_ms", "max_ms"),
            m("reference_ms", "under_load", "max_ms"),
            ref_what,
        ),
        figure(
            "delivered_per_s",
            f"realtime delivered msg/s{tag}",
            "/s",
            m("messages", "delivered_per_s"),
            expected_per_s,
            "messages expected per second (the offered load)",
        ),
        figure(
            "lost",
            f"realtime lost{tag}",
            "",
            max((dig(r, "messages", "lost") or 0 for r in raw.get("each_run") or []), default=None),
            expected,
            "messages expected",
            op="==",
            target=0,
        ),
        figure(
            "duplicates",
            f"realtime duplicates{tag}",
            "",
            max(duplicates) if duplicates else None,
            expected,
            "messages expected",
            op="==",
            target=0,
        ),
        figure(
            "server_rss_mib",
            f"realtime server RSS peak{tag}",
            "MiB",
            max(
                (dig(r, "server", "rss_mib", "peak") or 0 for r in raw.get("each_run") or []),
                default=None,
            ),
            m("server", "rss_mib", "idle"),
            "the same server before any socket",
            op="<",
            target=RSS_LIMIT_MIB,
        ),
    ]


def chatbot_figures(raw: dict[str, Any]) -> list[Figure]:
    """Task success and turn latency of the booking assistant."""
    tag = f" ({raw.get('clinic', '?')})"
    ref_what = "understanding only (rules + dateparser + RapidFuzz), same turns"
    p99_target = _number(raw.get("target_turn_p99_ms")) or CHATBOT_TURN_P99_MS
    rate = _number(raw.get("task_success_rate"))
    return [
        figure(
            "task_success_pct",
            f"chatbot success rate{tag}",
            "%",
            None if rate is None else round(100 * rate, 2),
            None,
            None,
            op="==",
            target=100.0,
        ),
        figure(
            "turn_p50_ms",
            f"chatbot turn p50{tag}",
            "ms",
            dig(raw, "turn", "p50_ms"),
            dig(raw, "reference", "p50_ms"),
            ref_what,
        ),
        figure(
            "turn_p99_ms",
            f"chatbot turn p99{tag}",
            "ms",
            dig(raw, "turn", "p99_ms"),
            dig(raw, "reference", "p99_ms"),
            ref_what,
            op="<",
            target=p99_target,
        ),
    ]


def commit_order_figures(raw: dict[str, Any]) -> list[Figure]:
    """The event log's shared-lock trigger against a trigger that only inserts."""
    medians = raw.get("median") or {}
    ours: dict[str, Any] = next((v for k, v in medians.items() if "ours" in k), {})
    ref = medians.get("reference_no_lock") or {}
    ref_what = f"{raw.get('clients', 32)} connections, trigger that only inserts"
    return [
        figure(
            "commits_per_s",
            "commit-order commits/s (shared lock, ours)",
            "/s",
            ours.get("commits_per_s"),
            ref.get("commits_per_s"),
            ref_what,
        ),
        figure(
            "commit_p99_ms",
            "commit-order commit p99 (shared lock, ours)",
            "ms",
            ours.get("p99_ms"),
            ref.get("p99_ms"),
            ref_what,
        ),
    ]


def realtime_capacity_figures(raw: dict[str, Any]) -> list[Figure]:
    """Capacity at the SLO (changes/s with commit→client p99 < 50 ms, nothing lost) of our
    server and of the bare fan-out floor in the same run, per pinning mode; the longest GC
    pass of ours while driving."""
    capacity = raw.get("capacity_per_s") or {}
    profile = raw.get("profile", "?")
    out: list[Figure] = []
    for name, value in capacity.items():
        if not name.startswith("ours"):
            continue
        mode = name.split("/", 1)[1]
        out.append(
            figure(
                f"capacity_{name.replace('/', '_').replace('-', '_')}",
                f"realtime capacity at SLO, {name} ({profile})",
                "changes/s",
                value,
                capacity.get(f"floor/{mode}"),
                f"bare fan-out floor ({mode}), same sockets, same run",
                op=">=",
                target=0.8 * (_number(capacity.get(f"floor/{mode}")) or 0.0) or None,
            )
        )
    out.append(
        figure(
            "gc_pass_max_ms_while_driving",
            f"realtime longest GC pass while driving ({profile})",
            "ms",
            raw.get("gc_pass_max_ms_while_driving"),
            op="<=",
            target=10.0,
        )
    )
    return out


def hostile_input_figures(raw: dict[str, Any]) -> list[Figure]:
    """Hostile chat input beside ordinary input and idle health, same run (issue 11)."""
    answer, health = raw.get("answer_ms") or {}, raw.get("health_ms") or {}
    understanding = raw.get("understanding") or {}
    targets = raw.get("targets_ms") or {}
    return [
        figure(
            "hostile_understanding_p50_ms",
            "hostile message understanding p50 (2,000 chars)",
            "ms",
            dig(understanding, "hostile_ms", "p50_ms"),
            dig(understanding, "ordinary_ms", "p50_ms"),
            "ordinary messages, same run",
        ),
        figure(
            "hostile_answer_max_ms",
            "hostile chat answer max, 4 in flight",
            "ms",
            dig(answer, "hostile", "max_ms"),
            dig(answer, "ordinary", "max_ms"),
            "an ordinary message, 4 in flight, same run",
            op="<",
            target=targets.get("hostile_answer_max", 1000.0),
        ),
        figure(
            "health_p99_hostile_ms",
            "/api/health p99 with 4 hostile turns in flight",
            "ms",
            dig(health, "hostile", "p99_ms"),
            dig(health, "idle", "p99_ms"),
            "/api/health alone, same run",
            op="<",
            target=targets.get("health_p99_hostile", 250.0),
        ),
    ]


def replay_flood_figures(raw: dict[str, Any]) -> list[Figure]:
    """The others' commit→client latency under a replay flood beside without it (median
    of windows), target within 2×."""
    out: list[Figure] = []
    for name, flood in (raw.get("floods") or {}).items():
        typical = flood.get("median_of_windows_ms") or {}
        for q in ("p50", "p95", "p99"):
            normal = _number(dig(typical, "normal", f"{q}_ms"))
            out.append(
                figure(
                    f"replay_flood_{name.replace('=', '')}_{q}_ms",
                    f"others' commit→client {q} under a {name} replay flood",
                    "ms",
                    dig(typical, "flood", f"{q}_ms"),
                    normal,
                    "the same sockets without the flood, same run",
                    op="<=" if q != "p99" else None,
                    target=2 * normal if normal is not None and q != "p99" else None,
                )
            )
    return out


def booking_path_figures(raw: dict[str, Any]) -> list[Figure]:
    """The booking code's CPU per booking beside the bare INSERT's, and e-mail's share."""
    return [
        figure(
            "booking_path_cpu_ms",
            "a guest booking's CPU (service + PostgreSQL), one at a time",
            "ms",
            dig(raw, "service", "cpu_ms"),
            dig(raw, "reference", "cpu_ms"),
            "the bare INSERT in a transaction with the claims, same run",
        ),
        figure(
            "booking_path_email_cpu_ms",
            "the same booking with its messages written",
            "ms",
            dig(raw, "service_email", "cpu_ms"),
            dig(raw, "service", "cpu_ms"),
            "the booking with e-mail off, same run",
        ),
        figure(
            "booking_path_email_sent_cpu_ms",
            "the same booking with its confirmation delivered by the worker",
            "ms",
            dig(raw, "service_email_sent", "cpu_ms"),
            dig(raw, "service", "cpu_ms"),
            "the booking with e-mail off, same run",
        ),
    ]


def booking_ab_figures(raw: dict[str, Any]) -> list[Figure]:
    """The outbox's cost to booking throughput: the median of paired slices' ratios."""
    return [
        figure(
            "booking_ab_outbox_ratio",
            "bookings/s with the outbox's writes over without, median of paired slices",
            "×",
            dig(raw, "summary", "outbox_over_none", "throughput", "median"),
            op=">=",
            target=0.85,
        ),
        figure(
            "booking_ab_outbox_per_s",
            "bookings/s with the outbox's writes (median slice)",
            "/s",
            dig(raw, "summary", "outbox", "per_s", "median"),
            dig(raw, "summary", "none", "per_s", "median"),
            "e-mail off, slices of the same rounds",
        ),
    ]


FIGURES: dict[str, Callable[[dict[str, Any]], list[Figure]]] = {
    "booking_ab": booking_ab_figures,
    "booking_path": booking_path_figures,
    "booking": booking_figures,
    "realtime_capacity": realtime_capacity_figures,
    "booking_workers2": booking_workers2_figures,
    "realtime": realtime_figures,
    "chatbot": chatbot_figures,
    "commit_order": commit_order_figures,
    "hostile_input": hostile_input_figures,
    "replay_flood": replay_flood_figures,
}


def figures_for(kind: str, raw: dict[str, Any]) -> list[Figure]:
    """The key figures of one benchmark's JSON line (an empty list if it has none)."""
    try:
        return FIGURES[kind](raw)
    except (KeyError, TypeError, ValueError, AttributeError):
        return []


# ============================================================================ Markdown


def fmt(value: float | None, unit: str = "") -> str:
    """A number for the table: few digits, thousands separated."""
    if value is None:
        return "—"
    size = abs(value)
    if value == int(value) and size >= 1 or size >= 100:
        text = f"{value:,.0f}"
    elif size >= 10:
        text = f"{value:.1f}"
    elif size >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.2g}"
    return f"{text} {unit}".rstrip() if unit not in ("", "/s") else text


def fmt_ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}×" if value >= 0.01 or value == 0 else f"{value:.1e}×"


def fmt_target(target: dict[str, Any] | None, unit: str) -> str:
    if not target:
        return "—"
    op = {"==": "=", ">=": "≥", "<=": "≤"}.get(target["op"], target["op"])
    return f"{op} {fmt(_number(target['value']), unit)}"


def fmt_met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def _when(data: dict[str, Any]) -> str:
    text = str(data.get("date") or "")
    return text[:16].replace("T", " ") + " UTC" if text.endswith("+00:00") else text


def machine_line(data: dict[str, Any]) -> str:
    m = data.get("machine") or {}
    load = m.get("loadavg_before") or []
    parts = [
        f"{m.get('cores')} cores",
        str(m.get("cpu_model") or "unknown CPU"),
        f"Python {m.get('python')}",
        f"load average {', '.join(f'{x:.2f}' for x in load)} (1/5/15 min) before",
    ]
    return " · ".join(parts)


def markdown(data: dict[str, Any]) -> str:
    """latest.md: a header line, one table, then what each reference is and any failure."""
    git = data.get("git") or {}
    dirty = git.get("src_changes")
    commit = f"commit {git.get('commit')}" + (
        f" (+{dirty} uncommitted changes in src/)" if dirty else ""
    )
    kind = (
        '**QUICK RUN** (smoke durations, not the standard workloads; `"quick": true`)'
        if data.get("quick")
        else "full run"
    )
    lines = [
        "# Benchmarks — latest run",
        "",
        f"{_when(data)} · {machine_line(data)} · {commit} · {kind} · "
        f"`{data.get('command')}`, {fmt(_number(data.get('duration_s')))} s",
        "",
        "| figure | value | same-run reference | ratio | target | met? |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    notes: dict[str, str] = {}
    failures: list[str] = []
    for name, bench in (data.get("benchmarks") or {}).items():
        status = bench.get("status")
        if status == "skipped":
            continue
        if status == "failed":
            lines.append(f"| {name} | **failed** | — | — | — | **no** |")
            tail = (bench.get("stderr_tail") or ["(no stderr)"])[-1]
            failures.append(f"- `{name}` failed ({bench.get('reason')}): `{tail.strip()}`")
            continue
        for f in bench.get("figures") or []:
            mark = ""
            if f.get("reference_what"):
                what = f["reference_what"]
                mark = notes.setdefault(what, chr(ord("a") + len(notes)))
                mark = f" <sup>{mark}</sup>"
            lines.append(
                f"| {f['label']} | {fmt(f['value'], f['unit'])} "
                f"| {fmt(f['reference'], f['unit'])}{mark} | {fmt_ratio(f['ratio'])} "
                f"| {fmt_target(f['target'], f['unit'])} | {fmt_met(f['met'])} |"
            )
    lines.append("")
    if notes:
        lines.append(
            "References: "
            + "; ".join(f"<sup>{mark}</sup> {what}" for what, mark in notes.items())
            + ". Ratio = value / reference."
        )
        lines.append("")
    loads = [
        f"{name} {b['loadavg_1m_before']:.2f} ({b.get('seconds', 0):.0f} s)"
        for name, b in (data.get("benchmarks") or {}).items()
        if isinstance(b.get("loadavg_1m_before"), int | float)
    ]
    after = (data.get("machine") or {}).get("loadavg_after") or []
    if loads:
        lines.append(
            "1-minute load average before each benchmark (and its wall time): "
            + ", ".join(loads)
            + (f"; after all: {after[0]:.2f}." if after else ".")
        )
        lines.append("")
    skipped = [n for n, b in (data.get("benchmarks") or {}).items() if b.get("status") == "skipped"]
    if skipped:
        lines.append(f"Not run this time: {', '.join(skipped)}.")
        lines.append("")
    if failures:
        lines += ["Failed:", "", *failures, ""]
    lines.append("![latency](latency.png) ![throughput](throughput.png)")
    return "\n".join(lines) + "\n"


# ============================================================================ plots

# Percentiles as a "number of nines" axis: p50 → 0.3, p90 → 1, p99 → 2, p99.9 → 3.
PERCENTILE_KEYS = (("p50_ms", 50.0), ("p90_ms", 90.0), ("p99_ms", 99.0), ("p999_ms", 99.9))
MAX_X = 3.6


def _nines(q: float) -> float:
    import math

    return -math.log10(1.0 - q / 100.0)


def percentile_curve(stats: dict[str, Any] | None) -> tuple[list[float], list[float]]:
    """(x, y) of a latency summary: the percentiles it has, then its max."""
    xs: list[float] = []
    ys: list[float] = []
    for key, q in PERCENTILE_KEYS:
        value = _number((stats or {}).get(key))
        if value is not None:
            xs.append(_nines(q))
            ys.append(value)
    top = _number((stats or {}).get("max_ms"))
    if top is not None and xs:
        xs.append(MAX_X)
        ys.append(top)
    return xs, ys


def _raw(data: dict[str, Any], name: str) -> dict[str, Any]:
    bench = (data.get("benchmarks") or {}).get(name) or {}
    return bench.get("raw") or {} if bench.get("status") != "failed" else {}


def _realtime_stats(raw: dict[str, Any], *path: str) -> dict[str, Any]:
    keys = [k for k, _ in PERCENTILE_KEYS] + ["max_ms"]
    return {k: realtime_median(raw, *path, k) for k in keys}


def plot_latency(data: dict[str, Any], out: Path) -> None:
    """Latency percentile curves (p50 … max) of every benchmark beside its reference."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.2), dpi=90)
    panels: list[tuple[str, float | None, list[tuple[str, dict[str, Any] | None, str]]]] = []
    b1, b2 = _raw(data, "booking"), _raw(data, "booking_workers2")
    panels.append(
        (
            "Booking: POST /api/appointments, 32 clients",
            _number(dig(b1, "targets", "p99_ms")) or 50.0,
            [
                ("service, 1 process", dig(b1, "booking", "latency"), "-"),
                ("service, --workers 2", dig(b2, "booking", "latency"), "-"),
                ("ref: asyncpg INSERTs", dig(b1, "reference_asyncpg", "latency"), "--"),
                ("ref (2-worker run)", dig(b2, "reference_asyncpg", "latency"), "--"),
            ],
        )
    )
    r1, r10 = _raw(data, "realtime_chain_1k"), _raw(data, "realtime_chain_10k")
    panels.append(
        (
            "Realtime: commit → client, every message",
            REALTIME_P99_MS,
            [
                ("chain-1k", _realtime_stats(r1, "latency_ms") if r1 else None, "-"),
                ("chain-10k", _realtime_stats(r10, "latency_ms") if r10 else None, "-"),
                (
                    "ref: NOTIFY→LISTEN (1k run)",
                    _realtime_stats(r1, "reference_ms", "under_load") if r1 else None,
                    "--",
                ),
                (
                    "ref: NOTIFY→LISTEN (10k run)",
                    _realtime_stats(r10, "reference_ms", "under_load") if r10 else None,
                    "--",
                ),
            ],
        )
    )
    panels.append(
        (
            "Slots: 62 days of one dentist (GET)",
            _number(dig(b1, "targets", "slots_p99_ms")) or 10.0,
            [
                ("service", dig(b1, "slots_62d", "latency"), "-"),
                ("ref: GET /api/health", dig(b1, "slots_reference", "health_roundtrip"), "--"),
                ("ref: SQL snapshot only", dig(b1, "slots_reference", "sql_snapshot_62d"), ":"),
            ],
        )
    )
    cm, cs = _raw(data, "chatbot_memory"), _raw(data, "chatbot_service")
    panels.append(
        (
            "Chatbot: one turn",
            CHATBOT_TURN_P99_MS,
            [
                ("in-memory clinic", cm.get("turn"), "-"),
                ("service + PostgreSQL", cs.get("turn"), "-"),
                ("ref: understanding only (memory)", cm.get("reference"), "--"),
                ("ref: understanding only (service)", cs.get("reference"), "--"),
            ],
        )
    )
    ticks = [_nines(q) for _, q in PERCENTILE_KEYS] + [MAX_X]
    labels = ["p50", "p90", "p99", "p99.9", "max"]
    colours = ["tab:blue", "tab:orange", "tab:blue", "tab:orange"]
    for ax, (title, target, series) in zip(axes.flat, panels, strict=True):
        drawn = 0
        for (label, stats, style), colour in zip(series, colours, strict=False):
            xs, ys = percentile_curve(stats)
            if xs:
                ax.plot(xs, ys, style, marker="o", ms=3, color=colour, label=label)
                drawn += 1
        if target:
            ax.axhline(target, color="tab:red", lw=0.8, ls="-.", label=f"target p99 {target:g} ms")
        ax.set_title(title, fontsize=10)
        ax.set_xticks(ticks, labels)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("ms")
        ax.grid(True, which="major", alpha=0.3)
        if drawn:
            ax.legend(fontsize=7, loc="best")
        else:
            ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(f"Latency by percentile — {_subtitle(data)}", fontsize=10)
    fig.tight_layout()
    _save(fig, out)
    plt.close(fig)


def _subtitle(data: dict[str, Any]) -> str:
    m = data.get("machine") or {}
    quick = "QUICK RUN, " if data.get("quick") else ""
    return f"{quick}{_when(data)}, {m.get('cores')} cores, {m.get('cpu_model')}"


def plot_throughput(data: dict[str, Any], out: Path) -> None:
    """Realtime messages per second over time (with per-second p99), and bar charts of the
    booking and commit throughput beside their same-run references."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.2), dpi=90)
    benches = data.get("benchmarks") or {}
    for ax, name in zip(axes[:, 0], ("realtime_chain_1k", "realtime_chain_10k"), strict=True):
        bench = benches.get(name) or {}
        raw = _raw(data, name)
        duration = _number(raw.get("duration_s")) or float("inf")
        series = (bench.get("series") or {}).get("timeline_s_n_p99_max") or []
        twin = ax.twinx()
        drawn = False
        peaks: list[float] = []
        for run in series:
            rows = [row for row in run if len(row) >= 3 and row[0] < duration]
            if not rows:
                continue
            peaks.append(max(float(row[1]) for row in rows))
            xs = [row[0] for row in rows]
            ax.plot(xs, [row[1] for row in rows], color="tab:blue", lw=1.2, label="delivered msg/s")
            twin.plot(
                xs,
                [row[2] for row in rows],
                color="tab:purple",
                lw=0.8,
                ls=":",
                label="p99 ms (right axis)",
            )
            drawn = True
        expected = _number(dig(figure_by_key(bench, "delivered_per_s"), "reference"))
        if expected:
            ax.axhline(expected, color="tab:green", ls="--", lw=0.9, label="expected msg/s")
        profile = raw.get("profile") or name.removeprefix("realtime_").replace("_", "-")
        title = f"Realtime {profile}: delivered per second"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("seconds of load")
        ax.set_ylabel("messages / s")
        ax.set_ylim(0, max([1.0, expected or 0.0, *peaks]) * 1.15)
        twin.set_ylabel("p99 commit→client in that second (ms)", fontsize=8)
        twin.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if drawn:
            handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
            ax.legend(handles=handles, fontsize=7, loc="lower right")
        else:
            ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)

    bars: list[tuple[str, float | None, str]] = []
    for name, tag in (("booking", "1 proc"), ("booking_workers2", "2 workers")):
        raw = _raw(data, name)
        bars.append((f"service\n{tag}", _number(dig(raw, "booking", "per_s")), "tab:blue"))
        bars.append((f"asyncpg ref\n{tag}", _number(dig(raw, "reference_asyncpg", "per_s")), "0.6"))
    _bars(axes[0, 1], bars, "Booking throughput vs same-run reference", "bookings / s")
    target = _number(dig(_raw(data, "booking"), "targets", "bookings_per_s")) or 1000.0
    axes[0, 1].axhline(target, color="tab:red", ls="-.", lw=0.8, label=f"target {target:g}/s")
    axes[0, 1].legend(fontsize=7, loc="upper left")

    medians = _raw(data, "commit_order").get("median") or {}
    bars = [
        (
            textwrap.fill(name.replace("_", " ").replace(" and ", " + "), 11),
            _number(values.get("commits_per_s")),
            "tab:blue" if "ours" in name else ("0.6" if "reference" in name else "tab:orange"),
        )
        for name, values in medians.items()
    ]
    _bars(axes[1, 1], bars, "Event-log trigger designs: commits/s (32 conns)", "commits / s")
    fig.suptitle(f"Throughput — {_subtitle(data)}", fontsize=10)
    fig.tight_layout()
    _save(fig, out)
    plt.close(fig)


def _save(fig: Any, out: Path) -> None:
    """A small PNG: rendered, then reduced to a palette of 128 colours."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    buffer.seek(0)
    with Image.open(buffer) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(out, format="PNG", optimize=True)


def figure_by_key(bench: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((f for f in bench.get("figures") or [] if f.get("key") == key), None)


def _bars(ax: Any, bars: list[tuple[str, float | None, str]], title: str, ylabel: str) -> None:
    shown = [(label, value, colour) for label, value, colour in bars if value is not None]
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    if not shown:
        ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        return
    xs = list(range(len(shown)))
    rects = ax.bar(xs, [v for _, v, _ in shown], color=[c for _, _, c in shown], width=0.6)
    ax.bar_label(rects, labels=[f"{v:,.0f}" for _, v, _ in shown], fontsize=7)
    ax.set_xticks(xs, [label for label, _, _ in shown], fontsize=7)
    ax.margins(y=0.15)


# ============================================================================ main


def refresh_figures(data: dict[str, Any]) -> None:
    """Recompute every benchmark's key figures from its raw JSON."""
    for bench in (data.get("benchmarks") or {}).values():
        if bench.get("status") in ("ok", "missed") and bench.get("raw"):
            bench["figures"] = figures_for(bench["kind"], bench["raw"])


def render(data: dict[str, Any], folder: Path) -> dict[str, str]:
    """Write latest.md, latency.png and throughput.png into `folder`; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / "latest.md"
    md.write_text(markdown(data))
    written = {"markdown": str(md)}
    for name, draw in (("latency", plot_latency), ("throughput", plot_throughput)):
        path = folder / f"{name}.png"
        draw(data, path)
        written[name] = str(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("results", nargs="?", default=str(RESULTS / "latest.json"))
    args = parser.parse_args(argv)
    path = Path(args.results)
    data = orjson.loads(path.read_bytes())
    refresh_figures(data)
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    written = render(data, path.parent)
    print(orjson.dumps(written).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
