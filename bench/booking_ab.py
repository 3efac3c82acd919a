"""Booking throughput with and without the outbox, in paired slices of one run (issue 13).

    .venv/bin/python -m bench.booking_ab                    # 8 rounds of 4 s slices
    .venv/bin/python -m bench.booking_ab --rounds 12 --slice 5

`bench.booking` compares whole runs, one after the other, and on these 2-core machines
the speed moves by up to 2x from one minute to the next: a 15 % effect drowns. Here two
services run at once on the same embedded PostgreSQL, seeded as bench.booking seeds it,
and the same 32 HTTP clients book through each in turn for a short slice, the order
alternating round by round; each round gives one ratio of slices seconds apart, and the
report is the median of those ratios (with the quartiles):

* `none`: `DENTALCARE_EMAIL_ENABLED=false`, today's booking without the outbox;
* `outbox`: e-mail on, `DENTALCARE_OUTBOX_WORKERS=0`: the booking's own transaction with
  its messages (what the outbox costs a booking; delivery is elsewhere).

A third service delivering the e-mails cannot be measured this way: its worker, idle of
requests while another service's slice runs, would send that service's messages at full
speed on the same cores (tried: the slices next to it lost 10-20 %). What delivery costs
the booking phase is `bench.booking`'s figure (`--outbox-busy-share`, the drain and the
confirmations' delay) and `bench.booking_path`'s delivered variant.

One JSON line on stdout (and appended to `--output`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.booking import (
    SLOT_MINUTES,
    SLOTS_RANGE_DAYS,
    SlotSpace,
    _seed,
    load_phase,
)
from bench.common import code_version, embedded_postgres, log, machine, run, running_service

VARIANT_ENV = {
    "none": {"DENTALCARE_EMAIL_ENABLED": "false"},
    "outbox": {"DENTALCARE_OUTBOX_WORKERS": "0"},
}


def _quartiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"median": round(values[0], 3)} if values else {}
    q = statistics.quantiles(values, n=4)
    return {
        "p25": round(q[0], 3),
        "median": round(statistics.median(values), 3),
        "p75": round(q[2], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds of slices (8)")
    parser.add_argument("--slice", type=float, default=4.0, help="seconds per slice (4)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    parser.add_argument("--procs", type=int, default=2, help="client processes (2)")
    parser.add_argument("--timezone", default="Europe/Berlin")
    parser.add_argument("--output", default=None, help="append the JSON line to this file")
    args = parser.parse_args(argv)
    variants = list(VARIANT_ENV)
    result: dict[str, Any] = {
        "benchmark": "booking_ab",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code_version(),
        "options": {
            "rounds": args.rounds,
            "slice_s": args.slice,
            "clients": args.clients,
            "variants": variants,
        },
    }
    from dentalcare.availability.service import DAYS_AHEAD

    slices: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(embedded_postgres())
        result["postgres"] = pg.settings()
        seeded = run(
            _seed(pg.url, timezone=args.timezone, booked_days=SLOTS_RANGE_DAYS, booked_share=0.5)
        )
        env = {"DENTALCARE_CLINIC_TIMEZONE": args.timezone}
        services = {
            v: stack.enter_context(running_service(pg.url, extra_env={**env, **VARIANT_ENV[v]}))
            for v in variants
        }
        dentist_ids, today = seeded["dentist_ids"], seeded["today"]
        first_day = today + timedelta(days=SLOTS_RANGE_DAYS + 1)
        per_day = SlotSpace(dentist_ids, first_day, 1, chairs=0, length=SLOT_MINUTES).per_day
        wanted = 1500 * (args.slice + 1) * args.rounds * len(variants)
        # The service books at most DAYS_AHEAD days ahead (as bench.booking's phases).
        days = min(-(-int(wanted) // per_day) + 2, DAYS_AHEAD - SLOTS_RANGE_DAYS - 3)
        spec = {
            "dentist_ids": dentist_ids,
            "first_day": first_day.isoformat(),
            "days": days,
            "url": pg.url,
            "chairs": 0,
            "length": SLOT_MINUTES,
            "treatment_type_id": seeded["treatment_type_id"],
        }
        offset = 0
        log(f"{len(variants)} services; {args.rounds} rounds of {args.slice} s slices")
        for round_no in range(args.rounds):
            order = variants if round_no % 2 == 0 else variants[::-1]
            for variant in order:
                service = services[variant]
                phase = load_phase(
                    mode="http",
                    spec={**spec, "port": service.port},
                    clients=args.clients,
                    procs=args.procs,
                    warmup=1.0,
                    duration=args.slice,
                    offset=offset,
                    service=service,
                    pg=pg,
                )
                offset = int(phase["max_index"]) + 1
                figures = phase["figures"]
                slices[variant].append(
                    {
                        "round": round_no,
                        "per_s": figures["per_s"],
                        "p50_ms": figures["latency"]["p50_ms"],
                        "p99_ms": figures["latency"]["p99_ms"],
                        "errors": figures["errors"],
                        "cpu_ms_all": figures["cpu"]["ms_per_request_all_parties"],
                    }
                )
                log(f"round {round_no} {variant}: {figures['per_s']}/s")
    result["slices"] = slices
    summary: dict[str, Any] = {}
    for variant in variants:
        rates = [s["per_s"] for s in slices[variant]]
        summary[variant] = {
            "per_s": _quartiles(rates),
            "p99_ms": _quartiles([s["p99_ms"] for s in slices[variant]]),
            "cpu_ms_all": _quartiles([s["cpu_ms_all"] for s in slices[variant]]),
            "errors": sum(s["errors"] for s in slices[variant]),
        }
    pairs = list(zip(slices["none"], slices["outbox"], strict=True))
    summary["outbox_over_none"] = {
        "throughput": _quartiles([b["per_s"] / a["per_s"] for a, b in pairs if a["per_s"] > 0]),
        "cpu_per_booking": _quartiles(
            [b["cpu_ms_all"] / a["cpu_ms_all"] for a, b in pairs if a["cpu_ms_all"] > 0]
        ),
    }
    result["summary"] = summary
    line = json.dumps(result)
    print(line)
    if args.output:
        with open(args.output, "a") as out:
            out.write(line + "\n")
    return 0 if all(summary[v]["errors"] == 0 for v in variants) else 1


if __name__ == "__main__":
    raise SystemExit(main())
