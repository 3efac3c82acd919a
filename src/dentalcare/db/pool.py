"""The asyncpg pool and the one way to run a unit of work: a transaction with the caller's claims.

Row-level security policies read the claims through `app_role()`, `app_user_id()`,
`app_dentist_id()` and `app_guest_email()`; they are transaction-local settings, so a
pooled connection never carries one request's identity into the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import asyncpg
import orjson

ClaimsRole = Literal["anonymous", "patient", "dentist", "admin", "system"]

Connection = asyncpg.Connection


@dataclass(frozen=True, slots=True)
class Claims:
    """Who a transaction acts for. `system` is the service itself (listener, login look-up)."""

    role: ClaimsRole
    user_id: UUID | None = None
    dentist_id: UUID | None = None
    # A guest (no account) acting on appointments booked under this e-mail address.
    guest_email: str | None = None


ANONYMOUS = Claims("anonymous")
SYSTEM = Claims("system")

_SET_CLAIMS = """
SELECT set_config('app.role', $1, true),
       set_config('app.user_id', $2, true),
       set_config('app.dentist_id', $3, true),
       set_config('app.guest_email', $4, true)
"""


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename,
            schema="pg_catalog",
            encoder=lambda v: orjson.dumps(v, default=str).decode(),  # asyncpg UUIDs too
            decoder=orjson.loads,
            format="text",
        )


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Pooled connections carry no session state to reset: claims are transaction-local
    and nothing issues SET, LISTEN or session advisory locks on them (asyncpg's default
    reset costs a round trip on every release)."""


def connect_kwargs(app_role: str | None) -> dict[str, Any]:
    """Connection options: the restricted role that row-level security applies to."""
    settings = {"application_name": "dentalcare"}
    if app_role:
        settings["role"] = app_role
    return {"server_settings": settings}


async def connect(url: str, *, app_role: str | None) -> asyncpg.Connection:
    """One connection outside the pool (the listener's), set up like the pool's."""
    conn = await asyncpg.connect(url, **connect_kwargs(app_role))
    await _init_connection(conn)
    return conn


class Database:
    """The service's handle on PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, *, url: str, app_role: str | None) -> None:
        self.pool = pool
        self.url = url
        self.app_role = app_role
        # Called after every committed unit of work (the realtime listener's wake-up).
        self.after_commit: list[Callable[[], None]] = []

    @classmethod
    async def open(
        cls, url: str, *, app_role: str | None, min_size: int = 2, max_size: int = 20
    ) -> Database:
        """Create the pool; connections work as `app_role`."""
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            reset=_no_reset,
            command_timeout=30,
            **connect_kwargs(app_role),
        )
        return cls(pool, url=url, app_role=app_role)

    async def close(self) -> None:
        """Close every connection."""
        await self.pool.close()

    def committed(self) -> None:
        """Report a unit of work committed outside `transaction()` (one-statement units)."""
        for callback in self.after_commit:
            callback()

    @asynccontextmanager
    async def transaction(
        self, claims: Claims, *, read_only: bool = False
    ) -> AsyncIterator[asyncpg.Connection]:
        """A unit of work: one transaction, committed on success, with `claims` set for RLS.

        `read_only`: a READ ONLY transaction, not reported as a commit (the realtime
        listener wakes, and tells the other processes, only for writes)."""
        async with self.pool.acquire() as conn:
            async with conn.transaction(readonly=read_only):
                await set_claims(conn, claims)
                yield conn
            if not read_only:
                self.committed()


async def set_claims(conn: asyncpg.Connection, claims: Claims) -> None:
    """Set the transaction-local claims that row-level security reads."""
    await conn.execute(
        _SET_CLAIMS,
        claims.role,
        str(claims.user_id) if claims.user_id else "",
        str(claims.dentist_id) if claims.dentist_id else "",
        claims.guest_email.lower() if claims.guest_email else "",
    )
