"""Experiments for the realtime benchmark (`--stagger-pings`): candidate server changes,
applied to the server process at start-up by the generated `sitecustomize`, so they can be
measured before anyone edits `dentalcare.realtime`."""

from __future__ import annotations

import asyncio
from typing import Any

TICK_SECONDS = 0.1


def stagger_pings() -> None:
    """Replace the keepalive sweep (every socket pinged in the same instant, every 30 s) by
    a rolling one: each tick pings and idle-checks one slice of the sockets, so that every
    socket is still pinged once per `ws_ping_seconds` but the pongs arrive spread out."""
    from dentalcare.realtime import protocol, service

    async def keep_alive(self: Any) -> None:
        loop = asyncio.get_running_loop()
        slices = max(1, round(self.settings.ws_ping_seconds / TICK_SECONDS))
        idle_after = self.settings.ws_idle_timeout_seconds
        turn = 0
        while True:
            await asyncio.sleep(TICK_SECONDS)
            silent_since = loop.time() - idle_after
            for connection in list(self.hub.connections)[turn % slices :: slices]:
                if connection.last_seen < silent_since:
                    connection.close(service.IDLE, "idle timeout")
                else:
                    connection.socket.push(protocol.PING)
            turn += 1

    service.RealtimeService._keep_alive = keep_alive  # type: ignore[method-assign]
