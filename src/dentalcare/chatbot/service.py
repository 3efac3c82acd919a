"""Chat sessions: start one, take a turn, read one — the dialogue, persisted.

A turn runs in one transaction that holds the session's row lock, so two messages sent
at once to the same session are answered one after the other. The clinic is reached
through `ServiceClinic`, i.e. the same booking services as every other channel.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID

from dentalcare.auth.tokens import Principal
from dentalcare.chatbot import repository
from dentalcare.chatbot.clinic import ServiceClinic
from dentalcare.chatbot.dialogue import Dialogue
from dentalcare.chatbot.state import ChatState, KnownPatient
from dentalcare.chatbot.understanding import RuleBasedUnderstanding
from dentalcare.chatbot.when import warm_up
from dentalcare.config import Settings
from dentalcare.db.pool import ANONYMOUS, Claims, Database
from dentalcare.errors import NotFound
from dentalcare.timezones import zone

# The transcript kept per session; older messages are dropped.
MAX_MESSAGES = 400


@cache
def _understanding() -> RuleBasedUnderstanding:
    return RuleBasedUnderstanding()


def _patient(caller: Principal | None) -> Principal | None:
    """Only patients have chats of their own; other roles chat as guests."""
    return caller if caller is not None and caller.role == "patient" else None


def _claims(caller: Principal | None) -> Claims:
    patient = _patient(caller)
    return patient.claims if patient else ANONYMOUS


def _dialogue(clinic: ServiceClinic, settings: Settings) -> Dialogue:
    return Dialogue(
        clinic=clinic, understanding=_understanding(), timezone=zone(settings.clinic_timezone)
    )


def _new_session_id() -> UUID:
    # The id of a guest's session is its only key: 122 random bits from the OS.
    return UUID(bytes=secrets.token_bytes(16), version=4)


async def start_session(
    *, db: Database, settings: Settings, caller: Principal | None
) -> dict[str, Any]:
    """Open a conversation (linked to the caller if they are a patient) and greet."""
    await asyncio.to_thread(warm_up)  # dateparser's data loads here, not in a turn
    patient = _patient(caller)
    known = KnownPatient(patient.full_name, patient.email, patient.phone) if patient else None
    clinic = ServiceClinic(db=db, settings=settings, caller=patient)
    turn = _dialogue(clinic, settings).start(known)
    session_id = _new_session_id()
    messages = [reply.to_json() for reply in turn.replies]
    async with db.transaction(_claims(caller)) as conn:
        await repository.use_session(conn, session_id)
        await repository.insert_session(
            conn,
            session_id=session_id,
            user_id=patient.user_id if patient else None,
            state=turn.state.to_json(),
            messages=messages,
        )
    return {"session_id": str(session_id), "messages": messages}


async def post_message(
    *,
    db: Database,
    settings: Settings,
    caller: Principal | None,
    session_id: UUID,
    text: str,
    now: datetime | None = None,
    before_booking: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One turn: the assistant's answer to `text`, the new state, and any appointment made."""
    async with db.transaction(_claims(caller)) as conn:
        await repository.use_session(conn, session_id)
        row = await repository.session_by_id(conn, session_id, lock=True)
        if row is None:
            raise NotFound("No such chat session.")
        patient = _patient(caller)
        owner = patient if patient is not None and row["user_id"] == patient.user_id else None
        clinic = ServiceClinic(
            db=db, settings=settings, caller=owner, now=now, before_booking=before_booking
        )
        state = ChatState.from_json(row["state"])
        turn = await _dialogue(clinic, settings).respond(state, text, now=now or datetime.now(UTC))
        said = [reply.to_json() for reply in turn.replies]
        transcript = [*row["messages"], {"role": "user", "text": text, "quick_replies": []}, *said]
        await repository.save_turn(
            conn,
            session_id=session_id,
            state=turn.state.to_json(),
            messages=transcript[-MAX_MESSAGES:],
        )
    return {"messages": said, "state": turn.state.public(), "appointment": turn.appointment}


async def get_session(
    *, db: Database, caller: Principal | None, session_id: UUID
) -> dict[str, Any]:
    """The transcript and state of a session the caller owns."""
    async with db.transaction(_claims(caller)) as conn:
        await repository.use_session(conn, session_id)
        row = await repository.session_by_id(conn, session_id)
    if row is None:
        raise NotFound("No such chat session.")
    return {
        "session_id": str(row["id"]),
        "messages": row["messages"],
        "state": ChatState.from_json(row["state"]).public(),
    }
