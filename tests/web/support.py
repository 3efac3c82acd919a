"""Browser-test plumbing: a database helper on its own event loop, Chromium, screenshots."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from playwright.sync_api import Page, expect

from dentalcare.db.pool import connect
from dentalcare.realtime.listener import CHANNEL as LISTENER_CHANNEL
from tests.fixtures.clinic import login_of, working_dentist
from tests.fixtures.database import empty_tables
from tests.fixtures.rows import DEFAULT_PASSWORD, make_user

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = DEFAULT_PASSWORD


def chromium_path() -> str | None:
    """Debian's Chromium, if installed (`make browser` installs it)."""
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


class Database:
    """An owner connection on a private event loop, usable from sync (Playwright) tests."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="web-db", daemon=True)
        self.thread.start()
        self.conn: asyncpg.Connection = self._submit(connect(url, app_role=None))

    def _submit(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    def call(self, factory: Callable[..., Awaitable[T]], /, **kwargs: Any) -> T:
        """`await factory(conn, **kwargs)` on the private loop, then wake the listeners."""

        async def run() -> T:
            result = await factory(self.conn, **kwargs)
            await self._wake()
            return result

        return self._submit(run())

    def execute(self, sql: str, *args: Any) -> str:
        """Run one statement as the owner, then wake the listeners."""

        async def run() -> str:
            status: str = await self.conn.execute(sql, *args)
            await self._wake()
            return status

        return self._submit(run())

    async def _wake(self) -> None:
        # These writes stand for another service process, which tells the listeners to
        # read the event log now (without it they find the rows at their next safety poll).
        await self.conn.execute(f"NOTIFY {LISTENER_CHANNEL}")

    def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """One row, as the owner."""
        return self._submit(self.conn.fetchrow(sql, *args))

    def clean(self) -> None:
        """Empty every table (keeping `seq` growing, so running listeners stay in step)."""
        self._submit(empty_tables(self.conn, restart_identity=False))

    def close(self) -> None:
        """Close the connection and stop the loop."""
        self._submit(self.conn.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@dataclass
class Clinic:
    """A small clinic: an admin, a patient and one dentist working every day 08:00-18:00."""

    db: Database
    admin: asyncpg.Record
    patient: asyncpg.Record
    dentist: asyncpg.Record
    dentist_user: asyncpg.Record
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dentist_id(self) -> str:
        """The dentist's id as text."""
        return str(self.dentist["id"])


def build_clinic(db: Database) -> Clinic:
    """Empty the database and create the clinic."""
    db.clean()
    admin = db.call(make_user, role="admin", full_name="Clinic Admin")
    patient = db.call(make_user, role="patient", full_name="Alice Brown", phone="+1 555 0142")
    dentist = add_dentist(db, name="Dr Sarah Smith")
    user = db.call(login_of, dentist=dentist)
    return Clinic(db=db, admin=admin, patient=patient, dentist=dentist, dentist_user=user)


def add_dentist(db: Database, **kwargs: Any) -> asyncpg.Record:
    """A dentist with a login, working every day 08:00-18:00."""
    return db.call(working_dentist, **kwargs)


async def _insert_treatment(
    conn: asyncpg.Connection,
    *,
    name: str,
    duration_minutes: int,
    dentist_ids: list[Any],
    price: float | None,
    buffer_before_minutes: int,
    buffer_after_minutes: int,
    bookable_online: bool,
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        """INSERT INTO treatment_types (name, duration_minutes, price, buffer_before_minutes,
                                        buffer_after_minutes, bookable_online)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        name,
        duration_minutes,
        price,
        buffer_before_minutes,
        buffer_after_minutes,
        bookable_online,
    )
    await conn.execute(
        """INSERT INTO treatment_dentists (treatment_type_id, dentist_id)
           SELECT $1, d FROM unnest($2::uuid[]) AS d""",
        row["id"],
        dentist_ids,
    )
    return row


def add_treatment(
    db: Database,
    name: str,
    duration_minutes: int,
    *,
    dentists: list[asyncpg.Record] | None = None,
    price: float | None = None,
    buffer_before_minutes: int = 0,
    buffer_after_minutes: int = 0,
    bookable_online: bool = True,
) -> asyncpg.Record:
    """A treatment type (performed by `dentists`; none = every dentist)."""
    return db.call(
        _insert_treatment,
        name=name,
        duration_minutes=duration_minutes,
        dentist_ids=[d["id"] for d in dentists or []],
        price=price,
        buffer_before_minutes=buffer_before_minutes,
        buffer_after_minutes=buffer_after_minutes,
        bookable_online=bookable_online,
    )


def add_chair(db: Database, name: str) -> asyncpg.Record:
    """A chair in use."""
    row = db.fetchrow("INSERT INTO chairs (name) VALUES ($1) RETURNING *", name)
    assert row is not None
    return row


def next_week(weekday: int) -> date:
    """The day (0 = Monday) among the slot picker's second 7 days (shown after one 'Next')."""
    first = datetime.now(UTC).date() + timedelta(days=7)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def next_monday() -> date:
    """The Monday among the slot picker's second 7 days."""
    return next_week(0)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of the page as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    # caret="initial": hiding the caret would inject a style the page's CSP refuses.
    page.screenshot(path=str(path), full_page=full_page, caret="initial")
    return path


def wait_live(page: Page) -> None:
    """Wait until the page's realtime subscriptions are up and the page is in sync."""
    expect(page.locator("html")).to_have_attribute("data-realtime", "live")


def log_in(page: Page, email: str, password: str = PASSWORD, *, then: str | None = None) -> None:
    """Log in through the form (and go to `then`)."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("form[action='/logout']")).to_be_visible()
    if then:
        page.goto(then)
