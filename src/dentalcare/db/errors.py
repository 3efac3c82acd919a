"""The exceptions that mean PostgreSQL cannot be reached right now (a 503, not a 500),
and those that mean a request's value cannot go into it (a 400)."""

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

# A value PostgreSQL (or asyncpg, encoding an argument) cannot take: a date beyond the
# types' range, a malformed value, a number that overflows its column. The statement
# failed and the transaction is rolled back, so it is bad input, not a broken database.
# asyncpg has two classes of this name: SQLSTATE class 22, and an InterfaceError for
# invalid query input, which would otherwise count as "database down" above.
BAD_INPUT = (asyncpg.DataError, asyncpg.exceptions._base.DataError)
