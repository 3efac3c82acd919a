"""Pydantic models of the chat API (API.md, "Chatbot")."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from dentalcare.appointments.schemas import AppointmentRead


class ChatMessageCreate(BaseModel):
    """Body of POST /api/chat/sessions/{id}/messages."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=2000)


class QuickReplyRead(BaseModel):
    """A suggested answer: show `label`, send `value` as the next message's text."""

    label: str
    value: str


class ChatMessageRead(BaseModel):
    """The API's `message`."""

    role: Literal["assistant", "user"]
    text: str
    quick_replies: list[QuickReplyRead]


class ChatStateRead(BaseModel):
    """Where the conversation is (`stage`) and what the assistant has gathered."""

    stage: str = Field(examples=["preference"])
    collected: dict[str, Any]


class ChatSessionCreated(BaseModel):
    """Response of POST /api/chat/sessions."""

    session_id: UUID
    messages: list[ChatMessageRead]


class ChatTurnRead(BaseModel):
    """Response of POST /api/chat/sessions/{id}/messages: this turn's assistant messages."""

    messages: list[ChatMessageRead]
    state: ChatStateRead
    appointment: AppointmentRead | None


class ChatSessionRead(BaseModel):
    """Response of GET /api/chat/sessions/{id}: the whole transcript."""

    session_id: UUID
    messages: list[ChatMessageRead]
    state: ChatStateRead
