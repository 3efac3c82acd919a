"""Shared pieces of the benchmarks: a throw-away database, the real service as a
subprocess, a small keep-alive HTTP/1.1 client, CPU accounting and percentiles.

Everything here cleans up after itself: use the context managers inside one
`contextlib.ExitStack` and a Ctrl-C or an error anywhere still stops the server and
deletes the embedded database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
APP_ROLE = "dentalcare_app"


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the one JSON line."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- figures


def percentiles(values_ms: Sequence[float]) -> dict[str, Any]:
    """n, mean, p50, p90, p99, p99.9, max (nearest rank) of latencies in milliseconds."""
    if not values_ms:
        return {"n": 0}
    ordered = sorted(values_ms)
    n = len(ordered)

    def rank(q: float) -> float:
        return ordered[min(n - 1, max(0, int(q * n + 0.999999) - 1))]

    return {
        "n": n,
        "mean_ms": round(sum(ordered) / n, 3),
        "p50_ms": round(rank(0.50), 3),
        "p90_ms": round(rank(0.90), 3),
        "p99_ms": round(rank(0.99), 3),
        "p999_ms": round(rank(0.999), 3),
        "max_ms": round(ordered[-1], 3),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    load1, load5, _ = os.getloadavg()
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "loadavg_1m_before": round(load1, 2),
        "loadavg_5m_before": round(load5, 2),
    }


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def own_cpu_seconds() -> float:
    """User + system CPU of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its live children and the children it has reaped
    (PostgreSQL's backends that already exited count through the postmaster)."""
    try:
        root = psutil.Process(pid)
        t = root.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        children = root.children(recursive=True)
    except psutil.Error:
        return 0.0
    for proc in children:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (all processes, all cores)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------- database


@dataclass
class Postgres:
    """A running throw-away embedded PostgreSQL."""

    url: str
    pgdata: Path

    def postmaster_pid(self) -> int | None:
        """The postmaster's pid (first line of postmaster.pid)."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.pgdata / "postmaster.pid").read_text().splitlines()[0])
        return None

    def cpu_seconds(self) -> float:
        """CPU used so far by the postmaster and every backend."""
        pid = self.postmaster_pid()
        return tree_cpu_seconds(pid) if pid else 0.0

    def settings(self) -> dict[str, str]:
        """The settings that decide commit cost, read once for the report."""
        import asyncpg

        async def read() -> dict[str, str]:
            conn = await asyncpg.connect(self.url)
            try:
                names = (
                    "server_version",
                    "fsync",
                    "synchronous_commit",
                    "wal_sync_method",
                    "shared_buffers",
                    "max_connections",
                )
                return {n: str(await conn.fetchval(f"SHOW {n}")) for n in names}
            finally:
                await conn.close()

        return asyncio.run(read())


@contextlib.contextmanager
def embedded_postgres() -> Iterator[Postgres]:
    """Start an embedded PostgreSQL in a new temporary directory, migrate it, delete it after."""
    from dentalcare.db import migrate
    from dentalcare.db.embedded import start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="dentalcare-bench-"))
    embedded = None
    try:
        embedded = start_embedded(tmp / "pgdata", delete_on_stop=True)
        log(f"embedded PostgreSQL up in {tmp}")
        migrate.upgrade(embedded.url, app_role=APP_ROLE)
        yield Postgres(url=embedded.url, pgdata=tmp / "pgdata")
    finally:
        if embedded is not None:
            with contextlib.suppress(Exception):
                embedded.stop()
                log("embedded PostgreSQL stopped and deleted")
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- service


@dataclass
class Service:
    """The real service (`dentalcare serve`) running as a subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        with contextlib.suppress(psutil.Error):
            return int(psutil.Process(self.pid).memory_info().rss)
        return 0

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def running_service(
    database_url: str,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60.0,
    wrapper: str | None = None,
    extra_args: Sequence[str] | None = None,
) -> Iterator[Service]:
    """`dentalcare serve` on a free port against `database_url`, stopped (by pid) after.

    `wrapper` (experiments only): a Python script called instead of the `dentalcare`
    command, with the same arguments, e.g. one that patches something and then calls
    `dentalcare.cli.main()`.
    """
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="dentalcare-bench-serve-"))
    # Nothing from the caller's environment may change what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENTALCARE_")}
    ours = {
        "DENTALCARE_DATABASE_URL": database_url,
        "DENTALCARE_RATE_LIMITS_ENABLED": "false",
        "DENTALCARE_MIN_NOTICE_MINUTES": "0",
        "DENTALCARE_SECRET_KEY": "bench-secret-key-" + "x" * 48,
        "DENTALCARE_DATA_DIR": str(workdir / "data"),
        **(extra_env or {}),
    }
    env.update(ours)
    log_path = workdir / "serve.log"
    program = (
        [sys.executable, str(Path(wrapper).resolve())]
        if wrapper
        else [str(VENV_BIN / "dentalcare")]
    )
    command = [
        *program,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        *(extra_args or ()),
    ]
    with open(log_path, "wb") as log_file:
        # A session of its own: a Ctrl-C in the terminal reaches only us, and we stop it.
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    service = Service(
        process=process,
        port=port,
        log_path=log_path,
        env={k: v for k, v in ours.items() if k != "DENTALCARE_SECRET_KEY"},
    )
    try:
        _wait_healthy(service, timeout)
        log(f"service up on port {port} (pid {process.pid})")
        yield service
    finally:
        _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_healthy(service: Service, timeout: float) -> None:
    async def probe() -> bool:
        try:
            conn = await HttpConnection.open("127.0.0.1", service.port)
        except OSError:
            return False
        try:
            status, _ = await conn.request("GET", "/api/health", limit_s=5)
            return status == 200
        except (OSError, TimeoutError):
            return False
        finally:
            conn.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"the service exited with {service.process.returncode}:\n{service.log_tail()}"
            )
        if asyncio.run(probe()):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the service did not become healthy in {timeout} s:\n{service.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=5)
    log(f"service (pid {process.pid}) stopped")


