"""Access tokens never reach the server log."""

from __future__ import annotations

import logging

from dentalcare.logs import RedactTokens, uvicorn_log_config


def test_websocket_access_lines_lose_their_token() -> None:
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5555", "/api/realtime?token=eyJhbGciOi.payload.sig&x=1"),
        None,
    )
    assert RedactTokens().filter(record) is True
    message = record.getMessage()
    assert "eyJhbGciOi" not in message
    assert "/api/realtime?token=[redacted]&x=1" in message


def test_every_uvicorn_handler_redacts() -> None:
    config = uvicorn_log_config()
    assert config["handlers"]
    assert all("redact_tokens" in h["filters"] for h in config["handlers"].values())
