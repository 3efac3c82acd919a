"""`dentalcare serve --workers 2`: two processes share the port and the sockets, each with
its own LISTEN connection, and every socket hears every change whichever process holds it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest

from tests.fixtures.rows import make_dentist, make_window
from tests.fixtures.servers import spawn_serve, stop_serve
from tests.fixtures.settings import service_environment
from tests.fixtures.waiting import wait_for
from tests.realtime.conftest import Feed, open_feed

SOCKETS = 40


@pytest.fixture
def two_workers(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[str, psutil.Process, dt.datetime]]:
    """`dentalcare serve --workers 2` on the test database: (base URL, the supervisor, when
    it was spawned)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENTALCARE_")}
    env.update(service_environment(database_url=database_url, data_dir=tmp_path / "data"))
    spawned_at = dt.datetime.now(dt.UTC)
    process = spawn_serve(
        "--port",
        str(port),
        "--workers",
        "2",
        "--log-level",
        "warning",
        workdir=tmp_path,
        env=env,
        log_path=tmp_path / "serve.log",
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base_url + "/api/sync/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "serve --workers 2 did not come up"
            time.sleep(0.1)
        yield base_url, psutil.Process(process.pid), spawned_at
    finally:
        stop_serve(process)


def sockets_held(process: psutil.Process, port: int) -> int:
    """Established connections on the service's port that `process` holds."""
    return sum(
        1
        for c in process.net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
    )


# Two service processes start (imports, pools, listeners) before the test proper.
@pytest.mark.timeout(300)
async def test_two_workers_share_the_sockets_and_each_reads_the_log_itself(
    two_workers: tuple[str, psutil.Process, dt.datetime], owner_conn: asyncpg.Connection
) -> None:
    base_url, supervisor, spawned_at = two_workers
    port = int(base_url.rsplit(":", 1)[1])

    def workers() -> list[psutil.Process]:
        # uvicorn's workers (multiprocessing's resource tracker is a child too)
        return [p for p in supervisor.children() if "spawn_main" in " ".join(p.cmdline())]

    async def listeners() -> int:
        # Only listeners connected since these workers were spawned: the session-wide test
        # server may have its own on the same database (tests run one at a time).
        count: int = await owner_conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dentalcare-listener'"
            " AND datname = current_database() AND backend_start >= $1",
            spawned_at,
        )
        return count

    seen: set[int] = set()

    async def two_listeners() -> bool:
        count = await listeners()
        seen.add(count)
        return count == 2

    # /health answers once the first worker is up; the second may still be importing on a
    # loaded machine, so its listener gets the same start-up allowance as the fixture.
    try:
        await wait_for(two_listeners, within=180, what="one LISTEN per worker")
    except TimeoutError as late:
        raise AssertionError(f"listener counts seen: {sorted(seen)}") from late
    assert len(workers()) == 2
    held_by = workers()
    dentist = await make_dentist(owner_conn)
    channel = f"availability:{dentist['id']}"
    async with contextlib.AsyncExitStack() as stack:
        feeds: list[Feed] = list(
            await asyncio.gather(
                *(stack.enter_async_context(open_feed(base_url)) for _ in range(SOCKETS))
            )
        )
        await asyncio.gather(*(feed.subscribe(channel) for feed in feeds))
        held = [sockets_held(worker, port) for worker in held_by]
        assert sum(held) == SOCKETS, held
        # A change by neither worker (the owner, then the NOTIFY another process sends):
        # each worker's own listener reads it and fans it out to the sockets it holds.
        window = await make_window(
            owner_conn, dentist_id=dentist["id"], day_of_week=1, start=dt.time(9), end=dt.time(12)
        )
        await owner_conn.execute("NOTIFY realtime_events")
        events = await asyncio.gather(*(feed.events(1) for feed in feeds))
    seqs = {event["seq"] for (event,) in events}
    assert len(seqs) == 1
    assert {event["record"]["id"] for (event,) in events} == {str(window["id"])}
    print("sockets held by each worker:", held)
