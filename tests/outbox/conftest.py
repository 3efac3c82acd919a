"""The outbox suites' SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.outbox.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
