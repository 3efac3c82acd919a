"""Account rules: registration, login, logout, the current user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg

from dentalcare.auth import repository
from dentalcare.auth.passwords import PasswordHashing
from dentalcare.auth.schemas import LoginRequest, RegisterRequest
from dentalcare.auth.tokens import Principal, issue_token
from dentalcare.config import Settings
from dentalcare.db.claims import SYSTEM, Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import AlreadyExists, ServiceUnavailable, Unauthorized
from dentalcare.jsonshape import text_id
from dentalcare.outbox import accounts as messages
from dentalcare.ratelimit import Throttle


def user_json(row: Any, *, dentist_id: Any = None) -> dict[str, Any]:
    """A user row (or Principal) as the contract's `user`."""
    if isinstance(row, Principal):
        return {
            "id": str(row.user_id),
            "email": row.email,
            "role": row.role,
            "full_name": row.full_name,
            "phone": row.phone,
            "dentist_id": text_id(row.dentist_id),
        }
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "role": row["role"],
        "full_name": row["full_name"],
        "phone": row["phone"],
        "dentist_id": text_id(dentist_id) if row["role"] == "dentist" else None,
    }


def session_json(
    settings: Settings, row: Any, *, dentist_id: Any = None, now: datetime | None = None
) -> dict[str, Any]:
    """The token response for a user row, issued at `now`."""
    token = issue_token(
        settings,
        user_id=row["id"],
        role=row["role"],
        token_version=row["token_version"],
        now=now,
    )
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": settings.access_token_minutes * 60,
        "user": user_json(row, dentist_id=dentist_id),
    }


# The page's realtime socket gets a token of its own that does not outlive the page.
SOCKET_TOKEN_MINUTES = 15


def socket_token(
    *, settings: Settings, principal: Principal, now: datetime | None = None
) -> dict[str, Any]:
    """A short-lived access token for a portal page's realtime socket: the same user,
    token version and session as the page's session (never outliving it), so logging out
    or revoking the user revokes it too."""
    short = settings.model_copy(update={"access_token_minutes": SOCKET_TOKEN_MINUTES})
    now = now or datetime.now(UTC)
    token = issue_token(
        short,
        user_id=principal.user_id,
        role=principal.role,
        token_version=principal.token_version,
        now=now,
        session_id=principal.session_id,
        not_after=principal.token_expires_at,
    )
    left = principal.token_expires_at - int(now.timestamp())
    return {"token": token, "expires_in": min(SOCKET_TOKEN_MINUTES * 60, left)}


# Revocations of expired tokens one logout clears away (keeps the table at the size of
# the sessions still alive, without a job of its own).
FORGET_EXPIRED_BATCH = 100


async def logout(
    *, uow: UnitOfWork, settings: Settings, principal: Principal, now: datetime | None = None
) -> None:
    """End the caller's session: its token, and every socket token minted from it, are
    refused from now on; its open sockets close (on every process) once this commits."""
    assert principal.session_id is not None, "authenticate() sets the session"
    if principal.session_id == principal.token_id:
        expires_at = datetime.fromtimestamp(principal.token_expires_at, UTC)
    else:  # a socket token: its session ends no later than a session can last
        expires_at = (now or datetime.now(UTC)) + timedelta(minutes=settings.access_token_minutes)
    conn = await uow.connection()
    await repository.revoke_session(
        conn, session_id=principal.session_id, user_id=principal.user_id, expires_at=expires_at
    )
    async with uow.acting_as(SYSTEM):
        await repository.forget_expired_revocations(
            await uow.connection(), batch=FORGET_EXPIRED_BATCH
        )


async def register(
    *,
    uow: UnitOfWork,
    settings: Settings,
    throttle: Throttle,
    hashing: PasswordHashing,
    request: RegisterRequest,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create a patient account and log it in."""
    throttle.registration()
    password_hash = await hashing.hash(request.password)
    # The id is chosen here so that the new row is the caller's own under RLS and
    # RETURNING may read it back; anonymous callers see no other user.
    user_id = uuid4()
    try:
        uow.act_as(Claims("anonymous", user_id=user_id))
        async with uow.savepoint() as conn:
            row = await repository.insert_user(
                conn,
                user_id=user_id,
                email=str(request.email),
                password_hash=password_hash,
                role="patient",
                full_name=request.full_name,
                phone=request.phone,
            )
    except asyncpg.UniqueViolationError as exc:
        raise AlreadyExists("An account with this e-mail address already exists.") from exc
    # In the same transaction: the link proving the address is the patient's.
    async with uow.acting_as(SYSTEM):
        await messages.email_verification(
            await uow.connection(),
            user_id=row["id"],
            email=row["email"],
            full_name=row["full_name"],
            settings=settings,
            now=now,
        )
    return session_json(settings, row, now=now)


async def login(
    *,
    uow: UnitOfWork,
    settings: Settings,
    throttle: Throttle,
    hashing: PasswordHashing,
    request: LoginRequest,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check the password and issue a token; one answer for every kind of failure.

    Only failures count against the limits (ratelimit.LoginLimiter): a right password is
    never refused because someone elsewhere guesses wrong ones for the same account."""
    attempt = throttle.login_attempt(request.email)
    uow.act_as(SYSTEM)
    conn = await uow.connection()
    row = await repository.user_by_email(conn, request.email.strip())
    principal = await repository.principal(conn, row["id"]) if row is not None else None
    # The hash is checked with no transaction open: it takes a thread for ~50 ms.
    await uow.commit()
    try:
        ok = await hashing.verify(row["password_hash"] if row else None, request.password)
    except ServiceUnavailable:
        attempt.refund()  # not checked: not a failure
        raise
    if (
        row is None
        or principal is None
        or not ok
        or row["disabled"]
        or (row["role"] == "dentist" and not principal["dentist_active"])
    ):
        raise Unauthorized("Wrong e-mail address or password.")
    attempt.refund()
    return session_json(settings, row, dentist_id=principal["dentist_id"], now=now)
