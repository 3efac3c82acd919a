"""Alembic, driven from code: `dentalcare migrate`, start-up and the test fixtures use it."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from sqlalchemy.util import await_only

MIGRATIONS = Path(__file__).parent / "migrations"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def alembic_config(url: str, *, app_role: str = "dentalcare_app") -> Config:
    """An Alembic config pointing at our migrations and `url` (no alembic.ini needed)."""
    if not _ROLE_NAME.match(app_role):
        raise ValueError(f"not a plain role name: {app_role!r}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    cfg.attributes["app_role"] = app_role
    return cfg


def upgrade(url: str, *, app_role: str = "dentalcare_app", revision: str = "head") -> None:
    """Apply migrations up to `revision` (synchronous; call before the event loop runs)."""
    command.upgrade(alembic_config(url, app_role=app_role), revision)


def downgrade(url: str, revision: str, *, app_role: str = "dentalcare_app") -> None:
    """Revert migrations down to `revision`."""
    command.downgrade(alembic_config(url, app_role=app_role), revision)


def run_script(sql: str) -> None:
    """Run a multi-statement SQL script inside the migration's transaction.

    SQLAlchemy prepares each statement, which PostgreSQL refuses for scripts; asyncpg's
    own `execute` without arguments sends it through the simple query protocol.
    """
    driver = op.get_bind().connection.driver_connection
    if driver is None:
        raise RuntimeError("the migration has no live database connection")
    await_only(driver.execute(sql))
