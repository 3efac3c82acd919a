"""Chat sessions: start one, take a turn, read one — the dialogue, persisted.

A turn never holds a transaction while it thinks: it loads the session in a short
transaction, answers with none open (the clinic's reads are short transactions of their
own), and saves with optimistic concurrency — the session's `version` must not have moved.
Two messages sent at once to one session: the second to save is rolled back (with any
booking it made) and answered again on the new state; after `TURN_ATTEMPTS` tries it gets a
clean 409. A booking made in a turn belongs to the transaction that saves the transcript, so
both commit or neither does. At most `TurnLimiter.limit` turns run at once per process,
below the pool size, so chat can never take every connection.

Hostile input: messages are rate-limited per session and per address, new conversations
per address (`Throttle.chat_message`, `Throttle.chat_session`); the understanding runs in
a worker thread within `chat_understanding_seconds` (`chatbot.bounded`); a transcript
keeps at most `MAX_MESSAGES` messages and `MAX_TRANSCRIPT_BYTES` bytes, the oldest
dropped first. Idle guest conversations expire (`chatbot.retention`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import UUID

from dentalcare.auth.tokens import Principal
from dentalcare.chatbot import repository
from dentalcare.chatbot.bounded import BoundedUnderstanding
from dentalcare.chatbot.clinic import ServiceClinic
from dentalcare.chatbot.dialogue import Dialogue
from dentalcare.chatbot.state import ChatState, KnownPatient
from dentalcare.chatbot.understanding import RuleBasedUnderstanding
from dentalcare.chatbot.when import warm_up
from dentalcare.config import Settings
from dentalcare.db.claims import ANONYMOUS, Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import Conflict, NotFound, ServiceUnavailable
from dentalcare.ratelimit import Throttle
from dentalcare.timezones import zone

# The transcript kept per session: at most this many messages and this many bytes of JSON
# (a conversation is some 20-60 messages, 10-30 KiB); the oldest are dropped first.
MAX_MESSAGES = 400
MAX_TRANSCRIPT_BYTES = 128 * 1024
# A turn that loses the race to save is answered again on the newer state this often.
TURN_ATTEMPTS = 3


class _TurnRaced(Exception):
    """Another turn on the session was saved after this one loaded it."""


@cache
def _understanding(budget_seconds: float) -> BoundedUnderstanding:
    return BoundedUnderstanding(RuleBasedUnderstanding(), budget_seconds=budget_seconds)


def _patient(caller: Principal | None) -> Principal | None:
    """Only patients have chats of their own; other roles chat as guests."""
    return caller if caller is not None and caller.role == "patient" else None


def _claims(caller: Principal | None, session_id: UUID) -> Claims:
    patient = _patient(caller)
    return (patient.claims if patient else ANONYMOUS).with_chat_session(session_id)


class TurnLimiter:
    """At most `limit` chat turns at once in this process; a turn that cannot start
    within `wait_seconds` is answered 503 (Retry-After) instead of queueing for ever."""

    def __init__(self, *, limit: int, wait_seconds: float = 10.0) -> None:
        self.limit = max(1, limit)
        self.wait_seconds = wait_seconds
        self._slots = asyncio.Semaphore(self.limit)

    async def acquire(self) -> None:
        """Wait for a free turn slot (bounded)."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_seconds)
        except TimeoutError:
            raise ServiceUnavailable(
                "The assistant is very busy right now; please send your message again."
            ) from None

    def release(self) -> None:
        """Give the slot back."""
        self._slots.release()


def _dialogue(clinic: ServiceClinic, settings: Settings) -> Dialogue:
    return Dialogue(
        clinic=clinic,
        understanding=_understanding(settings.chat_understanding_seconds),
        timezone=zone(settings.clinic_timezone),
    )


