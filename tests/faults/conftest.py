"""Fault tests: a PostgreSQL of their own (the restart test stops it), a fresh migrated
database per test, and the `faults` marker on everything here (`make faults` runs them)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support import FaultPostgres, fault_postgres
from tests.fixtures.database import create_database, drop_database

HERE = Path(__file__).resolve().parent
_databases = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: fault tests (processes killed, PostgreSQL restarted, storms)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="package")
def fault_server() -> Iterator[FaultPostgres]:
    """A throw-away embedded PostgreSQL for the fault tests only."""
    with fault_postgres() as postgres:
        yield postgres


@pytest.fixture
def fault_db(fault_server: FaultPostgres) -> Iterator[str]:
    """A fresh, migrated database on the fault server; its URL connects as the owner."""
    name = f"faults_{os.getpid()}_{next(_databases)}"
    url = create_database(fault_server.url, name)
    try:
        yield url
    finally:
        if not fault_server.running():
            fault_server.start()
        drop_database(fault_server.url, name)
