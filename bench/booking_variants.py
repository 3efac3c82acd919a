"""Experiments only: `dentalcare serve` with candidate fixes patched in at start-up.

    DC_VARIANT=async_deps,noreset,ref1,datebound \
        .venv/bin/python -m bench.booking --serve-wrapper bench/booking_variants.py

Previews what the suggestions of the booking benchmark would buy, without touching the
service's code; each patch asserts that the code it replaces still looks as expected.

async_deps  get_db / get_settings as `async def` (FastAPI runs a plain `def` dependency
            in the threadpool: two thread hand-offs per request)
noreset     asyncpg pool with a no-op `reset` (claims are transaction-local, so the
            default RESET ALL / UNLISTEN round trip on every release buys nothing)
ref1        new_reference() from one urandom call instead of seven
datebound   the schedule snapshot's busy subquery also bounded by appointment_date, so
            the (dentist_id, appointment_date) index is used as a range instead of
            reading the dentist's whole appointment history for a one-day check
"""

# No `from __future__ import annotations`: FastAPI must see the patched dependencies'
# `Request` annotation as a class, not as a string to resolve in this module.
import os
import secrets
import sys
from typing import Annotated, Any

from fastapi import Depends, Request

VARIANT = set(filter(None, os.environ.get("DC_VARIANT", "").split(",")))


def apply(variant: set[str]) -> None:
    """Patch the service's modules before the application is built."""
    import dentalcare.db.deps as deps
    from dentalcare.config import Settings
    from dentalcare.db.pool import Database

    if "async_deps" in variant:

        async def get_db(request: Request) -> Database:
            db: Database = request.app.state.db
            return db

        async def get_settings(request: Request) -> Settings:
            settings: Settings = request.app.state.settings
            return settings

        # The endpoint modules import Db / AppSettings at import time: patch them first.
        deps.get_db, deps.get_settings = get_db, get_settings  # type: ignore[assignment]
        deps.Db = Annotated[Database, Depends(get_db)]  # type: ignore[misc]
        deps.AppSettings = Annotated[Settings, Depends(get_settings)]  # type: ignore[misc]

    if "noreset" in variant:
        import dentalcare.db.pool as pool

        real_create_pool = pool.asyncpg.create_pool

        async def no_reset(conn: Any) -> None:
            return None

        def create_pool(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("reset", no_reset)
            return real_create_pool(*args, **kwargs)

        pool.asyncpg.create_pool = create_pool

    if "ref1" in variant:
        import dentalcare.appointments.service as service

        alphabet = service.REFERENCE_ALPHABET
        assert len(alphabet) == 32

        def new_reference() -> str:
            return "DC-" + "".join(alphabet[b & 31] for b in secrets.token_bytes(7))

        service.new_reference = new_reference

    if "datebound" in variant:
        import dentalcare.availability.repository as repository

        old = "WHERE b.dentist_id = d.id AND b.starts_at < $5 AND b.ends_at > $4"
        assert old in repository._SCHEDULE_SQL, "the snapshot query changed"
        repository._SCHEDULE_SQL = repository._SCHEDULE_SQL.replace(
            old,
            old + "\n               AND b.appointment_date BETWEEN $2::date - 2 AND $3::date + 2",
        )


if __name__ == "__main__":
    print(f"bench.booking_variants: {sorted(VARIANT) or 'no patches'}", file=sys.stderr, flush=True)
    apply(VARIANT)
    from dentalcare.cli import main

    sys.exit(main(sys.argv[1:]))
