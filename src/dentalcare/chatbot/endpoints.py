"""/api/chat: the booking assistant over HTTP (thin: parse, call the service, return)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, status

from dentalcare.auth.deps import OptionalUser
from dentalcare.chatbot import service
from dentalcare.chatbot.schemas import (
    ChatMessageCreate,
    ChatSessionCreated,
    ChatSessionRead,
    ChatTurnRead,
)
from dentalcare.db.deps import AppSettings, Db
from dentalcare.errors import (
    BadRequest,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.responses import JSON

router = APIRouter(prefix="/api/chat", tags=["chatbot"])


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatSessionCreated,
    responses=responses(Unauthorized),
)
async def create_session(user: OptionalUser, db: Db, settings: AppSettings) -> Any:
    """Start a conversation; a patient's token links it to them."""
    session = await service.start_session(db=db, settings=settings, caller=user)
    return JSON(session, status_code=status.HTTP_201_CREATED)


@router.post(
    "/sessions/{session_id}/messages",
    response_model=ChatTurnRead,
    responses=responses(NotFound, Unauthorized, ValidationError, BadRequest, RateLimited),
)
async def post_message(
    session_id: UUID,
    body: ChatMessageCreate,
    request: Request,
    user: OptionalUser,
    db: Db,
    settings: AppSettings,
) -> Any:
    """Send the patient's message; the assistant's replies, the state and any appointment."""
    key = f"user:{user.user_id}" if user else f"ip:{request.client.host if request.client else ''}"
    limiter = getattr(request.app.state, "booking_limiter", None)
    turn = await service.post_message(
        db=db,
        settings=settings,
        caller=user,
        session_id=session_id,
        text=body.text,
        before_booking=(lambda: limiter.hit(key)) if limiter is not None else None,
    )
    return JSON(turn)


@router.get(
    "/sessions/{session_id}",
    response_model=ChatSessionRead,
    responses=responses(NotFound, Unauthorized),
)
async def get_session(session_id: UUID, user: OptionalUser, db: Db) -> Any:
    """The whole transcript and the state of the caller's session."""
    return JSON(await service.get_session(db=db, caller=user, session_id=session_id))
