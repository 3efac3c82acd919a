"""A revoked principal's sockets close (4001) on every service process: disabling a user,
bumping their token version, removing a dentist (within 1 s) and logging out (within 2 s).

Two processes: the in-process live server and `dentalcare serve` as an OS process, on
one database. They share nothing but PostgreSQL — the event log and its NOTIFY channel.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import httpx

from dentalcare.auth.tokens import Principal
from dentalcare.config import Settings
from dentalcare.realtime.events import LogEvent
from dentalcare.realtime.hub import Hub
from tests.fixtures.rows import DEFAULT_PASSWORD, make_dentist, make_user
from tests.fixtures.servers import RunningServer
from tests.realtime.conftest import Feed, open_feed
from tests.realtime.test_resilience import serve_process

DISABLE_WITHIN = 1.0
LOGOUT_WITHIN = 2.0


async def log_in(base_url: str, email: str) -> str:
    """A fresh session's token, from the process at `base_url`."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        response = await http.post(
            "/api/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def closes(feeds: list[Feed], within: float) -> tuple[list[int | None], float]:
    """The close codes of `feeds` and how long, from now, the last one took."""
    started = time.monotonic()

    async def one(feed: Feed) -> tuple[int | None, float]:
        code = await feed.close_code(within=within + 1)
        return code, time.monotonic() - started

    results = await asyncio.gather(*(one(feed) for feed in feeds))
    return [code for code, _ in results], max(took for _, took in results)


async def still_open(feed: Feed) -> bool:
    """Whether `feed` still answers."""
    reply: dict[str, object] = await feed.subscribe("dentists")
    return reply["type"] == "subscribed"


async def subscribed(stack: AsyncExitStack, base_url: str, token: str, channel: str) -> Feed:
    """A socket on `base_url` with `token`, subscribed to `channel`."""
    feed = await stack.enter_async_context(open_feed(base_url, token))
    await feed.subscribe(channel)
    return feed


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def test_disabling_or_revoking_a_user_closes_their_sockets_on_every_process_within_1_s(
    database_url: str,
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
) -> None:
    admin = await make_user(owner_conn, role="admin")
    patient = await make_user(owner_conn)
    dentist = await make_dentist(owner_conn)
    dentist_login = await owner_conn.fetchrow(
        "SELECT * FROM users WHERE id = $1", dentist["user_id"]
    )
    here = live_server.base_url
    async with serve_process(database_url, settings) as there, AsyncExitStack() as stack:
        # An operator bumps a patient's token version (the way every session of theirs is
        # revoked): the SQL of any writer, then the bare NOTIFY each service process sends
        # after its commits. Both processes close the old sockets; a socket opened with a
        # token issued after the bump stays.
        old = await log_in(here, patient["email"])
        stale = [
            await subscribed(stack, here, old, "appointments"),
            await subscribed(stack, there, old, "appointments"),
        ]
        await owner_conn.execute(
            "UPDATE users SET token_version = token_version + 1 WHERE id = $1", patient["id"]
        )
        await owner_conn.execute("NOTIFY realtime_events")
        codes, took = await closes(stale, DISABLE_WITHIN)
        print(f"\ntoken version bumped -> sockets on both processes closed within {_ms(took)}")
        assert codes == [4001, 4001] and took < DISABLE_WITHIN
        fresh = await log_in(there, patient["email"])
        current = [
            await subscribed(stack, here, fresh, "appointments"),
            await subscribed(stack, there, fresh, "appointments"),
        ]

        # The operator then disables the patient: every socket of theirs closes.
        await owner_conn.execute("UPDATE users SET disabled = true WHERE id = $1", patient["id"])
        await owner_conn.execute("NOTIFY realtime_events")
        codes, took = await closes(current, DISABLE_WITHIN)
        print(f"user disabled -> sockets on both processes closed within {_ms(took)}")
        assert codes == [4001, 4001] and took < DISABLE_WITHIN

        # A service write: the admin removes the dentist through the other process (login
        # disabled, token version bumped); the dentist's sockets on both processes close,
        # the admin's stay.
        admin_token = await log_in(here, admin["email"])
        dentist_token = await log_in(here, dentist_login["email"])
        dentist_feeds = [
            await subscribed(stack, here, dentist_token, "appointments"),
            await subscribed(stack, there, dentist_token, "appointments"),
        ]
        admin_feed = await subscribed(stack, here, admin_token, "appointments")
        async with httpx.AsyncClient(base_url=there, timeout=10) as http:
            removed = await http.delete(
                f"/api/dentists/{dentist['id']}",
                headers={"Authorization": f"Bearer {admin_token}"},
            )
        assert removed.status_code == 204
        codes, took = await closes(dentist_feeds, DISABLE_WITHIN)
        print(f"dentist removed -> sockets on both processes closed within {_ms(took)}")
        assert codes == [4001, 4001] and took < DISABLE_WITHIN
        assert await still_open(admin_feed)


