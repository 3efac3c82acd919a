"""Access tokens (JWT, HS256) and who a token stands for right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import jwt

from dentalcare.auth import repository
from dentalcare.config import Settings
from dentalcare.db.claims import Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import Unauthorized

ALGORITHM = "HS256"

# The roles a user account has (the `users.role` check constraint): claims' roles
# without `anonymous` and `system`.
UserRole = Literal["patient", "dentist", "admin"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user as of this request."""

    user_id: UUID
    role: UserRole
    email: str
    full_name: str
    phone: str | None
    dentist_id: UUID | None
    token_expires_at: int
    # The version the token was issued at (tokens minted for this user carry it too).
    token_version: int = 0

    @property
    def claims(self) -> Claims:
        """The database claims for this user's transactions."""
        return Claims(self.role, user_id=self.user_id, dentist_id=self.dentist_id)


def issue_token(
    settings: Settings,
    *,
    user_id: UUID,
    role: str,
    token_version: int,
    now: datetime | None = None,
) -> str:
    """A signed access token for the user, issued at `now`."""
    issued = int((now or datetime.now(UTC)).timestamp())
    payload = {
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "iat": issued,
        "exp": issued + settings.access_token_minutes * 60,
        "typ": "access",
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHM)


def _whole_seconds(payload: dict[str, Any], claim: str) -> int:
    try:
        return int(payload[claim])
    except (ValueError, TypeError, OverflowError):
        raise Unauthorized("The access token is not valid.") from None


def decode_token(settings: Settings, token: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The verified payload of `token` at `now`; Unauthorized if forged, malformed or expired."""
    try:
        # PyJWT checks times against the system clock; they are checked below against
        # `now`, by PyJWT's own rules (expired at `exp`, not valid before `iat`).
        payload: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            options={
                "require": ["sub", "exp", "iat", "ver", "role"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized("The access token is not valid.") from exc
    at = (now or datetime.now(UTC)).timestamp()
    if _whole_seconds(payload, "iat") > at:
        raise Unauthorized("The access token is not valid.")
    if _whole_seconds(payload, "exp") <= at:
        raise Unauthorized("Your session has expired; please log in again.")
    if payload.get("typ") != "access":
        raise Unauthorized("The access token is not valid.")
    return payload


async def authenticate(
    uow: UnitOfWork, settings: Settings, token: str, *, now: datetime | None = None
) -> Principal:
    """The principal behind `token` at `now`, checked against the database on every call.

    Disabling a user, removing a dentist or bumping the token version refuses every
    token issued before, at once. From here on, `uow` acts for the principal.
    """
    payload = decode_token(settings, token, now=now)
    try:
        user_id = UUID(str(payload["sub"]))
    except ValueError as exc:
        raise Unauthorized("The access token is not valid.") from exc
    row = await repository.principal(await uow.connection(), user_id)
    if (
        row is None
        or row["disabled"]
        or row["token_version"] != payload["ver"]
        or row["role"] != payload["role"]
        or (row["role"] == "dentist" and not row["dentist_active"])
    ):
        raise Unauthorized("This session is no longer valid; please log in again.")
    principal = Principal(
        user_id=row["id"],
        role=row["role"],
        email=row["email"],
        full_name=row["full_name"],
        phone=row["phone"],
        dentist_id=row["dentist_id"] if row["role"] == "dentist" else None,
        token_expires_at=int(payload["exp"]),
        token_version=row["token_version"],
    )
    uow.act_as(principal.claims)
    return principal
