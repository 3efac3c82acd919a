"""GET /api/health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dentalcare.db.claims import ANONYMOUS
from dentalcare.db.deps import Db
from dentalcare.db.errors import DATABASE_DOWN
from dentalcare.errors import ServiceUnavailable
from dentalcare.health import repository

router = APIRouter(tags=["health"])

# A monitor asking "are you up?" gets an answer within about a second, busy or not.
HEALTH_WAIT_SECONDS = 1.0


@router.get(
    "/api/health",
    responses={503: {"description": "The database is unreachable"}},
)
async def health(db: Db) -> Any:
    """Whether the service and its database are up, and the schema version."""
    try:
        async with db.unit_of_work(
            ANONYMOUS, read_only=True, acquire_timeout=HEALTH_WAIT_SECONDS
        ) as uow:
            version = await repository.schema_version(await uow.connection())
    except ServiceUnavailable:
        return JSONResponse(
            {
                "status": "busy",
                "database": "busy",
                "schema_version": None,
                "error": "ServiceUnavailable",
                "detail": "Every database connection is in use; try again in a moment.",
            },
            status_code=503,
            headers={"Retry-After": "2"},
        )
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
