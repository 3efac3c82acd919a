"""SQL for link tokens and reminder opt-outs (system claims only, by row-level security)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg


def tokens_insert(first: int) -> str:
    """The INSERT that stores token rows, its arrays as parameters $first..$first+6 (in
    `token_arguments` order): to run alone or as a CTE of another statement."""
    p = [f"${first + n}" for n in range(7)]
    return (
        "INSERT INTO link_tokens "
        "(id, purpose, appointment_id, user_id, email, expires_at, secret_hash) "
        f"SELECT * FROM unnest({p[0]}::uuid[], {p[1]}::text[], {p[2]}::uuid[], {p[3]}::uuid[], "
        f"{p[4]}::text[], {p[5]}::timestamptz[], {p[6]}::bytea[])"
    )


def token_arguments(rows: list[dict[str, object]]) -> list[list[object]]:
    """`tokens_insert`'s parameters for these rows (each names `token_id`, `purpose`,
    `appointment_id`, `user_id`, `email`, `expires_at` and `secret_hash`)."""
    columns = (
        "token_id",
        "purpose",
        "appointment_id",
        "user_id",
        "email",
        "expires_at",
        "secret_hash",
    )
    return [[row[column] for row in rows] for column in columns]


async def insert_tokens(conn: asyncpg.Connection, rows: list[dict[str, object]]) -> None:
    """Store new link tokens in one round trip (no RETURNING: the caller's claims may not
    read them back)."""
    await conn.execute(tokens_insert(1), *token_arguments(rows))


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
