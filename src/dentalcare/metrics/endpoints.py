"""GET /metrics: Prometheus text format, for an admin's token or a local scraper."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dentalcare.auth.deps import OptionalUser
from dentalcare.db.claims import SYSTEM
from dentalcare.db.deps import Db
from dentalcare.errors import Forbidden, Unauthorized
from dentalcare.metrics import repository
from dentalcare.metrics.instruments import Metrics

router = APIRouter(tags=["operations"])

LOOPBACK = frozenset({"127.0.0.1", "::1"})


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, db: Db, user: OptionalUser) -> Response:
    """The process's metrics. Readable with an admin's token, or without a token from
    the machine itself (a local Prometheus or agent); a token that is not an admin's is
    refused wherever it comes from."""
    client = request.client.host if request.client else None
    if user is None and client not in LOOPBACK:
        raise Unauthorized("Metrics need an admin's token (or a scrape from localhost).")
    if user is not None and user.role != "admin":
        raise Forbidden("Metrics are for admins only.")
    instruments: Metrics = request.app.state.metrics
    instruments.realtime_connections.set(len(request.app.state.realtime.hub.connections))
    instruments.pool_size.set(db.pool_size)
    slots_cache = request.app.state.slots_cache
    instruments.slots_cache_hits.set(slots_cache.hits)
    instruments.slots_cache_misses.set(slots_cache.misses)
    instruments.slots_cache_entries.set(len(slots_cache))
    instruments.pool_in_use.set(db.pool_size - db.pool_idle)
    async with db.unit_of_work(SYSTEM, read_only=True) as uow:
        instruments.outbox_depth.set(await repository.outbox_depth(await uow.connection()))
    return Response(generate_latest(instruments.registry), media_type=CONTENT_TYPE_LATEST)
