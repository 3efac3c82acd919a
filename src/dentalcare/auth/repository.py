"""SQL for users."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

USER_COLUMNS = "id, email, role, full_name, phone, disabled, token_version, password_hash"


async def insert_user(
    conn: asyncpg.Connection,
    *,
    email: str,
    password_hash: str,
    role: str,
    full_name: str,
    phone: str | None,
    user_id: UUID | None = None,
) -> asyncpg.Record:
    """Insert a user (with a chosen id, or a generated one) and return it."""
    return await conn.fetchrow(
        f"""INSERT INTO users (id, email, password_hash, role, full_name, phone)
            VALUES (coalesce($6, gen_random_uuid()), $1, $2, $3, $4, $5)
            RETURNING {USER_COLUMNS}""",
        email,
        password_hash,
        role,
        full_name,
        phone,
        user_id,
    )


async def user_by_email(conn: asyncpg.Connection, email: str) -> asyncpg.Record | None:
    """The user with this e-mail address, compared case-insensitively."""
    return await conn.fetchrow(
        f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
    )


async def principal(conn: asyncpg.Connection, user_id: UUID) -> asyncpg.Record | None:
    """The user behind a token as they are now (a security-definer function: any claims)."""
    return await conn.fetchrow("SELECT * FROM auth_principal($1)", user_id)


async def token_principal(
    conn: asyncpg.Connection, user_id: UUID, *, token_id: UUID, session_id: UUID
) -> asyncpg.Record | None:
    """`principal` plus whether the token or its session was revoked (logged out), in one
    statement (a security-definer function: revoked_tokens is not readable otherwise)."""
    return await conn.fetchrow(
        "SELECT * FROM auth_token_principal($1, $2, $3)", user_id, token_id, session_id
    )


async def revoke_session(
    conn: asyncpg.Connection, *, session_id: UUID, user_id: UUID, expires_at: datetime
) -> None:
    """Refuse the session's tokens from now on (kept until `expires_at`, when they would
    have lapsed anyway)."""
    await conn.execute(
        # No conflict target: naming the key would make PostgreSQL check the (system-only)
        # read policy as well, and a user may not read revocations.
        """INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING""",
        session_id,
        user_id,
        expires_at,
    )


async def forget_expired_revocations(conn: asyncpg.Connection, *, batch: int) -> int:
    """Delete up to `batch` revocations whose tokens have expired; how many went."""
    status: str = await conn.execute(
        """DELETE FROM revoked_tokens WHERE jti IN (
               SELECT jti FROM revoked_tokens WHERE expires_at < now() LIMIT $1)""",
        batch,
    )
    return int(status.rsplit(" ", 1)[-1])


async def revoke_and_disable(conn: asyncpg.Connection, user_id: UUID) -> None:
    """Disable a login and invalidate every token issued to it."""
    await conn.execute(
        "UPDATE users SET disabled = true, token_version = token_version + 1 WHERE id = $1",
        user_id,
    )


async def update_email(conn: asyncpg.Connection, user_id: UUID, email: str) -> None:
    """Change a login's e-mail address."""
    await conn.execute("UPDATE users SET email = $2 WHERE id = $1", user_id, email)
