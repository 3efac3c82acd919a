"""Alembic, driven from code: `dentalcare migrate`, start-up and the test fixtures use it."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import asyncpg
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


def upgrade(
    url: str,
    *,
    app_role: str = "dentalcare_app",
    revision: str = "head",
    app_password: str | None = None,
) -> None:
    """Apply migrations up to `revision`, then give the service's role its password if one
    is configured (synchronous; call before the event loop runs)."""
    command.upgrade(alembic_config(url, app_role=app_role), revision)
    if app_password:
        asyncio.run(_set_password(url, app_role, app_password))


async def _set_password(url: str, role: str, password: str) -> None:
    # ALTER ROLE takes no parameters: the server quotes the values itself (format %I/%L).
    conn = await asyncpg.connect(url)
    try:
        statement = await conn.fetchval(
            "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", role, password
        )
        await conn.execute(statement)
    finally:
        await conn.close()


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
    # Migrations act as the service itself: tables under FORCE ROW LEVEL SECURITY admit
    # their owner only with these claims (transaction-local, like every claim).
    await_only(driver.execute("SELECT set_config('app.role', 'system', true)"))
    await_only(driver.execute(sql))
