"""GET /api/health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dentalcare.db.pool import ANONYMOUS, Database
from dentalcare.errors import DATABASE_DOWN
from dentalcare.health import repository

router = APIRouter(tags=["health"])


@router.get(
    "/api/health",
    responses={503: {"description": "The database is unreachable"}},
)
async def health(request: Request) -> Any:
    """Whether the service and its database are up, and the schema version."""
    db: Database = request.app.state.db
    try:
        async with db.transaction(ANONYMOUS) as conn:
            version = await repository.schema_version(conn)
    except DATABASE_DOWN as exc:
        return JSONResponse(
            {
                "status": "error",
                "database": "unreachable",
                "schema_version": None,
                "error": "ServiceUnavailable",
                "detail": f"The database is unreachable ({type(exc).__name__}).",
            },
            status_code=503,
        )
    return {"status": "ok", "database": "ok", "schema_version": version}
