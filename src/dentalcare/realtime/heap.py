"""Short garbage-collector passes with 10,000 sockets open.

CPython's cycle collector walks every tracked object it holds in a full pass: ~170 per
open socket (uvicorn's protocol and websockets' parser, the ASGI coroutine chain, our
session), 1.7 million at 10,000 sockets, a stop-the-world pause of one to two seconds.
What lives for the process's life (the modules imported at start-up) and the objects of
a socket once it is connected are moved out of its way with `gc.freeze()`: after start-up,
and whenever the sockets have grown since the last freeze (a connection ramp, a reconnect
storm). Freezing is O(1); the passes left walk only what was allocated since.

A frozen object is still freed when its last reference goes; only garbage caught in a
reference cycle stays for good. So a closed socket leaves no cycle behind: the hub drops
its closure, the session its timer, the socket its callbacks and websockets' parser (a
generator holding its protocol) — ~70 objects of each closed socket stayed frozen before,
about one now. What other code leaves in cycles is bounded all the same: once four times
as many sockets have closed since the last thaw as are open (and at least `thaw_after`),
everything is unfrozen, collected in one full pass and frozen again.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


class HeapFreezer:
    """When to freeze the heap and when to thaw it (see the module docstring)."""

    def __init__(self, *, min_growth: int = 64, thaw_after: int = 20_000) -> None:
        self.min_growth = min_growth  # new sockets since the last freeze that call for one
        self.thaw_after = thaw_after  # sockets closed since the last thaw before one, at least
        self.frozen_at = -1  # open sockets at the last freeze (-1: not frozen yet)
        self.closed_at_thaw = 0
        self.freezes = 0
        self.thaws = 0

    def freeze(self, *, connections: int) -> None:
        """Collect the young generations (their garbage must not be frozen), then freeze."""
        gc.collect(1)
        gc.freeze()
        self.frozen_at = connections
        self.freezes += 1

    def observe(self, *, connections: int, closed: int) -> None:
        """Called every keepalive tick with the open sockets and those closed since start."""
        if closed - self.closed_at_thaw >= max(self.thaw_after, 4 * connections):
            self.thaw(connections=connections, closed=closed)
        elif connections >= self.frozen_at + self.min_growth:
            self.freeze(connections=connections)
        elif connections < self.frozen_at:
            self.frozen_at = connections  # the next ramp is measured from here

    def thaw(self, *, connections: int, closed: int) -> None:
        """Unfreeze, collect the cyclic garbage of the sockets closed meanwhile, refreeze."""
        began = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()
        self.freeze(connections=connections)
        self.closed_at_thaw = closed
        self.thaws += 1
        log.info(
            "heap thawed after %d closed sockets: %d objects collected in %.0f ms",
            closed,
            collected,
            (time.perf_counter() - began) * 1000,
        )

    def release(self) -> None:
        """The service stops: hand everything back to the collector."""
        gc.unfreeze()
        self.frozen_at = -1

    def figures(self) -> dict[str, int]:
        """Freezes and thaws so far, and the objects frozen now."""
        return {"freezes": self.freezes, "thaws": self.thaws, "frozen": gc.get_freeze_count()}
