"""Named FastAPI dependencies for the database and the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dentalcare.config import Settings
from dentalcare.db.pool import Database


def get_db(request: Request) -> Database:
    """The application's database handle."""
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
