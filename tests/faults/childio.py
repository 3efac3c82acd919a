"""The child side of a client process: JSON lines in on stdin, out on stdout.

The parent writes the configuration first, then commands (`status`, `expect`, `stop`);
the child answers each on one line. End of input counts as `stop`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from tests.faults.support import FIGURES, compare


async def read() -> dict[str, Any]:
    """The parent's next message."""
    line = await asyncio.to_thread(sys.stdin.buffer.readline)
    if not line:
        return {"type": "stop"}
    message: dict[str, Any] = orjson.loads(line)
    return message


def write(message: dict[str, Any]) -> None:
    """One message to the parent."""
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


async def settle_and_check(
    clients: Sequence[Any],
    applied: Callable[[Any], Sequence[int]],
    start: Callable[[Any], int],
    topic: Callable[[Any], str],
    topics: dict[str, list[int]],
    within: float,
) -> dict[str, Any]:
    """Wait (at most `within` s) until every client has applied every seq the log says it
    may see after its starting position, then compare each one exactly."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within

    def lacking(client: Any) -> bool:
        return compare(applied(client), start(client), topics.get(topic(client), []))["lost"] > 0

    waiting = [c for c in clients if lacking(c)]
    while waiting and loop.time() < deadline:
        await asyncio.sleep(0.05)
        waiting = [c for c in waiting if lacking(c)]
    figures = dict.fromkeys(FIGURES, 0)
    problems: list[dict[str, Any]] = []
    for index, client in enumerate(clients):
        mine = compare(applied(client), start(client), topics.get(topic(client), []))
        for key, value in mine.items():
            figures[key] += value
        if any(mine[k] for k in FIGURES[2:]) and len(problems) < 5:
            problems.append({"client": index, "topic": topic(client), **mine})
    return {"figures": figures, "problems": problems, "clients": len(clients)}
