"""SQL for link tokens and reminder opt-outs (system claims only, by row-level security)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


async def insert_token(conn: asyncpg.Connection, row: dict[str, object]) -> None:
    """Store a new account link token (no RETURNING: the caller's claims may not read it
    back); `row` names `token_id`, `purpose`, `appointment_id`, `user_id`, `email`,
    `expires_at` and `secret_hash`."""
    await conn.execute(
        "INSERT INTO link_tokens "
        "(id, purpose, appointment_id, user_id, email, expires_at, secret_hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        row["token_id"],
        row["purpose"],
        row["appointment_id"],
        row["user_id"],
        row["email"],
        row["expires_at"],
        row["secret_hash"],
    )


async def token_by_id(
    conn: asyncpg.Connection, token_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """One link token, locked for this transaction when `lock` (so it is used once)."""
    return await conn.fetchrow(
        "SELECT id, secret_hash, purpose, appointment_id, user_id, email, expires_at, used_at "
        "FROM link_tokens WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        token_id,
    )


async def mark_used(conn: asyncpg.Connection, token_id: UUID, *, at: datetime) -> None:
    """Record that the link was used."""
    await conn.execute("UPDATE link_tokens SET used_at = $2 WHERE id = $1", token_id, at)


async def link_used(conn: asyncpg.Connection, digest: bytes) -> bool:
    """Whether the signed link with this digest was used (system claims)."""
    return bool(await conn.fetchval("SELECT true FROM used_links WHERE digest = $1", digest))


async def record_use(conn: asyncpg.Connection, digest: bytes, *, expires_at: datetime) -> bool:
    """Record a signed link's use; False when it was used already. A use racing this one
    waits for this transaction and then finds the digest taken (or, if this one rolls
    back, records its own). Used links that have expired anyway are pruned here: links
    are used rarely, and an expired one fails before it is looked up."""
    found = await conn.fetchval(
        """
        WITH pruned AS (DELETE FROM used_links WHERE expires_at < now() - interval '1 day')
        INSERT INTO used_links (digest, expires_at) VALUES ($1, $2)
        ON CONFLICT (digest) DO NOTHING RETURNING true
        """,
        digest,
        expires_at,
    )
    return bool(found)


async def mark_user_tokens_used(
    conn: asyncpg.Connection, user_id: UUID, *, purpose: str, at: datetime
) -> None:
    """Use up every open token of `purpose` for the user (a new password ends old links)."""
    await conn.execute(
        "UPDATE link_tokens SET used_at = $3 "
        "WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        user_id,
        purpose,
        at,
    )


async def opt_out(conn: asyncpg.Connection, email: str) -> None:
    """Stop reminders to this address."""
    await conn.execute(
        "INSERT INTO reminder_optouts (email) VALUES (lower($1)) ON CONFLICT DO NOTHING", email
    )


async def opted_out(conn: asyncpg.Connection, email: str) -> bool:
    """Whether this address asked for no reminders (under any claims)."""
    found: bool = await conn.fetchval("SELECT reminders_opted_out($1)", email)
    return found
