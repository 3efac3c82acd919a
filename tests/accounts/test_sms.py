"""The SMS transport against a real (tiny) HTTP gateway, and E.164 numbers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dentalcare.config import Settings
from dentalcare.sms import HttpSmsGateway, SmsFailed, sms_transport, to_e164


class Gateway:
    """An HTTP server that records what it is sent and answers `status`."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 202
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers["Content-Length"])
                gateway.received.append(
                    {
                        "content_type": self.headers["Content-Type"],
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                self.send_response(gateway.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self.thread.join()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    running = Gateway()
    try:
        yield running
    finally:
        running.close()


async def test_a_message_is_posted_as_json_to_the_gateway(gateway: Gateway) -> None:
    transport = sms_transport(Settings(sms_url=gateway.url))
    assert transport is not None
    await transport.send(to="+447700900123", body="Your visit is tomorrow at 09:00 (GMT)")
    assert gateway.received == [
        {
            "content_type": "application/json",
            "body": {"to": "+447700900123", "body": "Your visit is tomorrow at 09:00 (GMT)"},
        }
    ]


async def test_a_refusing_or_absent_gateway_raises_for_the_outbox_to_retry(
    gateway: Gateway,
) -> None:
    gateway.status = 503
    with pytest.raises(SmsFailed, match="503"):
        await HttpSmsGateway(gateway.url).send(to="+15555550100", body="x")
    url = gateway.url
    gateway.close()
    with pytest.raises(SmsFailed, match="cannot be reached"):
        await HttpSmsGateway(url, timeout=2).send(to="+15555550100", body="x")


def test_without_a_url_there_is_no_transport() -> None:
    assert sms_transport(Settings(sms_url=None)) is None
    assert sms_transport(Settings(sms_url="")) is None


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("07700 900123", "GB", "+447700900123"),
        ("+44 7700 900123", None, "+447700900123"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("+1 212 555 0100", "GB", "+12125550100"),
        ("030 1234567", "DE", "+49301234567"),
    ],
)
def test_numbers_become_e164(raw: str, region: str | None, e164: str) -> None:
    assert to_e164(raw, region=region) == e164


@pytest.mark.parametrize(("raw", "region"), [("12", "GB"), ("not a number", "US"), ("555", None)])
def test_impossible_numbers_are_none(raw: str, region: str | None) -> None:
    assert to_e164(raw, region=region) is None
