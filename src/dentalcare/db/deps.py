"""Named FastAPI dependencies for the database and the settings.

They are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool,
two thread hand-offs per request for what is an attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dentalcare.config import Settings
from dentalcare.db.pool import Database


async def get_db(request: Request) -> Database:
    """The application's database handle."""
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
