"""The database is the last wall: its own login for the service, forced row-level
security, pinned search paths, and a definer role that owns what looks past a patient's
rows (issue 11 item 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, time

import asyncpg
import httpx
import pytest

from dentalcare.app import create_app
from dentalcare.config import Settings
from dentalcare.db.claims import ANONYMOUS, SYSTEM
from dentalcare.db.pool import Database
from tests.fixtures.rows import make_appointment, make_dentist
from tests.fixtures.settings import make_settings

APP_ROLE = "dentalcare_app"


@pytest.fixture
async def app_db(database_url: str, owner_conn: asyncpg.Connection) -> AsyncIterator[Database]:
    db = await Database.open(database_url, app_role=APP_ROLE, min_size=1, max_size=2)
    try:
        yield db
    finally:
        await db.close()


async def test_the_service_logs_in_as_its_role_and_cannot_become_the_owner(
    app_db: Database,
) -> None:
    async with app_db.unit_of_work(SYSTEM, read_only=True) as uow:
        conn = await uow.connection()
        assert await conn.fetchval("SELECT session_user") == APP_ROLE
        await conn.execute("RESET ROLE")  # with SET ROLE this went back to the owner
        assert await conn.fetchval("SELECT current_user") == APP_ROLE
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SET ROLE postgres")


async def test_patient_tables_force_row_level_security(owner_conn: asyncpg.Connection) -> None:
    forced = await owner_conn.fetch(
        "SELECT relname FROM pg_class WHERE relforcerowsecurity AND relkind = 'r'"
    )
    assert {r["relname"] for r in forced} >= {
        "users",
        "appointments",
        "chat_sessions",
        "realtime_events",
    }


async def test_policy_functions_pin_their_search_path(owner_conn: asyncpg.Connection) -> None:
    rows = await owner_conn.fetch(
        """SELECT p.proname, p.proconfig FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'public' AND p.prolang IN (
               SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql'))"""
    )
    unpinned = [
        r["proname"]
        for r in rows
        if not any(c.startswith("search_path=") for c in (r["proconfig"] or []))
    ]
    assert unpinned == []


async def test_the_definer_owns_what_looks_past_rls_and_cannot_log_in(
    owner_conn: asyncpg.Connection,
) -> None:
    definer = await owner_conn.fetchrow(
        "SELECT rolcanlogin, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = $1",
        f"{APP_ROLE}_definer",
    )
    assert definer is not None and not any(definer.values())
    owners = await owner_conn.fetch(
        """SELECT p.proname, pg_get_userbyid(p.proowner) AS owner FROM pg_proc p
           WHERE p.prosecdef AND p.pronamespace = 'public'::regnamespace"""
    )
    assert owners and {r["owner"] for r in owners} == {f"{APP_ROLE}_definer"}
    view_owner = await owner_conn.fetchval(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'appointment_busy'"
    )
    assert view_owner == f"{APP_ROLE}_definer"


async def test_busy_times_stay_visible_to_everyone_while_the_rows_stay_private(
    app_db: Database, owner_conn: asyncpg.Connection
) -> None:
    dentist = await make_dentist(owner_conn)
    await make_appointment(owner_conn, dentist_id=dentist["id"], on=date(2031, 3, 10), at=time(9))
    async with app_db.unit_of_work(ANONYMOUS, read_only=True) as uow:
        conn = await uow.connection()
        assert await conn.fetchval("SELECT count(*) FROM appointments") == 0
        assert await conn.fetchval("SELECT count(*) FROM appointment_busy") == 1


def test_production_refuses_cookies_without_secure() -> None:
    settings = Settings(env="production", secret_key="s" * 40, cookie_secure=False)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="COOKIE_SECURE"):
        settings.check()
    Settings(  # type: ignore[arg-type]
        env="production", secret_key="s" * 40, cookie_secure=True, smtp_url="smtp://mail:25"
    ).check()


async def test_hsts_is_sent_once_cookies_are_secure(database_url: str) -> None:
    for secure in (False, True):
        app = create_app(
            make_settings(database_url, cookie_secure=secure), database_url=database_url
        )
        transport = httpx.ASGITransport(app=app)
        # The lifespan opens the pool: pages read the clinic's settings for their chrome.
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
        ):
            response = await http.get("/docs")
        assert response.status_code == 200
        assert ("strict-transport-security" in response.headers) is secure
