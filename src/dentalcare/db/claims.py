"""Claims: whom a transaction acts for, as the row-level security policies read them.

The policies read them through `app_role()`, `app_user_id()`, `app_dentist_id()`,
`app_guest_email()` and `current_setting('app.chat_session')`; they are transaction-local
settings, so a pooled connection never carries one caller's identity into the next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal
from uuid import UUID

import asyncpg

ClaimsRole = Literal["anonymous", "patient", "dentist", "admin", "front_desk", "system"]


@dataclass(frozen=True, slots=True)
class Claims:
    """Who a transaction acts for. `system` is the service itself (listener, login look-up)."""

    role: ClaimsRole
    user_id: UUID | None = None
    dentist_id: UUID | None = None
    # A guest (no account) acting on appointments booked under this e-mail address.
    guest_email: str | None = None
    # The chat session a turn works on (RLS admits only that session's row).
    chat_session: UUID | None = None

    def with_chat_session(self, session_id: UUID) -> Claims:
        """These claims, working on one chat session."""
        return replace(self, chat_session=session_id)


ANONYMOUS = Claims("anonymous")
SYSTEM = Claims("system")

_SET_CLAIMS = """
SELECT set_config('app.role', $1, true),
       set_config('app.user_id', $2, true),
       set_config('app.dentist_id', $3, true),
       set_config('app.guest_email', $4, true),
       set_config('app.chat_session', $5, true),
       set_config('app.ip', $6, true)
"""


async def set_claims(conn: asyncpg.Connection, claims: Claims, *, ip: str | None = None) -> None:
    """Set the transaction-local claims that row-level security reads (one statement);
    `ip`, the client's address, goes into the audit log's entries."""
    await conn.execute(
        _SET_CLAIMS,
        claims.role,
        str(claims.user_id) if claims.user_id else "",
        str(claims.dentist_id) if claims.dentist_id else "",
        claims.guest_email.lower() if claims.guest_email else "",
        str(claims.chat_session) if claims.chat_session else "",
        (ip or "")[:100],
    )
