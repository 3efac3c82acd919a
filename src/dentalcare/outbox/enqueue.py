"""Writing messages: in the caller's transaction, on its connection."""

from __future__ import annotations

import os
import uuid
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
    values = dict(context or {})
    values.setdefault("links", {})
    subject = render_subject(kind, values)
    # Plain JSON values (dates, UUIDs as text); the pool's codec writes the jsonb.
    payload = orjson.loads(orjson.dumps(values, default=str))
    first: UUID | None = None
    targets: list[tuple[str, str, str | None]] = []
    if to_email:
        targets.append(("email", to_email.strip(), dedupe_key))
    if to_phone and _sms_enabled():
        targets.append(("sms", to_phone.strip(), f"{dedupe_key}:sms" if dedupe_key else None))
    for channel, address, key in targets:
        message_uuid = uuid.uuid4()
        inserted = await repository.insert_message(
            conn,
            id=message_uuid,
            kind=kind,
            channel=channel,
            to_address=address,
            subject=subject,
            appointment_id=appointment_id,
            user_id=user_id,
            context=payload,
            due_at=due_at,
            message_id=f"<{message_uuid}@{message_domain()}>",
            dedupe_key=key,
        )
        if first is None and inserted is not None:
            first = inserted
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
