"""Link tokens: issued in the transaction that writes the message, used once.

A link's token is `<row id>.<secret>`: the secret is 24 random bytes, the row keeps only
its sha256, so neither a guess nor a copy of the database makes a working link. The row
holds what the link is for (one purpose each), until when, and whether it was used.
Every way a link can fail (unknown, forged, used, expired, for something else) answers
the same `410 LinkExpired`, so a link reveals nothing about other links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg

from dentalcare.config import Settings
from dentalcare.errors import LinkExpired
from dentalcare.links import repository

Purpose = Literal[
    "confirm_attendance",
    "cancel",
    "reschedule",
    "unsubscribe",
    "password_reset",
    "email_verification",
    "staff_invitation",
]

# How long account links work; appointment links work until the appointment starts.
LIFETIMES: dict[str, timedelta] = {
    "password_reset": timedelta(hours=1),
    "email_verification": timedelta(days=7),
    "staff_invitation": timedelta(days=7),
    "unsubscribe": timedelta(days=365),
}
EXPIRED = "This link has expired or was used already."


@dataclass(frozen=True, slots=True)
class Link:
    """A link token as its row holds it (after the secret matched)."""

    id: UUID
    purpose: str
    appointment_id: UUID | None
    user_id: UUID | None
    email: str | None
    expires_at: datetime


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _new_token(
    *,
    purpose: Purpose,
    now: datetime,
    expires_at: datetime | None,
    appointment_id: UUID | None = None,
    user_id: UUID | None = None,
    email: str | None = None,
) -> tuple[str, dict[str, object]]:
    """A token's text and the row that stores it (the secret only as its digest)."""
    secret = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
    token_id = uuid4()
    row: dict[str, object] = {
        "token_id": token_id,
        "purpose": purpose,
        "secret_hash": _digest(secret),
        "expires_at": expires_at if expires_at is not None else now + LIFETIMES[purpose],
        "appointment_id": appointment_id,
        "user_id": user_id,
        "email": email,
    }
    return f"{token_id.hex}.{secret}", row


async def issue(
    conn: asyncpg.Connection,
    *,
    purpose: Purpose,
    now: datetime | None = None,
    expires_at: datetime | None = None,
    appointment_id: UUID | None = None,
    user_id: UUID | None = None,
    email: str | None = None,
) -> str:
    """A new link token for `purpose`: account links need `system` claims, appointment
    links any claims that can see the appointment."""
    token, row = _new_token(
        purpose=purpose,
        now=now or datetime.now(UTC),
        expires_at=expires_at,
        appointment_id=appointment_id,
        user_id=user_id,
        email=email,
    )
    await repository.insert_tokens(conn, [row])
    return token


async def _find(
    conn: asyncpg.Connection, token: str, *, purposes: tuple[str, ...], now: datetime, lock: bool
) -> Link:
    raw_id, _, secret = token.partition(".")
    try:
        token_id = UUID(hex=raw_id)
    except ValueError:
        raise LinkExpired(EXPIRED) from None
    if not secret or len(secret) > 64:
        raise LinkExpired(EXPIRED)
    row = await repository.token_by_id(conn, token_id, lock=lock)
    if (
        row is None
        or not hmac.compare_digest(bytes(row["secret_hash"]), _digest(secret))
        or row["purpose"] not in purposes
        or row["used_at"] is not None
        or row["expires_at"] <= now
    ):
        raise LinkExpired(EXPIRED)
    return Link(
        id=row["id"],
        purpose=row["purpose"],
        appointment_id=row["appointment_id"],
        user_id=row["user_id"],
        email=row["email"],
        expires_at=row["expires_at"],
    )


async def peek(
    conn: asyncpg.Connection, token: str, *, purposes: tuple[str, ...], now: datetime
) -> Link:
    """The live link behind `token` without using it (a page showing what it will do)."""
    return await _find(conn, token, purposes=purposes, now=now, lock=False)


async def use(
    conn: asyncpg.Connection, token: str, *, purposes: tuple[str, ...], now: datetime
) -> Link:
    """Use the link behind `token` once: locked, checked and marked used in the caller's
    transaction (if that transaction rolls back, the link still works)."""
    link = await _find(conn, token, purposes=purposes, now=now, lock=True)
    await repository.mark_used(conn, link.id, at=now)
    return link


async def use_up(
    conn: asyncpg.Connection, *, user_id: UUID, purpose: Purpose, now: datetime
) -> None:
    """End every open link of `purpose` for the user (e.g. once the password changed)."""
    await repository.mark_user_tokens_used(conn, user_id, purpose=purpose, at=now)


@cache
def _env_settings() -> Settings:
    return Settings()


def public_url(settings: Settings | None = None) -> str:
    """The base of every link in a message (DENTALCARE_PUBLIC_URL)."""
    return (settings or _env_settings()).public_url.rstrip("/")


async def manage_links(
    conn: asyncpg.Connection,
    appointment: Any,
    *,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Absolute confirm / cancel / reschedule / unsubscribe URLs for a booking message,
    issued on `conn` in the message's own transaction (under the claims that wrote it)."""
    links, rows = prepared_manage_links(appointment, settings=settings, now=now)
    await repository.insert_tokens(conn, rows)  # the four tokens in one round trip
    return links


def prepared_manage_links(
    appointment: Any, *, settings: Settings | None = None, now: datetime | None = None
) -> tuple[dict[str, str], list[dict[str, object]]]:
    """`manage_links`' URLs and the token rows behind them, not yet stored: the caller
    stores them (`repository.insert_tokens`, or in the statement that writes the message,
    `repository.TOKENS_CTE`) in the same transaction before it commits."""
    base = public_url(settings)
    now = now or datetime.now(UTC)
    appointment_id = appointment["id"]
    starts_at = appointment["starts_at"]
    links: dict[str, str] = {}
    rows: list[dict[str, object]] = []
    for purpose in ("confirm_attendance", "cancel", "reschedule"):
        token, row = _new_token(
            purpose=purpose, now=now, expires_at=starts_at, appointment_id=appointment_id
        )
        rows.append(row)
        links["confirm" if purpose == "confirm_attendance" else purpose] = f"{base}/manage/{token}"
    token, row = _new_token(
        purpose="unsubscribe",
        now=now,
        expires_at=None,
        appointment_id=appointment_id,
        email=appointment["patient_email"],
    )
    rows.append(row)
    links["unsubscribe"] = f"{base}/unsubscribe/{token}"
    return links, rows


async def opt_out(conn: asyncpg.Connection, email: str) -> None:
    """Stop reminders to `email` (transactional messages still go)."""
    await repository.opt_out(conn, email)


async def reminders_allowed(conn: asyncpg.Connection, email: str) -> bool:
    """Whether reminders may go to `email` (the outbox asks before writing them; any
    claims may ask)."""
    return not await repository.opted_out(conn, email)
