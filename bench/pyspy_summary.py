"""Summarise a py-spy `--format raw` profile: `python -m bench.pyspy_summary FILE [N]`.

Prints the share of samples by function, inclusive (the function or anything it called)
and self (the function itself), plus a breakdown of a request into coarse parts.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

# Coarse parts of a request: the first listed function found on a stack (leaf first) wins.
PARTS = (
    ("realtime listener (event log reads)", ("EventListener.",)),
    ("new_reference (secrets.choice x7)", ("new_reference",)),
    ("slot engine (pure)", ("(dentalcare/availability/slots.py)",)),
    ("slot JSON rendering (slot_json/iso_instant)", ("slot_json", "iso_instant")),
    # appointment_json is compiled by jsonshape.renderer: its frames are in that "file".
    ("appointment JSON rendering", ("appointment_json", "<renderer of AppointmentRead>")),
    ("SQL: schedule snapshot (+ record decoding)", ("_engine_inputs", "schedule_snapshot")),
    ("SQL: set claims", ("set_claims",)),
    ("SQL: BEGIN / COMMIT", ("Transaction.",)),
    ("SQL: INSERT appointment", ("insert_appointment",)),
    ("SQL: other queries", ("dentist_by_id", "schema_version")),
    ("pool acquire/release", ("Pool.", "PoolConnectionHolder.", "PoolAcquireContext.")),
    ("sync dependencies via threadpool", ("run_in_threadpool", "WorkerThread.")),
    ("request body + pydantic validation", ("request_body_to_args", "Request.body", "_validate")),
    ("FastAPI dependency solving (rest)", ("solve_dependencies",)),
    ("response send (ASGI send chain, socket write)", ("RequestResponseCycle.send",)),
    (
        "endpoint/service code (rest)",
        tuple(
            f"(dentalcare/{m}"
            for m in (
                "appointments/",
                "availability/",
                "dentists/",
                "auth/",
                "db/",
                "health/",
                "middleware",
                "responses",
                "jsonshape",
            )
        ),
    ),
    ("HTTP parsing (uvicorn httptools)", ("HttpToolsProtocol.",)),
    ("FastAPI/Starlette routing + middleware (rest)", ("(fastapi/", "(starlette/")),
    ("uvicorn (rest)", ("(uvicorn/",)),
    ("event loop / asyncio (rest)", ("(asyncio/", "Runner.run", "(uvloop")),
)


def _name(frame: str) -> str:
    function, _, where = frame.partition(" (")
    return f"{function} ({where.split(':')[0]}" + (")" if where else "")


def summarise(path: Path, top: int = 40) -> str:
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append(([_name(f) for f in stack.split(";")], int(count)))
    total = sum(n for _, n in stacks) or 1
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    for frames, n in stacks:
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
        # Below the event loop's run(): what a callback or task was doing.
        loop = max((i for i, f in enumerate(frames) if f.startswith("Runner.run ")), default=-1)
        below = frames[loop + 1 :]
        if not below:
            parts["event loop itself (uvloop: polling, callbacks in C)"] += n
            continue
        for part, needles in PARTS:
            if any(needle in frame for frame in below for needle in needles):
                parts[part] += n
                break
        else:
            parts["other"] += n
    lines = [f"{path}: {total} samples (py-spy --gil: on-CPU Python, all threads)", ""]
    lines.append("-- parts of the work (first match from the list, so each sample counts once)")
    lines += [f"{100 * n / total:6.1f}%  {k}" for k, n in parts.most_common()]
    lines += ["", "-- inclusive"]
    lines += [f"{100 * n / total:6.1f}%  {k}" for k, n in inclusive.most_common(top)]
    lines += ["", "-- self"]
    lines += [f"{100 * n / total:6.1f}%  {k}" for k, n in own.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40))
