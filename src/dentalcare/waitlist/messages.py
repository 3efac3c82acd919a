"""The two messages the waitlist sends (`waitlist_offer`, `recall_due`), written to the
outbox in the caller's transaction so they go out exactly when the change commits."""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

import asyncpg

from dentalcare import outbox


def public_link(path: str) -> str:
    """An absolute link for a message: DENTALCARE_PUBLIC_URL (else http://HOST:PORT of the
    service's settings in the environment) + `path`."""
    base = os.environ.get("DENTALCARE_PUBLIC_URL") or "http://{}:{}".format(
        os.environ.get("DENTALCARE_HOST", "127.0.0.1"), os.environ.get("DENTALCARE_PORT", "8000")
    )
    return base.rstrip("/") + path


async def queue_message(
    conn: asyncpg.Connection,
    *,
    kind: str,
    to_email: str | None,
    to_phone: str | None = None,
    user_id: UUID | None = None,
    appointment_id: UUID | None = None,
    context: dict[str, Any],
    dedupe_key: str,
) -> None:
    """Queue one message of `kind` on the outbox (once per `dedupe_key`)."""
    await outbox.enqueue(
        conn,
        kind=kind,
        to_email=to_email,
        to_phone=to_phone,
        user_id=user_id,
        appointment_id=appointment_id,
        context=context,
        dedupe_key=dedupe_key,
    )
