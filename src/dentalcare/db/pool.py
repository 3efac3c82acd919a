"""The asyncpg pool, opened and closed here; the rest of the service reaches it only
through a `UnitOfWork` (`Database.unit_of_work`).

Waits are bounded: taking a connection waits at most `acquire_timeout` seconds
(`ServiceUnavailable`, a 503 with Retry-After, instead of a hang), and a transaction left
idle is ended by PostgreSQL (`idle_in_transaction_session_timeout`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson

from dentalcare.db.claims import ANONYMOUS, SYSTEM, Claims, ClaimsRole
from dentalcare.db.unit_of_work import UnitOfWork
from dentalcare.errors import ServiceUnavailable

__all__ = ["ANONYMOUS", "SYSTEM", "Claims", "ClaimsRole", "Connection", "Database", "UnitOfWork"]

log = logging.getLogger(__name__)

Connection = asyncpg.Connection

# A busy pool answers 503 after this long rather than queueing the request forever.
ACQUIRE_TIMEOUT_SECONDS = 5.0
# PostgreSQL ends a transaction left open this long (a stuck request, a lost task).
IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000


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


def connect_kwargs(app_role: str | None, app_password: str | None = None) -> dict[str, Any]:
    """Connection options: log in as the restricted role that row-level security applies
    to (its own login, not the owner switching with SET ROLE, which a statement could
    undo with RESET ROLE), and no transaction left open for ever. `app_role` None: the
    URL's own user (migrations, tests' owner connections)."""
    settings = {
        "application_name": "dentalcare",
        "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_TIMEOUT_MS),
    }
    kwargs: dict[str, Any] = {"server_settings": settings}
    if app_role:
        kwargs["user"] = app_role
        # Without a password of its own the role logs in as the server's rules allow
        # (the embedded server: a private Unix socket).
        kwargs["password"] = app_password or ""
    return kwargs


async def connect(
    url: str, *, app_role: str | None, app_password: str | None = None
) -> asyncpg.Connection:
    """One connection outside the pool (the listener's), set up like the pool's."""
    conn = await asyncpg.connect(url, **connect_kwargs(app_role, app_password))
    await _init_connection(conn)
    return conn


class Database:
    """The service's handle on PostgreSQL: the pool, and units of work on it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        url: str,
        app_role: str | None,
        app_password: str | None = None,
        acquire_timeout: float = ACQUIRE_TIMEOUT_SECONDS,
    ) -> None:
        self._pool = pool
        self.url = url
        self.app_role = app_role
        self.app_password = app_password
        self.acquire_timeout = acquire_timeout
        # Called after every committed unit of work that could write (the realtime
        # listener's wake-up).
        self.after_commit: list[Callable[[], None]] = []

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        app_role: str | None,
        app_password: str | None = None,
        min_size: int = 2,
        max_size: int = 20,
        acquire_timeout: float = ACQUIRE_TIMEOUT_SECONDS,
    ) -> Database:
        """Create the pool; connections log in as `app_role`."""
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            reset=_no_reset,
            command_timeout=30,
            **connect_kwargs(app_role, app_password),
        )
        return cls(
            pool,
            url=url,
            app_role=app_role,
            app_password=app_password,
            acquire_timeout=acquire_timeout,
        )

    @property
    def pool_size(self) -> int:
        """Connections open now."""
        return self._pool.get_size()

    @property
    def pool_idle(self) -> int:
        """Connections open and not in use."""
        return self._pool.get_idle_size()

    def unit_of_work(
        self, claims: Claims, *, read_only: bool = False, acquire_timeout: float | None = None
    ) -> UnitOfWork:
        """A unit of work for `claims` (`async with db.unit_of_work(claims) as uow:`);
        `acquire_timeout` overrides the pool's wait for this unit (health answers fast)."""
        return UnitOfWork(self, claims, read_only=read_only, acquire_timeout=acquire_timeout)

    async def acquire(self, *, wait: float | None = None) -> asyncpg.Connection:
        """A pooled connection, waiting at most `wait` (default `acquire_timeout`)."""
        try:
            conn: asyncpg.Connection = await self._pool.acquire(
                timeout=self.acquire_timeout if wait is None else wait
            )
        except TimeoutError:
            raise ServiceUnavailable("The service is busy; please try again in a moment.") from None
        return conn

    async def release(self, conn: asyncpg.Connection) -> None:
        """Give a connection back (for `UnitOfWork`); a broken one is closed."""
        await self._pool.release(conn)

    def committed(self) -> None:
        """Report a committed unit of work (for `UnitOfWork`)."""
        for callback in self.after_commit:
            callback()

    async def close(self, *, grace_seconds: float = 5.0) -> None:
        """Close every connection; after `grace_seconds`, terminate those still in use."""
        try:
            await asyncio.wait_for(self._pool.close(), grace_seconds)
        except TimeoutError:
            log.warning("pool close timed out; terminating the connections still in use")
            self._pool.terminate()
