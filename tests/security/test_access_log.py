"""A guest's booking reference and e-mail address never reach the server's log.

`dentalcare serve` runs as its own process with its own logging (uvicorn's access log at
`info`, through `dentalcare.logs`), and the test reads what it wrote.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dentalcare.logs import RedactTokens, redact
from tests.fixtures.clinic import Clinic
from tests.fixtures.servers import spawn_serve, stop_serve
from tests.fixtures.settings import service_environment

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`dentalcare serve` at log level info on the test database: (base URL, its log)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DENTALCARE_")}
    env.update(service_environment(database_url=database_url, data_dir=tmp_path / "data"))
    log_path = tmp_path / "serve.log"
    process = spawn_serve(
        "--port", str(port), "--log-level", "info", workdir=tmp_path, env=env, log_path=log_path
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(base_url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        yield base_url, log_path
    finally:
        stop_serve(process)


def test_look_ups_leave_no_reference_or_e_mail_in_the_access_log(
    clinic: Clinic, served: tuple[str, Path]
) -> None:
    base_url, log_path = served
    guest = clinic.appointments["guest"]
    ref, email = guest["booking_reference"], guest["patient_email"]
    with httpx.Client(base_url=base_url, timeout=10) as browser:
        api = browser.get("/api/appointments/lookup", params={"reference": ref, "email": email})
        assert api.status_code == 200
        page = browser.get("/bookings/find", params={"reference": ref, "email": email})
        token = CSRF.search(page.text)
        assert token
        found = browser.post(
            "/bookings/find",
            data={"csrf_token": token.group(1), "reference": ref, "email": email},
        )
        assert found.status_code == 303 and found.headers["location"] == f"/bookings/{ref}"
        assert browser.get(f"/bookings/{ref}").status_code == 200
        assert browser.get(f"/bookings/{ref}/calendar.ics").status_code == 200
    time.sleep(0.3)  # uvicorn writes the access line after the response
    log = log_path.read_text()
    assert '"GET /api/appointments/lookup?[redacted] HTTP/1.1" 200' in log
    assert '"POST /bookings/find HTTP/1.1" 303' in log
    assert '"GET /bookings/[redacted]/calendar.ics HTTP/1.1" 200' in log
    assert ref not in log and ref.lower() not in log
    assert email not in log and email.replace("@", "%40") not in log


def test_the_filter_redacts_each_kind_of_credential() -> None:
    lines = {
        "/api/appointments/lookup?reference=DC-7K3P9QX&email=a%40b.c": (
            "/api/appointments/lookup?[redacted]"
        ),
        "/bookings/find?reference=DC-7K3P9QX": "/bookings/find?[redacted]",
        "/bookings/DC-7K3P9QX": "/bookings/[redacted]",
        "/bookings/DC-7K3P9QX/cancel": "/bookings/[redacted]/cancel",
        "/login?next=/bookings/DC-7K3P9QX": "/login?next=/bookings/[redacted]",
        "/bookings/find": "/bookings/find",
        "/api/appointments?status=pending": "/api/appointments?status=pending",
        "/api/realtime?token=eyJ.x.y": "/api/realtime?token=[redacted]",
    }
    for line, expected in lines.items():
        assert redact(line) == expected, line
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5555", "GET", "/bookings/DC-7K3P9QX", "1.1", 200),
        None,
    )
    assert RedactTokens().filter(record) is True
    assert "DC-7K3P9QX" not in record.getMessage()