def _capped(transcript: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest messages of `transcript` within MAX_MESSAGES and MAX_TRANSCRIPT_BYTES."""
    kept = transcript[-MAX_MESSAGES:]
    sizes = [len(json.dumps(message, ensure_ascii=False).encode()) + 1 for message in kept]
    total, first = sum(sizes), 0
    while total > MAX_TRANSCRIPT_BYTES and first < len(kept) - 1:
        total -= sizes[first]
        first += 1
    return kept[first:]


def _new_session_id() -> UUID:
    # The id of a guest's session is its only key: 122 random bits from the OS.
    return UUID(bytes=secrets.token_bytes(16), version=4)


async def start_session(
    *, uow: UnitOfWork, settings: Settings, throttle: Throttle, caller: Principal | None
) -> dict[str, Any]:
    """Open a conversation (linked to the caller if they are a patient) and greet."""
    throttle.chat_session()
    await uow.commit()  # nothing is held while dateparser's data loads
    await asyncio.to_thread(warm_up)  # dateparser's data loads here, not in a turn
    patient = _patient(caller)
    known = KnownPatient(patient.full_name, patient.email, patient.phone) if patient else None
    clinic = ServiceClinic(uow=uow, settings=settings, caller=patient)
    turn = _dialogue(clinic, settings).start(known)
    session_id = _new_session_id()
    messages = [reply.to_json() for reply in turn.replies]
    uow.act_as(_claims(caller, session_id))
    await repository.insert_session(
        await uow.connection(),
        session_id=session_id,
        user_id=patient.user_id if patient else None,
        state=turn.state.to_json(),
        messages=messages,
    )
    return {"session_id": str(session_id), "messages": messages}


async def post_message(
    *,
    uow: UnitOfWork,
    settings: Settings,
    turns: TurnLimiter,
    throttle: Throttle,
    caller: Principal | None,
    session_id: UUID,
    text: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One turn: the assistant's answer to `text`, the new state, and any appointment made."""
    throttle.chat_message(session_id)
    await uow.commit()  # the token check's transaction: no connection held while waiting
    await turns.acquire()
    try:
        for _ in range(TURN_ATTEMPTS):
            try:
                return await _take_turn(
                    uow=uow,
                    settings=settings,
                    throttle=throttle,
                    caller=caller,
                    session_id=session_id,
                    text=text,
                    now=now,
                )
            except _TurnRaced:
                await uow.rollback()  # a booking made in the lost turn goes with it
        raise Conflict(
            "Other messages to this conversation were being answered at the same moment; "
            "please send yours again."
        )
    finally:
        turns.release()


async def _take_turn(
    *,
    uow: UnitOfWork,
    settings: Settings,
    throttle: Throttle,
    caller: Principal | None,
    session_id: UUID,
    text: str,
    now: datetime | None,
) -> dict[str, Any]:
    uow.act_as(_claims(caller, session_id))
    async with uow.transaction() as conn:
        row = await repository.session_by_id(conn, session_id)
    if row is None:
        raise NotFound("No such chat session.")
    patient = _patient(caller)
    owner = patient if patient is not None and row["user_id"] == patient.user_id else None
    clinic = ServiceClinic(uow=uow, settings=settings, caller=owner, throttle=throttle, now=now)
    state = ChatState.from_json(row["state"])
    turn = await _dialogue(clinic, settings).respond(state, text, now=now or datetime.now(UTC))
    said = [reply.to_json() for reply in turn.replies]
    transcript = [*row["messages"], {"role": "user", "text": text, "quick_replies": []}, *said]
    # The same transaction as a booking made in this turn, if there was one.
    saved = await repository.save_turn(
        await uow.connection(),
        session_id=session_id,
        version=row["version"],
        state=turn.state.to_json(),
        messages=_capped(transcript),
    )
    if not saved:
        raise _TurnRaced
    return {"messages": said, "state": turn.state.public(), "appointment": turn.appointment}


async def get_session(
    *, uow: UnitOfWork, caller: Principal | None, session_id: UUID
) -> dict[str, Any]:
    """The transcript and state of a session the caller owns."""
    uow.act_as(_claims(caller, session_id))
    row = await repository.session_by_id(await uow.connection(), session_id)
    if row is None:
        raise NotFound("No such chat session.")
    return {
        "session_id": str(row["id"]),
        "messages": row["messages"],
        "state": ChatState.from_json(row["state"]).public(),
    }