async def test_logging_out_on_one_process_closes_the_session_on_the_other_within_2_s(
    database_url: str,
    live_server: RunningServer,
    owner_conn: asyncpg.Connection,
    settings: Settings,
) -> None:
    patient = await make_user(owner_conn)
    here = live_server.base_url
    async with serve_process(database_url, settings) as there, AsyncExitStack() as stack:
        token = await log_in(here, patient["email"])
        other_session = await log_in(there, patient["email"])
        feeds = [
            await subscribed(stack, here, token, "appointments"),
            await subscribed(stack, there, token, "appointments"),
        ]
        other_feed = await subscribed(stack, there, other_session, "appointments")
        async with httpx.AsyncClient(base_url=here, timeout=10) as http:
            logout = await http.post(
                "/api/auth/logout", headers={"Authorization": f"Bearer {token}"}
            )
            assert logout.status_code == 204
        codes, took = await closes(feeds, LOGOUT_WITHIN)
        print(f"\nlogout -> the session's sockets on both processes closed within {_ms(took)}")
        assert codes == [4001, 4001] and took < LOGOUT_WITHIN
        for base_url in (here, there):
            async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
                refused = await http.get(
                    "/api/auth/me", headers={"Authorization": f"Bearer {token}"}
                )
                assert refused.status_code == 401
        assert await still_open(other_feed)


def _principal(user_id: UUID, *, session_id: UUID, token_version: int = 0) -> Principal:
    return Principal(
        user_id=user_id,
        role="patient",
        email="p@example.com",
        full_name="P",
        phone=None,
        dentist_id=None,
        token_expires_at=0,
        token_version=token_version,
        token_id=session_id,
        session_id=session_id,
    )


def _event(seq: int, table: str, op: str, record: dict[str, object]) -> LogEvent:
    return LogEvent(
        seq=seq,
        table=table,
        op=op,
        record=record,
        old_record=None,
        dentist_id=None,
        patient_id=None,
        committed_at=datetime.now(UTC),
    )


def test_what_each_revocation_event_covers() -> None:
    user, other_user, session, other_session = uuid4(), uuid4(), uuid4(), uuid4()
    mine = _principal(user, session_id=session, token_version=3)
    logout = _event(
        1, "revoked_tokens", "INSERT", {"user_id": str(user), "session_id": str(session)}
    )
    bump = _event(
        2, "users", "UPDATE", {"user_id": str(user), "disabled": False, "token_version": 4}
    )
    same = _event(
        3, "users", "UPDATE", {"user_id": str(user), "disabled": False, "token_version": 3}
    )
    disabled = _event(
        4, "users", "UPDATE", {"user_id": str(user), "disabled": True, "token_version": 3}
    )
    deleted = _event(5, "users", "DELETE", {"user_id": str(user), "deleted": True})
    for event, covered in (
        (logout, True),
        (bump, True),
        (same, False),
        (disabled, True),
        (deleted, True),
    ):
        revocation = event.revocation()
        assert revocation is not None
        assert revocation.covers(mine) is covered, event
        assert not revocation.covers(_principal(other_user, session_id=session, token_version=0))
    one_session = logout.revocation()
    assert one_session is not None
    assert not one_session.covers(_principal(user, session_id=other_session, token_version=3))
    assert _event(6, "appointments", "INSERT", {}).revocation() is None


def test_a_revocation_published_during_a_token_check_is_not_missed() -> None:
    """The hub remembers recent events: a socket whose token was checked before its
    revocation reached the hub, and identified after, is still found revoked."""
    hub = Hub(hold_limit=1 << 20)
    hub.start_at(10)
    user, session = uuid4(), uuid4()
    principal = _principal(user, session_id=session)
    checked_at = hub.head
    hub.publish(
        [_event(11, "revoked_tokens", "INSERT", {"user_id": str(user), "session_id": str(session)})]
    )
    assert hub.revoked_since(checked_at, principal)
    assert not hub.revoked_since(hub.head, principal), "already seen by the database check"
    assert not hub.revoked_since(checked_at, _principal(user, session_id=uuid4()))
