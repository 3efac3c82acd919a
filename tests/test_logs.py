"""Access tokens never reach the server log."""

from __future__ import annotations

import logging

import pytest

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


def test_json_lines_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from dentalcare.logs import JsonFormatter

    monkeypatch.setenv("DENTALCARE_LOG_FORMAT", "json")
    config = uvicorn_log_config()
    assert all(f["()"] == "dentalcare.logs.JsonFormatter" for f in config["formatters"].values())
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, "GET %s", ("/api/realtime?token=abc",), None
    )
    RedactTokens().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "info" and line["logger"] == "uvicorn.access"
    assert line["message"] == "GET /api/realtime?token=[redacted]"
    monkeypatch.setenv("DENTALCARE_LOG_FORMAT", "text")
    assert uvicorn_log_config()["formatters"]["default"]["()"] != "dentalcare.logs.JsonFormatter"
