"""Why the event log's writers share their lock: commit throughput of four trigger designs.

Each variant installs a deferred trigger like the event log's on a scratch table and runs
32 connections committing one-row transactions for a few seconds, on a throw-away
embedded PostgreSQL. The reference is the same workload with a trigger that only inserts
(no lock, no NOTIFY), measured in the same run. Prints one JSON line.

    .venv/bin/python -m bench.commit_order [--seconds 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from dentalcare.db.embedded import start_embedded

VARIANTS = {
    "exclusive_lock_and_notify": (
        "PERFORM pg_advisory_xact_lock(1); INSERT INTO ev(v) VALUES (nextval('s'));"
        " PERFORM pg_notify('c', '');"
    ),
    "notify_only": "INSERT INTO ev(v) VALUES (nextval('s')); PERFORM pg_notify('c', '');",
    "exclusive_lock": "PERFORM pg_advisory_xact_lock(1); INSERT INTO ev(v) VALUES (nextval('s'));",
    "shared_lock (ours)": (
        "PERFORM pg_advisory_xact_lock_shared(1); INSERT INTO ev(v) VALUES (nextval('s'));"
    ),
    "reference_no_lock": "INSERT INTO ev(v) VALUES (nextval('s'));",
}


async def _run(url: str, body: str, *, seconds: float, clients: int) -> dict[str, float]:
    setup = await asyncpg.connect(url)
    await setup.execute(
        f"""DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS ev; DROP SEQUENCE IF EXISTS s;
        CREATE SEQUENCE s; CREATE TABLE ev (v bigint); CREATE TABLE t (id serial PRIMARY KEY);
        CREATE OR REPLACE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN {body} RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER tt AFTER INSERT ON t DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION trg();"""
    )
    await setup.close()
    stop = time.monotonic() + seconds
    latencies: list[float] = []

    async def worker() -> None:
        conn = await asyncpg.connect(url)
        while time.monotonic() < stop:
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute("INSERT INTO t DEFAULT VALUES")
            latencies.append(time.perf_counter() - started)
        await conn.close()

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "commits_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


async def _main(url: str, *, seconds: float, rounds: int, clients: int) -> dict[str, object]:
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, body in VARIANTS.items():
            runs[name].append(await _run(url, body, seconds=seconds, clients=clients))
            print(name, runs[name][-1], file=sys.stderr, flush=True)
    medians = {
        name: {k: statistics.median(r[k] for r in results) for k in results[0]}
        for name, results in runs.items()
    }
    reference = medians["reference_no_lock"]["commits_per_s"]
    return {
        "benchmark": "commit_order",
        "clients": clients,
        "seconds_per_run": seconds,
        "rounds": rounds,
        "median": medians,
        "throughput_ratio_to_reference": {
            name: round(m["commits_per_s"] / reference, 3) for name, m in medians.items()
        },
    }


def main() -> None:
    """Run every variant `--rounds` times and print the medians as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    db = start_embedded(Path(tempfile.mkdtemp()) / "pgdata", delete_on_stop=True)
    try:
        result = asyncio.run(
            _main(db.url, seconds=args.seconds, rounds=args.rounds, clients=args.clients)
        )
    finally:
        db.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
