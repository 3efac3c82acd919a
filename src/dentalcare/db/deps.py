"""Named FastAPI dependencies for the database, the settings and the clock.

`Uow` is the request's unit of work: it starts with anonymous claims, the auth
dependencies switch it to the caller's once the token is checked, and it commits when the
endpoint has returned — before the response is sent, so a client never sees a 200 for a
change that did not commit — or rolls back if the endpoint raised. GET and HEAD requests
get a READ ONLY unit.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool,
two thread hand-offs per request for what is an attribute read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from dentalcare.clock import Clock
from dentalcare.config import Settings
from dentalcare.db.claims import ANONYMOUS
from dentalcare.db.pool import Database
from dentalcare.db.unit_of_work import UnitOfWork

READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


async def get_db(request: Request) -> Database:
    """The application's database handle (for the realtime hub and health, not services)."""
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    """The application's clock (endpoints pass `now=clock.now()` to services)."""
    clock: Clock = request.app.state.clock
    return clock


async def request_unit_of_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work, committed when the endpoint returns."""
    db: Database = request.app.state.db
    uow = db.unit_of_work(ANONYMOUS, read_only=request.method in READ_ONLY_METHODS)
    uow.client_ip = request.client.host if request.client else None
    try:
        yield uow
    except BaseException:
        await uow.rollback()
        raise
    await uow.commit()


Db = Annotated[Database, Depends(get_db)]
Uow = Annotated[UnitOfWork, Depends(request_unit_of_work, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]
AppClock = Annotated[Clock, Depends(get_clock)]
