"""The realtime service of one process: hub + listener + keepalive, and its status reports."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.websockets import WebSocket

from dentalcare.auth.tokens import Principal
from dentalcare.config import Settings
from dentalcare.db.pool import Database
from dentalcare.realtime import protocol
from dentalcare.realtime.hub import Hub, Subscription
from dentalcare.realtime.listener import EventListener
from dentalcare.realtime.session import Session
from dentalcare.realtime.wire import SHUTDOWN

SERVICE_NAME = "realtime-sync"
IDLE = 1000
SWEEP_CHUNK = 1000
STATS_LIST_LIMIT = 1000


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _describe(subscription: Subscription) -> dict[str, Any]:
    return {"id": subscription.id, "channelName": subscription.spec.name, "active": True}


class RealtimeService:
    """Owns the hub and the listener for the life of the application."""

    def __init__(self, *, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.hub = Hub(hold_limit=settings.ws_send_queue_bytes)
        self.listener = EventListener(
            db=db,
            hub=self.hub,
            poll_seconds=settings.realtime_poll_seconds,
            retention=timedelta(days=settings.event_retention_days),
            prune_interval=settings.event_prune_interval_seconds,
        )
        self._keepalive: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start listening and pinging."""
        self.db.after_commit.append(self.listener.poke)
        await self.listener.start()
        self._keepalive = asyncio.create_task(self._keep_alive(), name="realtime-keepalive")

    async def stop(self) -> None:
        """Close every socket with 1001, then stop the listener."""
        self.hub.close_all(SHUTDOWN, "server shutting down")
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        with contextlib.suppress(ValueError):
            self.db.after_commit.remove(self.listener.poke)
        await self.listener.stop()

    async def serve(self, websocket: WebSocket, token: str | None) -> None:
        """Serve one client socket until it closes."""
        await Session(self, websocket).run(token)

    async def _keep_alive(self) -> None:
        """Ping every socket every `ws_ping_seconds`; close those silent for the idle timeout."""
        loop = asyncio.get_running_loop()
        ping_every = self.settings.ws_ping_seconds
        idle_after = self.settings.ws_idle_timeout_seconds
        tick = max(0.01, min(ping_every, idle_after) / 4)
        next_ping = loop.time() + ping_every
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            ping = now >= next_ping
            if ping:
                next_ping = now + ping_every
            silent_since = now - idle_after
            for count, connection in enumerate(list(self.hub.connections), 1):
                if connection.last_seen < silent_since:
                    connection.close(IDLE, "idle timeout")
                elif ping:
                    connection.socket.push(protocol.PING)
                if count % SWEEP_CHUNK == 0:
                    await asyncio.sleep(0)

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
            "timestamp": _now(),
        }
