"""/api/audit: the audit log (admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from dentalcare.audit import service
from dentalcare.audit.schemas import AuditPage
from dentalcare.auth.deps import AdminUser
from dentalcare.db.deps import Uow
from dentalcare.errors import BadRequest, Forbidden, Unauthorized, responses
from dentalcare.responses import JSON

router = APIRouter(prefix="/api/audit", tags=["audit"])

Entity = Annotated[str | None, Query(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]


@router.get("", response_model=AuditPage, responses=responses(Unauthorized, Forbidden, BadRequest))
async def list_audit(
    user: AdminUser,
    uow: Uow,
    actor: UUID | None = None,
    entity: Entity = None,
    entity_id: UUID | None = None,
    date_from: Annotated[datetime | None, Query(alias="from")] = None,
    date_to: Annotated[datetime | None, Query(alias="to")] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """The log, newest first, filtered by actor, entity, entity id and time."""
    return JSON(
        await service.list_audit(
            uow=uow,
            actor=actor,
            entity=entity,
            entity_id=entity_id,
            since=date_from,
            until=date_to,
            cursor=cursor,
        )
    )


@router.get(
    "/export.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **responses(Unauthorized, Forbidden)},
)
async def export_audit(
    user: AdminUser,
    uow: Uow,
    actor: UUID | None = None,
    entity: Entity = None,
    entity_id: UUID | None = None,
    date_from: Annotated[datetime | None, Query(alias="from")] = None,
    date_to: Annotated[datetime | None, Query(alias="to")] = None,
) -> Response:
    """The filtered log as CSV (at most 10 000 entries, newest first)."""
    page = await service.list_audit(
        uow=uow,
        actor=actor,
        entity=entity,
        entity_id=entity_id,
        since=date_from,
        until=date_to,
        limit=10_000,
    )
    return Response(
        service.as_csv(page["items"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
