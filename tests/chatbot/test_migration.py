"""Migration 0002 goes down and up cleanly, on a database of its own."""

from __future__ import annotations

import asyncio

import asyncpg

from dentalcare.db import migrate
from tests.fixtures.database import with_database


def test_chat_migration_downgrades_and_upgrades(database_url: str) -> None:
    name = f"{database_url.rsplit('/', 1)[1]}_chat_migration"
    url = with_database(database_url, name)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def tables() -> set[str]:
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {r["tablename"] for r in rows}
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        migrate.upgrade(url)
        assert "chat_sessions" in asyncio.run(tables())
        migrate.downgrade(url, "0001")
        assert "chat_sessions" not in asyncio.run(tables())
        migrate.upgrade(url)
        assert "chat_sessions" in asyncio.run(tables())
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
