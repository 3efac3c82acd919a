"""WebSocket /api/realtime and GET /api/sync/health|status|stats (also under /api/realtime)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import JSONResponse

from dentalcare.auth.deps import AdminUser, CurrentUser
from dentalcare.errors import Forbidden, Unauthorized, responses
from dentalcare.realtime.service import RealtimeService

router = APIRouter(tags=["realtime"])


def get_realtime(request: Request) -> RealtimeService:
    """The application's realtime service."""
    service: RealtimeService = request.app.state.realtime
    return service


Realtime = Annotated[RealtimeService, Depends(get_realtime)]


@router.websocket("/api/realtime")
async def realtime_socket(websocket: WebSocket, token: str | None = None) -> None:
    """The realtime feed: subscribe to channels, receive every change in commit order."""
    service: RealtimeService = websocket.app.state.realtime
    await service.serve(websocket, token)


async def sync_health(service: Realtime) -> Any:
    """Whether this process is receiving the database's changes (503 while it is not)."""
    status_code, body = service.health()
    return JSONResponse(body, status_code=status_code)


async def sync_status(service: Realtime, user: CurrentUser) -> dict[str, Any]:
    """The caller's own live subscriptions."""
    return service.status(user)


async def sync_stats(service: Realtime, _admin: AdminUser) -> dict[str, Any]:
    """Subscriptions, connections, events and commit→send latency of this process."""
    return service.stats()


for _prefix in ("/api/sync", "/api/realtime"):
    router.add_api_route(
        f"{_prefix}/health",
        sync_health,
        methods=["GET"],
        responses={503: {"description": "The realtime listener is disconnected"}},
    )
    router.add_api_route(
        f"{_prefix}/status", sync_status, methods=["GET"], responses=responses(Unauthorized)
    )
    router.add_api_route(
        f"{_prefix}/stats",
        sync_stats,
        methods=["GET"],
        responses=responses(Unauthorized, Forbidden),
    )
