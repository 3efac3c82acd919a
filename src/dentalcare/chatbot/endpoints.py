"""/api/chat: the booking assistant over HTTP (thin: parse, call the service, return)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status

from dentalcare.auth.deps import OptionalUser
from dentalcare.chatbot import service
from dentalcare.chatbot.schemas import (
    ChatMessageCreate,
    ChatSessionCreated,
    ChatSessionRead,
    ChatTurnRead,
)
from dentalcare.db.deps import AppClock, AppSettings, Uow
from dentalcare.errors import (
    BadRequest,
    Conflict,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
    responses,
)
from dentalcare.ratelimit import Limits
from dentalcare.responses import JSON

router = APIRouter(prefix="/api/chat", tags=["chatbot"])


async def chat_turns(request: Request) -> service.TurnLimiter:
    """The process's cap on concurrent chat turns."""
    turns: service.TurnLimiter = request.app.state.chat_turns
    return turns


ChatTurns = Annotated[service.TurnLimiter, Depends(chat_turns)]


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatSessionCreated,
    responses=responses(Unauthorized, RateLimited),
)
async def create_session(
    user: OptionalUser, uow: Uow, settings: AppSettings, limits: Limits
) -> Any:
    """Start a conversation; a patient's token links it to them."""
    session = await service.start_session(uow=uow, settings=settings, throttle=limits, caller=user)
    return JSON(session, status_code=status.HTTP_201_CREATED)


@router.post(
    "/sessions/{session_id}/messages",
    response_model=ChatTurnRead,
    responses=responses(
        NotFound,
        Unauthorized,
        ValidationError,
        BadRequest,
        Conflict,
        RateLimited,
        ServiceUnavailable,
    ),
)
async def post_message(
    session_id: UUID,
    body: ChatMessageCreate,
    user: OptionalUser,
    uow: Uow,
    settings: AppSettings,
    turns: ChatTurns,
    limits: Limits,
    clock: AppClock,
) -> Any:
    """Send the patient's message; the assistant's replies, the state and any appointment."""
    turn = await service.post_message(
        uow=uow,
        settings=settings,
        turns=turns,
        throttle=limits,
        caller=user,
        session_id=session_id,
        text=body.text,
        now=clock.now(),
    )
    return JSON(turn)


@router.get(
    "/sessions/{session_id}",
    response_model=ChatSessionRead,
    responses=responses(NotFound, Unauthorized),
)
async def get_session(session_id: UUID, user: OptionalUser, uow: Uow) -> Any:
    """The whole transcript and the state of the caller's session."""
    return JSON(await service.get_session(uow=uow, caller=user, session_id=session_id))
