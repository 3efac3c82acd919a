"""Writing messages: in the caller's transaction, on its connection."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from dentalcare.outbox import repository
from dentalcare.outbox.rendering import render_subject

# Where Message-IDs say they come from when DENTALCARE_PUBLIC_URL names no host.
DEFAULT_MESSAGE_DOMAIN = "dentalcare.invalid"


def _sms_enabled() -> bool:
    return bool(os.environ.get("DENTALCARE_SMS_URL"))


def message_domain() -> str:
    """The host of DENTALCARE_PUBLIC_URL (Message-IDs end in it)."""
    url = os.environ.get("DENTALCARE_PUBLIC_URL", "")
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host or DEFAULT_MESSAGE_DOMAIN


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to write: `enqueue`'s arguments."""

    kind: str
    to_email: str | None = None
    to_phone: str | None = None
    appointment_id: UUID | None = None
    user_id: UUID | None = None
    context: dict[str, Any] | None = None
    due_at: datetime | None = None
    dedupe_key: str | None = None


def _rows(message: Outgoing, domain: str, sms: bool) -> list[dict[str, Any]]:
    """The `messages` rows for one message: its e-mail, and its SMS when SMS is on."""
    values = dict(message.context or {})
    values.setdefault("links", {})
    subject = render_subject(message.kind, values)
    # Plain JSON values (dates, UUIDs as text), cast to jsonb by the insert.
    payload = orjson.dumps(values, default=str).decode()
    key = message.dedupe_key
    targets: list[tuple[str, str, str | None]] = []
    if message.to_email:
        targets.append(("email", message.to_email.strip(), key))
    if message.to_phone and sms:
        targets.append(("sms", message.to_phone.strip(), f"{key}:sms" if key else None))
    rows = []
    for channel, address, dedupe_key in targets:
        message_uuid = uuid.uuid4()
        rows.append(
            {
                "id": message_uuid,
                "kind": message.kind,
                "channel": channel,
                "to_address": address,
                "subject": subject,
                "appointment_id": message.appointment_id,
                "user_id": message.user_id,
                "context": payload,
                "due_at": message.due_at,
                "message_id": f"<{message_uuid}@{domain}>",
                "dedupe_key": dedupe_key,
            }
        )
    return rows


def message_rows(messages: Sequence[Outgoing]) -> list[dict[str, Any]]:
    """The `messages` rows `enqueue_many` writes for `messages` (for a statement that
    writes them itself: `repository.enqueue_in_statement`)."""
    domain, sms = message_domain(), _sms_enabled()
    return [row for message in messages for row in _rows(message, domain, sms)]


async def enqueue_many(conn: asyncpg.Connection, messages: Sequence[Outgoing]) -> list[UUID | None]:
    """Write `messages` in the transaction open on `conn`, in one round trip: for each
    message, the id `enqueue` would return."""
    domain, sms = message_domain(), _sms_enabled()
    per_message = [_rows(message, domain, sms) for message in messages]
    rows = [row for group in per_message for row in group]
    if not rows:
        return [None for _ in messages]
    inserted = iter(await repository.insert_messages(conn, rows))
    firsts: list[UUID | None] = []
    for group in per_message:
        first: UUID | None = None
        for row in group:
            if next(inserted) and first is None:
                first = row["id"]
        firsts.append(first)
    return firsts


async def enqueue(
    conn: asyncpg.Connection,
    *,
    kind: str,
    to_email: str | None = None,
    to_phone: str | None = None,
    appointment_id: UUID | None = None,
    user_id: UUID | None = None,
    context: dict[str, Any] | None = None,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> UUID | None:
    """Write a message of `kind` (an e-mail to `to_email`; an SMS as well to `to_phone`
    when DENTALCARE_SMS_URL is set) in the transaction open on `conn`, due at `due_at`
    (now when None). Returns the e-mail's id (else the SMS's), or None when there is no
    recipient or a message with `dedupe_key` already exists."""
    message = Outgoing(
        kind=kind,
        to_email=to_email,
        to_phone=to_phone,
        appointment_id=appointment_id,
        user_id=user_id,
        context=context,
        due_at=due_at,
        dedupe_key=dedupe_key,
    )
    (first,) = await enqueue_many(conn, [message])
    return first


async def cancel_pending(
    conn: asyncpg.Connection, *, appointment_id: UUID, kind: str | None = None
) -> int:
    """Cancel the appointment's messages still waiting (of `kind`, or all); how many."""
    return await repository.cancel_scheduled(conn, appointment_id=appointment_id, kind=kind)


async def move_pending(
    conn: asyncpg.Connection, *, appointment_id: UUID, kind: str, due_at: datetime
) -> int:
    """Move the appointment's waiting messages of `kind` to `due_at`; how many."""
    return await repository.move_scheduled(
        conn, appointment_id=appointment_id, kind=kind, due_at=due_at
    )
