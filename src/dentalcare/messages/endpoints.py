"""/api/messages (admins) and /api/appointments/{id}/messages (staff, the patient)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from dentalcare.auth.deps import AdminUser, CurrentUser
from dentalcare.db.deps import Uow
from dentalcare.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized, responses
from dentalcare.messages import service
from dentalcare.messages.service import MessageStatus
from dentalcare.responses import JSON

router = APIRouter(tags=["messages"])
Kind = Annotated[str | None, Query(max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]


@router.get(
    "/api/appointments/{appointment_id}/messages",
    responses=responses(NotFound, Unauthorized, Forbidden),
)
async def appointment_messages(appointment_id: UUID, user: CurrentUser, uow: Uow) -> Any:
    """That appointment's messages, oldest first (staff; the owner patient)."""
    return JSON(
        await service.appointment_messages(uow=uow, caller=user, appointment_id=appointment_id)
    )


@router.get("/api/messages", responses=responses(Unauthorized, Forbidden, BadRequest))
async def list_messages(
    user: AdminUser,
    uow: Uow,
    status_: Annotated[MessageStatus | None, Query(alias="status")] = None,
    kind: Kind = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """The outbox, newest first, filtered by status, kind and creation time (admins)."""
    return JSON(
        await service.list_messages(
            uow=uow,
            status=status_,
            kind=kind,
            created_from=from_,
            created_to=to,
            limit=limit,
            cursor=cursor,
        )
    )


@router.post(
    "/api/messages/{message_id}/retry",
    responses=responses(NotFound, Unauthorized, Forbidden, Conflict),
)
async def retry_message(message_id: UUID, user: AdminUser, uow: Uow) -> Any:
    """A failed message goes again (admins)."""
    return JSON(await service.retry_message(uow=uow, message_id=message_id))
