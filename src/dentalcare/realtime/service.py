"""The realtime service of one process: hub + listener + keepalive, and its status reports."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.websockets import WebSocket

from dentalcare.auth.tokens import Principal
from dentalcare.clock import Clock, SystemClock
from dentalcare.config import Settings
from dentalcare.db.pool import Database
from dentalcare.ratelimit import client_bucket
from dentalcare.realtime import protocol
from dentalcare.realtime.heap import HeapFreezer
from dentalcare.realtime.hub import Connection, Hub, Subscription
from dentalcare.realtime.limits import AddressLimits
from dentalcare.realtime.listener import EventListener
from dentalcare.realtime.session import Session
from dentalcare.realtime.wire import RATE_LIMITED, SHUTDOWN

SERVICE_NAME = "realtime-sync"
IDLE = 1000
KEEPALIVE_TICK_SECONDS = 0.1
STATS_LIST_LIMIT = 1000


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _describe(subscription: Subscription) -> dict[str, Any]:
    return {"id": subscription.id, "channelName": subscription.spec.name, "active": True}


class RealtimeService:
    """Owns the hub and the listener for the life of the application."""

    def __init__(self, *, settings: Settings, db: Database, clock: Clock | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock or SystemClock()
        self.hub = Hub(hold_limit=settings.ws_send_queue_bytes)
        self.listener = EventListener(
            db=db,
            hub=self.hub,
            poll_seconds=settings.realtime_poll_seconds,
            retention=timedelta(days=settings.event_retention_days),
            prune_interval=settings.event_prune_interval_seconds,
        )
        self.addresses = AddressLimits(
            max_sockets=settings.ws_max_sockets_per_address,
            messages_per_second=settings.ws_address_messages_per_second,
            message_burst=settings.ws_address_message_burst,
            replay_positions_per_second=settings.ws_anonymous_replay_positions_per_second,
            replay_positions_burst=settings.ws_anonymous_replay_positions_burst,
        )
        self.heap = HeapFreezer()
        self._keepalive: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening and pinging; freeze what start-up left for the process's life."""
        self.db.after_commit.append(self.listener.poke)
        await self.listener.start()
        self._keepalive = asyncio.create_task(self._keep_alive(), name="realtime-keepalive")
        self.heap.freeze(connections=len(self.hub.connections))

    async def stop(self) -> None:
        """Close every socket with 1001, then stop the listener."""
        self.heap.release()
        self.hub.close_all(SHUTDOWN, "server shutting down")
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        with contextlib.suppress(ValueError):
            self.db.after_commit.remove(self.listener.poke)
        await self.listener.stop()

    async def serve(self, websocket: WebSocket, token: str | None) -> None:
        """Serve one client socket until it closes; refuse it (4029) when its address
        already has `ws_max_sockets_per_address` open."""
        # Counted as the REST rate limits count it: the peer's address (or, behind a
        # trusted proxy, the forwarded one: cli.proxy_options), an IPv6 client by its /64.
        address = client_bucket(websocket.client.host if websocket.client else None)
        if not self.addresses.sockets.admit(address):
            self.hub.limits.sockets_refused += 1
            # Accepted and closed at once, so that browsers see the code (a refused
            # handshake reaches their code as a bare 1006).
            await websocket.accept()
            await websocket.close(RATE_LIMITED, "too many sockets from this address")
            return
        try:
            session = Session(
                hub=self.hub,
                settings=self.settings,
                db=self.db,
                clock=self.clock,
                websocket=websocket,
                address=address,
                limits=self.addresses,
            )
            await session.run(token)
        finally:
            self.addresses.sockets.release(address)

    async def _keep_alive(self) -> None:
        """Ping every socket once per `ws_ping_seconds` and close those silent for the idle
        timeout — a slice of the sockets per tick, so that 10,000 pongs do not all come
        back in the same instant (that burst once cost a 200-300 ms stall every 30 s)."""
        ping_every = self.settings.ws_ping_seconds
        idle_after = self.settings.ws_idle_timeout_seconds
        # Every socket is visited once per round; pinged every `ping_rounds` rounds.
        round_seconds = min(ping_every, idle_after / 2)
        tick = max(0.01, min(KEEPALIVE_TICK_SECONDS, round_seconds / 4))
        slices = max(1, round(round_seconds / tick))
        ping_rounds = max(1, round(ping_every / round_seconds))
        turn = 0
        members: list[Connection] = []
        while True:
            await asyncio.sleep(tick)
            if turn % slices == 0:
                # One copy of the socket list per round, not per tick (10,000 sockets: a
                # copy every 0.1 s was a steady half per cent of a core).
                members = list(self.hub.connections)
            silent_since = self.clock.monotonic() - idle_after
            ping = (turn // slices) % ping_rounds == ping_rounds - 1
            for connection in members[turn % slices :: slices]:
                if connection.socket.closed:
                    continue  # gone since the round began
                if connection.last_seen < silent_since:
                    connection.close(IDLE, "idle timeout")
                elif ping:
                    connection.socket.push(protocol.PING)
            turn += 1
            hub = self.hub
            self.heap.observe(connections=len(hub.connections), closed=hub.connections_closed)

    # ------------------------------------------------------------------ reports

    def health(self) -> tuple[int, dict[str, Any]]:
        """GET /api/sync/health: status code and body."""
        healthy = self.listener.healthy
        body = {
            "status": "healthy" if healthy else "unhealthy",
            "service": SERVICE_NAME,
            "activeSubscriptions": self.hub.subscription_count,
            "timestamp": _now(),
        }
        return (200 if healthy else 503), body

    def status(self, principal: Principal) -> dict[str, Any]:
        """GET /api/sync/status: the caller's own subscriptions, on every socket of theirs."""
        mine = [
            _describe(subscription)
            for connection in self.hub.connections_of(principal.user_id)
            for subscription in connection.subscriptions.values()
        ]
        return {
            "status": "active",
            "activeSubscriptions": len(mine),
            "subscriptions": mine,
            "timestamp": _now(),
        }

    def stats(self) -> dict[str, Any]:
        """GET /api/sync/stats: counts by kind (`global` = `availability` and `dentists`),
        the first 1,000 subscriptions, events and commit→send latency."""
        hub = self.hub
        counts = dict(hub.kind_counts)
        counts["total"] = hub.subscription_count
        listed: list[dict[str, Any]] = []
        for subscription in hub.subscriptions():
            if len(listed) >= STATS_LIST_LIMIT:
                break
            listed.append(_describe(subscription))
        return {
            "stats": counts,
            "subscriptions": listed,
            "connections": len(hub.connections),
            "events": {"received": hub.events_received, "delivered": hub.events_delivered},
            "latency_ms": hub.latency.percentiles(),
            "limits": hub.limits.as_dict(),
            "timestamp": _now(),
        }
