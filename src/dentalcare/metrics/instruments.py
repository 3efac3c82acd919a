"""The application's metrics and the ASGI middleware that times every request."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The chatbot's turn endpoint (route template), counted as chat turns.
CHAT_TURN_ROUTE = "/api/chat/sessions/{session_id}/messages"


class Metrics:
    """One process's instruments, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_seconds = Histogram(
            "dentalcare_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.chat_turns = Counter(
            "dentalcare_chat_turns",
            "Chat turns answered, by status code.",
            ["status"],
            registry=self.registry,
        )
        # HTTP requests being answered now (WebSockets are not requests): the outbox's
        # workers yield to them (outbox.worker.DeliveryPolicy.busy_share).
        self.requests_in_flight = 0
        Gauge(
            "dentalcare_http_requests_in_flight",
            "HTTP requests this process is answering now.",
            registry=self.registry,
        ).set_function(lambda: self.requests_in_flight)
        self.realtime_connections = Gauge(
            "dentalcare_realtime_connections",
            "Open realtime (WebSocket) connections in this process.",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "dentalcare_outbox_depth",
            "Messages waiting in the outbox (0 while there is no outbox).",
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "dentalcare_db_pool_connections",
            "Database connections open in this process's pool.",
            registry=self.registry,
        )
        self.slots_cache_hits = Gauge(
            "dentalcare_slots_cache_hits",
            "Slots answers served from this process's cache since it started.",
            registry=self.registry,
        )
        self.slots_cache_misses = Gauge(
            "dentalcare_slots_cache_misses",
            "Slots answers this process computed (not in its cache, or the cache waiting).",
            registry=self.registry,
        )
        self.slots_cache_entries = Gauge(
            "dentalcare_slots_cache_entries",
            "Slots answers in this process's cache now.",
            registry=self.registry,
        )
        self.pool_in_use = Gauge(
            "dentalcare_db_pool_in_use",
            "Database connections of this process's pool in use.",
            registry=self.registry,
        )


class MetricsMiddleware:
    """Time every HTTP request by its route template (`unmatched` when none matched)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        metrics = self.metrics
        metrics.requests_in_flight += 1

        async def timed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            metrics.requests_in_flight -= 1
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.request_seconds.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
            if route == CHAT_TURN_ROUTE and scope["method"] == "POST":
                metrics.chat_turns.labels(str(status)).inc()
