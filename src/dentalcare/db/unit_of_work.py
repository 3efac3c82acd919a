"""The unit of work: one caller's way into PostgreSQL, with their claims on every statement.

A request, a chat turn, a realtime replay or a job gets one `UnitOfWork`. Its first
statement takes a pooled connection (waiting at most the pool timeout: 503, never a hang),
begins a transaction and sets the caller's claims, which row-level security reads. The
transaction stays open until `commit()` (the request's dependency commits when the
endpoint returns; an error rolls back), so everything a change causes commits with it or
not at all. A unit may run several short transactions one after another (a chat turn
loads, thinks with no transaction open, then saves); each holds a connection only while
it is open.

What must follow a commit (poking the realtime listener, later the outbox worker) is
registered with `after_commit` and runs only once the commit succeeded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import asyncpg
from asyncpg.transaction import Transaction

from dentalcare.db.claims import Claims, set_claims


class ConnectionSource(Protocol):
    """What a unit of work needs from the pool; `Database` is one.

    Declared here, below the pool, so that this module does not import the module that
    creates units of work (the two used to import each other)."""

    async def acquire(self, *, wait: float | None = None) -> asyncpg.Connection:
        """A pooled connection, waiting at most `wait` seconds (None: the pool's own)."""

    async def release(self, conn: asyncpg.Connection) -> None:
        """Give the connection back."""

    def committed(self) -> None:
        """Report that a unit of work that could write has committed."""


class UnitOfWork:
    """One caller's work against the database: short transactions under their claims."""

    def __init__(
        self,
        db: ConnectionSource,
        claims: Claims,
        *,
        read_only: bool = False,
        acquire_timeout: float | None = None,
    ) -> None:
        self._db = db
        self._acquire_timeout = acquire_timeout
        self._claims = claims
        self._read_only = read_only
        self._conn: asyncpg.Connection | None = None
        self._tx: Transaction | None = None
        self._after_commit: list[Callable[[], object]] = []
        self._wrote = False
        # Claims changed inside the open transaction, set before its next statement.
        self._claims_pending = False
        # The client's address (a request's), set with the claims for the audit log.
        self.client_ip: str | None = None

    @property
    def claims(self) -> Claims:
        """Whom the statements run for."""
        return self._claims

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (and holds a pooled connection)."""
        return self._conn is not None

    def act_as(self, claims: Claims) -> None:
        """Run from now on with `claims` (the caller, once their token has been checked).

        They take effect from the next `connection()`: take the connection after this."""
        if claims != self._claims:
            self._claims = claims
            self._claims_pending = self._conn is not None

    @asynccontextmanager
    async def acting_as(self, claims: Claims) -> AsyncIterator[None]:
        """Run the block with `claims` (a guest's, by booking e-mail), then go back."""
        previous = self._claims
        self.act_as(claims)
        try:
            yield
        finally:
            self.act_as(previous)

    async def connection(self) -> asyncpg.Connection:
        """The open transaction's connection, with the current claims set; the first call
        begins the transaction."""
        if self._conn is None:
            await self._begin()
        elif self._claims_pending:
            await set_claims(self._conn, self._claims, ip=self.client_ip)
            self._claims_pending = False
        assert self._conn is not None
        return self._conn

    async def _begin(self) -> None:
        conn = await self._db.acquire(wait=self._acquire_timeout)
        tx = conn.transaction(readonly=self._read_only)
        try:
            await tx.start()
            await set_claims(conn, self._claims, ip=self.client_ip)
        except BaseException:
            await self._db.release(conn)  # the pool's reset rolls back a started transaction
            raise
        self._conn, self._tx = conn, tx
        self._wrote = not self._read_only
        self._claims_pending = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction that commits when the block ends — or, when one is already open,
        a part of that one (it commits with it)."""
        if self._conn is not None:
            yield self._conn
            return
        conn = await self.connection()
        try:
            yield conn
        except BaseException:
            await self.rollback()
            raise
        await self.commit()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[asyncpg.Connection]:
        """A savepoint in the open transaction: an error inside rolls back the block only,
        so the caller can answer it (a 409 with alternatives) or try again (a deadlock)."""
        conn = await self.connection()
        async with conn.transaction():
            yield conn

    @asynccontextmanager
    async def attempt(self) -> AsyncIterator[asyncpg.Connection]:
        """A savepoint for a block that is tried again after an error (a deadlock): an
        error inside rolls back to it; a block that succeeds leaves it in place, to
        commit with the transaction (no RELEASE round trip, unlike `savepoint`)."""
        conn = await self.connection()
        await conn.execute("SAVEPOINT attempt")
        try:
            yield conn
        except asyncpg.PostgresError:
            await conn.execute("ROLLBACK TO SAVEPOINT attempt")
            raise

    @asynccontextmanager
    async def statement(self, *, logs_events: bool) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection with no transaction open and no claims set, for one
        statement that commits by itself: a definer function that needs no claims (the
        outbox worker's `outbox_claim()`, `outbox_sent()`, migration 0030). It saves the
        three round trips of BEGIN, the claims and COMMIT. `logs_events`: the statement
        may write realtime events, so its commit is reported as a unit of work's is (the
        listener then looks for them at once)."""
        if self._conn is not None:
            raise RuntimeError("a statement of its own cannot run inside a transaction")
        conn = await self._db.acquire(wait=self._acquire_timeout)
        try:
            yield conn
        finally:
            await self._db.release(conn)
        if logs_events:
            self._db.committed()

    async def writable(self) -> None:
        """Make the unit able to write from here on (a GET's staff read of medical fields
        writes its audit entry): a read-only transaction that is open commits (it only
        read) and the next statement begins a read-write one."""
        if not self._read_only:
            return
        self._read_only = False
        if self._conn is not None:
            await self.commit()

    def after_commit(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the open (or next) transaction has committed."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        """Commit the open transaction (if any), give back its connection, run the
        post-commit effects."""
        conn, tx = self._conn, self._tx
        if conn is None or tx is None:
            return
        self._conn = self._tx = None
        try:
            await tx.commit()
        finally:
            await self._db.release(conn)
        effects, self._after_commit = self._after_commit, []
        if self._wrote:
            self._db.committed()
        for effect in effects:
            effect()

    async def rollback(self) -> None:
        """Roll back the open transaction (if any) and drop its post-commit effects."""
        conn, tx = self._conn, self._tx
        self._after_commit = []
        if conn is None or tx is None:
            return
        self._conn = self._tx = None
        try:
            if not conn.is_closed():
                await tx.rollback()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            pass  # a broken connection: the pool terminates it on release
        finally:
            await self._db.release(conn)

    async def close(self, *, failed: bool) -> None:
        """End the unit: commit its open transaction, or roll it back if the work failed."""
        if failed:
            await self.rollback()
        else:
            await self.commit()

    async def __aenter__(self) -> UnitOfWork:
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        await self.close(failed=exc_type is not None)
