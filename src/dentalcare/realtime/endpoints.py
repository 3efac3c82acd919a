"""WebSocket /api/realtime and GET /api/sync/health|status|stats (also under /api/realtime)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from dentalcare.auth.deps import AdminUser, CurrentUser
from dentalcare.errors import Forbidden, Unauthorized, responses
from dentalcare.realtime.service import RealtimeService

router = APIRouter(tags=["realtime"])


def get_realtime(request: Request) -> RealtimeService:
    """The application's realtime service."""
    service: RealtimeService = request.app.state.realtime
    return service


Realtime = Annotated[RealtimeService, Depends(get_realtime)]


class RealtimeSocket:
    """The realtime feed: subscribe to channels, receive every change in commit order.

    A bare ASGI endpoint, not a FastAPI one: a socket lives for hours, and FastAPI's
    dependency solving and exception wrappers cost ~10 % of the server's CPU in a
    reconnect storm and keep ~30 objects (coroutines, closures) alive per open socket.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one socket; `?token=` is the access token, if any."""
        websocket = WebSocket(scope, receive=receive, send=send)
        service: RealtimeService = scope["app"].state.realtime
        await service.serve(websocket, websocket.query_params.get("token") or None)


# Starlette takes an ASGI app as a WebSocket route's endpoint too (FastAPI's type says only
# functions of a WebSocket).
router.add_websocket_route(
    "/api/realtime",
    RealtimeSocket(),  # type: ignore[arg-type]
    name="realtime_socket",
)


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
