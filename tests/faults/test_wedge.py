"""A flood of chat turns and bookings on a tiny pool cannot wedge the service.

Version 1 hung for good under 30 simultaneous chat messages: a turn held a pooled
connection inside a transaction while the services it called waited for more, and the
pool had no timeout. Here one `dentalcare serve` process runs with a pool of 4
connections; 40 guest chat sessions each send two messages at once while guests flood
the booking endpoint (many of them racing for the same slots) and a monitor asks
`/api/health` every 0.2 s. Every request must get an answer (200/201, 409, 429 or 503,
never a hang or a 500) within 30 s, health must answer within 3 s throughout, a normal
booking must succeed right after, and SIGTERM must stop the process within 10 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from tests.faults.support import free_port, running_services, seed_clinic, status_of
from tests.fixtures.servers import spawn_serve
from tests.fixtures.settings import TEST_SECRET
from tests.fixtures.waiting import wait_until

POOL_SIZE = 4
CHAT_SESSIONS = 40
TURNS_AT_ONCE = 2
BOOKINGS = 160
ANSWER_WITHIN = 30.0
HEALTH_WITHIN = 3.0
STOP_WITHIN = 10.0
CHAT_LINES = (
    "I have a bad toothache since yesterday, can I come tomorrow afternoon?",
    "my filling fell out, anything on Friday morning?",
)


async def _timed(call: Any) -> tuple[float, int | str, str]:
    """(seconds, status or transport error, body) of one request."""
    started = time.monotonic()
    try:
        response: httpx.Response = await call
    except httpx.HTTPError as exc:
        return time.monotonic() - started, type(exc).__name__, ""
    return time.monotonic() - started, response.status_code, response.text


async def _chat_session(http: httpx.AsyncClient) -> list[tuple[float, int | str, str]]:
    started = await _timed(http.post("/api/chat/sessions"))
    if started[1] != 201:
        return [started]
    session_id = orjson.loads(started[2])["session_id"]
    path = f"/api/chat/sessions/{session_id}/messages"
    turns = [
        _timed(http.post(path, json={"text": CHAT_LINES[n % len(CHAT_LINES)]}))
        for n in range(TURNS_AT_ONCE)
    ]
    return [started, *await asyncio.gather(*turns)]


def _booking_body(dentist_id: Any, day: str, at: str, n: int) -> dict[str, Any]:
    return {
        "dentist_id": str(dentist_id),
        "appointment_date": day,
        "appointment_time": at,
        "patient_name": f"Flood Guest {n}",
        "patient_email": f"flood-{n}@example.com",
        "patient_phone": "+1 555 0100",
    }


async def test_a_flood_on_a_tiny_pool_gets_answers_and_sigterm_still_stops_it(
    fault_db: str,
) -> None:
    clinic = await seed_clinic(fault_db, dentists=3, patients=1, admins=1)
    day = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    # Four guests race for each of 40 slots: one wins, the others get 409.
    slots = [
        (d.id, day, f"{8 + n // 4:02d}:{(n % 4) * 15:02d}")
        for d in clinic.dentists
        for n in range(14)
    ]
    # Rate limits stay off (as in the other fault tests): every booking reaches the pool.
    env = {"DENTALCARE_DB_POOL_MIN_SIZE": "1", "DENTALCARE_DB_POOL_MAX_SIZE": str(POOL_SIZE)}
    async with running_services(fault_db, 1, extra_env=env) as (service,):
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so that a
        # request never races the server closing the connection it reuses.
        limits = httpx.Limits(
            max_connections=400, max_keepalive_connections=400, keepalive_expiry=2.0
        )
        async with httpx.AsyncClient(
            base_url=service.base_url, timeout=ANSWER_WITHIN + 5, limits=limits
        ) as http:
            health: list[tuple[float, int | str, str]] = []
            flooding = True

            async def monitor() -> None:
                async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as probe:
                    while flooding:
                        health.append(await _timed(probe.get("/api/health")))
                        await asyncio.sleep(0.2)

            watcher = asyncio.create_task(monitor())
            chats = [_chat_session(http) for _ in range(CHAT_SESSIONS)]
            bookings = [
                _timed(http.post("/api/appointments", json=_booking_body(*slots[n // 4], n)))
                for n in range(BOOKINGS)
            ]
            started = time.monotonic()
            chat_results, booking_results = await asyncio.gather(
                asyncio.gather(*chats), asyncio.gather(*bookings)
            )
            flood_seconds = time.monotonic() - started
            flooding = False
            await watcher

            chat_answers = [answer for session in chat_results for answer in session]
            everything = chat_answers + list(booking_results)
            statuses = Counter(status for _, status, _ in everything)
            slowest = max(seconds for seconds, _, _ in everything)
            print(
                f"\nflood: {len(everything)} requests in {flood_seconds:.1f} s, slowest "
                f"{slowest:.1f} s, statuses {dict(statuses)}; health: {len(health)} probes, "
                f"slowest {max(s for s, _, _ in health):.2f} s, "
                f"statuses {dict(Counter(s for _, s, _ in health))}"
            )
            answered = {200, 201, 409, 429, 503}
            assert set(statuses) <= answered, (
                [(status, body[:300]) for _, status, body in everything if status not in answered],
                service.log_tail(60),
            )
            assert slowest < ANSWER_WITHIN
            assert statuses[200] > 0 and statuses[201] > 0  # the flood was served, not refused
            assert health and max(seconds for seconds, _, _ in health) < HEALTH_WITHIN
            assert {status for _, status, _ in health} <= {200, 503}

            # No slot was given twice, whatever the flood did.
            conn = await asyncpg.connect(fault_db)
            try:
                doubled = await conn.fetchval(
                    """SELECT count(*) FROM (SELECT dentist_id, starts_at FROM appointments
                       WHERE status IN ('pending', 'confirmed')
                       GROUP BY 1, 2 HAVING count(*) > 1) AS twice"""
                )
            finally:
                await conn.close()
            assert doubled == 0

            # Right after, an ordinary booking goes through.
            after = await http.post(
                "/api/appointments",
                json=_booking_body(clinic.dentists[0].id, day, "19:00", 10_000),
            )
            assert after.status_code == 201, after.text
            assert (await http.get("/api/health")).status_code == 200

        # Requests are stuck again when SIGTERM arrives: it still stops within 10 s.
        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
            session = (await http.post("/api/chat/sessions")).json()["session_id"]
            pending = [
                asyncio.create_task(
                    http.post(f"/api/chat/sessions/{session}/messages", json={"text": line})
                )
                for line in CHAT_LINES * 10
            ]
            await asyncio.sleep(0.2)
            stopping = time.monotonic()
            service.process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(service.process.wait, STOP_WITHIN + 5)
            stopped_in = time.monotonic() - stopping
            await asyncio.gather(*pending, return_exceptions=True)
        print(f"SIGTERM: exited with {code} after {stopped_in:.1f} s")
        assert stopped_in < STOP_WITHIN, service.log_tail()


async def test_sigterm_with_stuck_chat_turns_stops_the_service_and_its_embedded_database(
    tmp_path: Path,
) -> None:
    """`make run`'s shape: no DATABASE_URL, so serve starts (and must stop) PostgreSQL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENTALCARE_")}
    env.update(
        {
            "DENTALCARE_ENV": "test",
            "DENTALCARE_SECRET_KEY": TEST_SECRET,
            "DENTALCARE_DATA_DIR": str(tmp_path / "data"),
            "DENTALCARE_DB_POOL_MIN_SIZE": "1",
            "DENTALCARE_DB_POOL_MAX_SIZE": "2",
        }
    )
    log_path = tmp_path / "serve.log"
    process = await asyncio.to_thread(
        partial(spawn_serve, "--demo", "--port", str(port)),
        workdir=tmp_path,
        env=env,
        log_path=log_path,
    )
    base_url = f"http://127.0.0.1:{port}"
    pid_file = tmp_path / "data" / "pgdata" / "postmaster.pid"
    try:
        await wait_until(
            lambda: status_of(base_url, "/api/health"),
            within=90,
            what="serve with its embedded database",
            every=0.2,
        )
        assert pid_file.exists()
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            sessions = [
                (await http.post("/api/chat/sessions")).json()["session_id"] for _ in range(6)
            ]
            pending = [
                asyncio.create_task(
                    http.post(f"/api/chat/sessions/{session}/messages", json={"text": line})
                )
                for session in sessions
                for line in CHAT_LINES * 3
            ]
            await asyncio.sleep(0.2)
            stopping = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(process.wait, STOP_WITHIN + 20)
            stopped_in = time.monotonic() - stopping
            await asyncio.gather(*pending, return_exceptions=True)
        log = log_path.read_text(errors="replace")
        print(f"\nSIGTERM (embedded database): exited with {code} after {stopped_in:.1f} s")
        assert stopped_in < STOP_WITHIN, log[-3000:]
        assert code == 0, log[-3000:]
        assert not pid_file.exists(), "the embedded PostgreSQL is still running"
        assert "Traceback" not in log, log[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
