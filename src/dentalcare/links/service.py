"""Links in messages: appointment links are signed, account links are stored rows.

An appointment link (confirm attendance, cancel, reschedule, unsubscribe; four in every
booking e-mail) is `1.<payload>.<mac>`: the payload says what it is for, for which
appointment, for which address (a digest of it) and until when, and carries a nonce; the
mac is HMAC-SHA256 with a key derived from the service's secret (`configure`). Nothing is
stored when it is sent: using it records its digest in `used_links`, once. A link dies
when it expires, when it is used, or when the appointment's e-mail address changes (an
erasure or a corrected address).

An account link (password reset, e-mail verification, staff invitation) is `<row id>.
<secret>`: the secret is 24 random bytes, the row keeps only its sha256, so neither a
guess nor a copy of the database makes a working link; the row holds what it is for,
until when, and whether it was used (so a new password can end every open one).

Every way a link can fail (unknown, forged, used, expired, for something else) answers
the same `410 LinkExpired`, so a link reveals nothing about other links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
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

# Signed links: version 1, one byte per purpose.
SIGNED_VERSION = "1"
SIGNED_PURPOSES: tuple[str, ...] = ("confirm_attendance", "cancel", "reschedule", "unsubscribe")
# purpose (1) | appointment id (16) | expires, epoch seconds (8) | address digest (8) |
# nonce (6): every link sent is distinct, even two for the same visit and moment.
_PAYLOAD = struct.Struct(">B16sq8s6s")
_MAC_BYTES = 16
_key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Link:
    """A link as its row holds it (after the secret matched), or as its signed text says
    (after the mac matched: `address` then is the digest of the address it was sent to,
    `digest` what `used_links` records)."""

    id: UUID
    purpose: str
    appointment_id: UUID | None
    user_id: UUID | None
    email: str | None
    expires_at: datetime
    address: bytes | None = None
    digest: bytes | None = None

    def sent_to(self, email: str | None) -> bool:
        """Whether the link was sent to `email` (the appointment's address now): a signed
        link dies when the address changes; a stored one names its own."""
        if self.address is None:
            return True
        return email is not None and hmac.compare_digest(self.address, _address(email))


def configure(secret: str) -> None:
    """Sign appointment links with a key derived from the service's secret (every process
    of one clinic shares it, so a link from one works on all)."""
    global _key
    _key = hmac.new(secret.encode(), b"dentalcare appointment links v1", "sha256").digest()


def _signing_key() -> bytes:
    if _key is None:
        configure(_env_settings().jwt_secret)
    assert _key is not None
    return _key


def _address(email: str) -> bytes:
    return hashlib.sha256(email.strip().lower().encode()).digest()[:8]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_link(*, purpose: str, appointment_id: UUID, email: str, expires_at: datetime) -> str:
    """An appointment link's token (nothing is stored)."""
    return _signed(purpose, appointment_id, _address(email), expires_at)


def _signed(purpose: str, appointment_id: UUID, address: bytes, expires_at: datetime) -> str:
    payload = _PAYLOAD.pack(
        SIGNED_PURPOSES.index(purpose),
        appointment_id.bytes,
        int(expires_at.timestamp()),
        address,
        secrets.token_bytes(6),
    )
    mac = hmac.new(_signing_key(), payload, "sha256").digest()[:_MAC_BYTES]
    return f"{SIGNED_VERSION}.{_b64(payload)}.{_b64(mac)}"


def _verify_signed(token: str) -> Link:
    """The link a signed token names, if its mac matches (used or not)."""
    _, payload_text, mac_text = token.split(".", 2)
    try:
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except ValueError:
        raise LinkExpired(EXPIRED) from None
    expected = hmac.new(_signing_key(), payload, "sha256").digest()[:_MAC_BYTES]
    if len(payload) != _PAYLOAD.size or not hmac.compare_digest(mac, expected):
        raise LinkExpired(EXPIRED)
    code, appointment, expires, address, _nonce = _PAYLOAD.unpack(payload)
    if code >= len(SIGNED_PURPOSES):
        raise LinkExpired(EXPIRED)
    digest = hashlib.sha256(payload).digest()
    return Link(
        id=UUID(bytes=digest[:16]),
        purpose=SIGNED_PURPOSES[code],
        appointment_id=UUID(bytes=appointment),
        user_id=None,
        email=None,
        expires_at=datetime.fromtimestamp(expires, UTC),
        address=address,
        digest=digest,
    )


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
    await repository.insert_token(conn, row)
    return token


async def _find(
    conn: asyncpg.Connection, token: str, *, purposes: tuple[str, ...], now: datetime, lock: bool
) -> Link:
    if len(token) > 200:
        raise LinkExpired(EXPIRED)
    if token.startswith(SIGNED_VERSION + ".") and token.count(".") == 2:
        link = _verify_signed(token)
        if link.purpose not in purposes or link.expires_at <= now:
            raise LinkExpired(EXPIRED)
        assert link.digest is not None
        if not lock and await repository.link_used(conn, link.digest):
            raise LinkExpired(EXPIRED)
        return link
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
    if link.digest is not None:
        # A second use (or one racing this, once this commits) finds the digest taken.
        if not await repository.record_use(conn, link.digest, expires_at=link.expires_at):
            raise LinkExpired(EXPIRED)
    else:
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


def manage_links(
    appointment: Any, *, settings: Settings | None = None, now: datetime | None = None
) -> dict[str, str]:
    """Absolute confirm / cancel / reschedule / unsubscribe URLs for a message about
    `appointment` (its `id`, `starts_at` and `patient_email`): signed, nothing stored.
    The first three work until the visit starts, unsubscribe for a year."""
    base = public_url(settings)
    now = now or datetime.now(UTC)
    appointment_id, starts_at = appointment["id"], appointment["starts_at"]
    address = _address(appointment["patient_email"])  # once for the four links
    links: dict[str, str] = {}
    for purpose in ("confirm_attendance", "cancel", "reschedule"):
        token = _signed(purpose, appointment_id, address, starts_at)
        links["confirm" if purpose == "confirm_attendance" else purpose] = f"{base}/manage/{token}"
    token = _signed("unsubscribe", appointment_id, address, now + LIFETIMES["unsubscribe"])
    links["unsubscribe"] = f"{base}/unsubscribe/{token}"
    return links


async def opt_out(conn: asyncpg.Connection, email: str) -> None:
    """Stop reminders to `email` (transactional messages still go)."""
    await repository.opt_out(conn, email)


async def reminders_allowed(conn: asyncpg.Connection, email: str) -> bool:
    """Whether reminders may go to `email` (the outbox asks before writing them; any
    claims may ask)."""
    return not await repository.opted_out(conn, email)
