"""Access tokens (JWT, HS256) and who a token stands for right now.

Every token carries its own id (`jti`) and the id of the session it belongs to (`sid`):
a login's token is its own session (`sid == jti`); the short socket tokens a portal page
mints from its session carry that session's id. Logging out stores the session id in
`revoked_tokens` (until the session would have expired), which refuses the session's
token and every socket token minted from it, on every process. Tokens issued before
token ids existed carry no `jti` and are refused: their holders log in once more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import jwt

from dentalcare.auth import repository
from dentalcare.config import Settings
from dentalcare.db.claims import Claims
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import Unauthorized

ALGORITHM = "HS256"

# The roles a user account has (the `users.role` check constraint): claims' roles
# without `anonymous` and `system`.
UserRole = Literal["patient", "dentist", "admin", "front_desk"]


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
    # The token's own id and its session's (the login it was minted from).
    token_id: UUID | None = None
    session_id: UUID | None = None

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
    session_id: UUID | None = None,
    not_after: int | None = None,
) -> str:
    """A signed access token for the user, issued at `now`: a new session, or part of
    `session_id`'s (then expiring no later than `not_after`, that session's own expiry)."""
    issued = int((now or datetime.now(UTC)).timestamp())
    token_id = uuid4()
    expires = issued + settings.access_token_minutes * 60
    if not_after is not None:
        expires = min(expires, not_after)
    payload = {
        "sub": str(user_id),
        "role": role,
        "ver": token_version,
        "iat": issued,
        "exp": expires,
        "typ": "access",
        "jti": str(token_id),
        "sid": str(session_id or token_id),
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
                "require": ["sub", "exp", "iat", "ver", "role", "jti"],
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
    token issued before, at once; logging out refuses the session's tokens. One round
    trip checks all of it. From here on, `uow` acts for the principal.
    """
    payload = decode_token(settings, token, now=now)
    try:
        user_id = UUID(str(payload["sub"]))
        token_id = UUID(str(payload["jti"]))
        session_id = UUID(str(payload.get("sid") or token_id))
    except ValueError as exc:
        raise Unauthorized("The access token is not valid.") from exc
    row = await repository.token_principal(
        await uow.connection(), user_id, token_id=token_id, session_id=session_id
    )
    if (
        row is None
        or row["revoked"]
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
        token_id=token_id,
        session_id=session_id,
    )
    uow.act_as(principal.claims)
    return principal
