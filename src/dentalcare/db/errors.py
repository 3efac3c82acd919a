"""The exceptions that mean PostgreSQL cannot be reached right now (a 503, not a 500)."""

from __future__ import annotations

import asyncpg

DATABASE_DOWN = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # A session the server terminates mid-transaction (restart, fail-over) sometimes
    # surfaces as "cannot switch to state N; another operation is in progress" instead of
    # a connection error, on that request and on the next user of the pooled connection.
    asyncpg.InternalClientError,
    TimeoutError,
)