# ----------------------------------------------------------------------------- HTTP client


class _Protocol(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; responses are parsed by httptools (llhttp)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        body = b"".join(self.body)
        self.body = []
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class HttpConnection:
    """A minimal keep-alive HTTP/1.1 client: one request at a time, tiny per-request cost."""

    def __init__(self, protocol: _Protocol, host: str, port: int) -> None:
        self.protocol = protocol
        self.host, self.port = host, port
        self.host_header = f"Host: {host}:{port}\r\n".encode()
        self.reconnects = 0

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, host, port)
        return cls(protocol, host, port)

    def raw_request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """The bytes of a request (build once, send many times)."""
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self.host_header
        if body is None:
            return head + b"\r\n"
        return (
            head
            + b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    async def send(
        self, raw: bytes, *, limit_s: float = 30.0, idempotent: bool = False
    ) -> tuple[int, bytes]:
        """Send a request built by raw_request and wait for the whole response.

        uvicorn closes keep-alive connections idle for 5 s; a closed connection is
        reopened, and an idempotent request (a GET) that meets a connection closed under
        it before any response byte is sent once more on a new one.
        """
        loop = asyncio.get_running_loop()
        if self.protocol.closed or self.protocol.transport is None:
            await self._reopen()
        try:
            return await self._send_once(loop, raw, limit_s)
        except ConnectionError:
            if not idempotent:
                raise
            await self._reopen()
            return await self._send_once(loop, raw, limit_s)

    async def _reopen(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
        loop = asyncio.get_running_loop()
        _, self.protocol = await loop.create_connection(_Protocol, self.host, self.port)
        self.reconnects += 1

    async def _send_once(
        self, loop: asyncio.AbstractEventLoop, raw: bytes, limit_s: float
    ) -> tuple[int, bytes]:
        protocol = self.protocol
        assert protocol.transport is not None
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        protocol.waiter = waiter
        protocol.transport.write(raw)
        # A timer, not asyncio.wait_for: no extra task per request on the client side.
        timer = loop.call_later(limit_s, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    async def request(
        self, method: str, path: str, body: bytes | None = None, *, limit_s: float = 30.0
    ) -> tuple[int, bytes]:
        raw = self.raw_request(method, path, body)
        return await self.send(raw, limit_s=limit_s, idempotent=method == "GET")

    def close(self) -> None:
        if self.protocol.transport is not None:
            self.protocol.transport.close()


def _expire(waiter: asyncio.Future[tuple[int, bytes]]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no response in time"))


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (it is: uvicorn[standard]), else asyncio's own."""
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def run(coro: Any) -> Any:
    """asyncio.run on uvloop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(coro)


# ----------------------------------------------------------------------------- profiler


@contextlib.contextmanager
def py_spy(pid: int, out: Path | None, seconds: float, *, gil: bool = False) -> Iterator[None]:
    """Sample `pid` with py-spy (if asked for and installed) while the block runs.

    `gil`: only samples of the thread holding the GIL (on-CPU Python), so threads parked
    in waits (the threadpool's idle workers) do not show up as work.
    """
    exe = shutil.which("py-spy") or str(VENV_BIN / "py-spy")
    if out is None or not Path(exe).exists():
        if out is not None:
            log("py-spy not found: no profile")
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        exe,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--duration",
        str(max(1, int(seconds))),
        "--format",
        "raw",
        *(["--gil"] if gil else []),
        "--nonblocking",
        "--output",
        str(out),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        try:
            proc.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=5)
        log(f"py-spy profile written to {out}")


# ----------------------------------------------------------------------------- waits


class PgWaitSampler:
    """Samples pg_stat_activity every `interval` s in a thread: what the client backends
    are doing (running, waiting for a lock, for the WAL flush, idle in transaction...)."""

    def __init__(self, url: str, interval: float = 0.05) -> None:
        self.url = url
        self.interval = interval
        self.samples = 0
        self.counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PgWaitSampler:
        self._thread = threading.Thread(target=self._run, name="pg-waits", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        import asyncpg

        async def sample() -> None:
            conn = await asyncpg.connect(self.url)
            try:
                while not self._stop.is_set():
                    rows = await conn.fetch(
                        """SELECT state, wait_event_type, wait_event FROM pg_stat_activity
                           WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                             AND state IS NOT NULL AND state <> 'idle'"""
                    )
                    self.samples += 1
                    for row in rows:
                        if row["wait_event_type"]:
                            key = f"{row['wait_event_type']}:{row['wait_event']}"
                        else:
                            key = "on CPU"
                        if row["state"] != "active":
                            key = f"{row['state']} ({key})"
                        self.counts[key] += 1
                    await asyncio.sleep(self.interval)
            finally:
                await conn.close()

        with contextlib.suppress(Exception):
            run(sample())

    def figures(self) -> dict[str, Any]:
        """Mean number of busy backends in each state (the DB's queue, by cause)."""
        if not self.samples:
            return {}
        return {
            "samples": self.samples,
            "mean_backends": {k: round(v / self.samples, 2) for k, v in self.counts.most_common(8)},
        }


def code_version() -> dict[str, Any]:
    """Which code was measured: HEAD and whether the working tree differs from it."""

    def git(*args: str) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        return ""

    status = git("status", "--porcelain", "--", "src")
    # Others may be editing src/ while we measure: fingerprint exactly what ran.
    digest = hashlib.sha256(git("diff", "HEAD", "--", "src").encode())
    for line in status.splitlines():
        if line.startswith("??"):
            path = ROOT / line[3:]
            files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
            for file in files:
                with contextlib.suppress(OSError):
                    digest.update(file.read_bytes())
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_changes": len(status.splitlines()),
        "src_diff_sha256": digest.hexdigest()[:16] if status else None,
    }
