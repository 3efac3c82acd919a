"""The embedded server trusts whoever reaches its socket: only this user may."""

from __future__ import annotations

import stat
from pathlib import Path

from dentalcare.db.embedded import _keep_socket_private


def test_a_socket_in_a_shared_directory_is_closed_to_other_users(tmp_path: Path) -> None:
    import socket

    shared = tmp_path / "runtime"
    shared.mkdir()
    shared.chmod(0o777)
    path = shared / ".s.PGSQL.5432"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        path.chmod(0o777)
        lock = shared / ".s.PGSQL.5432.lock"
        lock.write_text("1")
        lock.chmod(0o644)
        _keep_socket_private(shared, tmp_path / "pgdata")
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    finally:
        listener.close()


def test_a_socket_in_the_data_directory_relies_on_a_private_directory(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir(mode=0o755)
    _keep_socket_private(pgdata, pgdata.resolve())
    assert stat.S_IMODE(pgdata.stat().st_mode) == 0o700
