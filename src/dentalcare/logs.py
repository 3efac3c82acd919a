"""Logging for `dentalcare serve`: uvicorn's configuration, with credentials redacted.

Browsers and SDKs open `/api/realtime?token=<jwt>`; uvicorn logs every WebSocket's path
with its query string, which would write bearer tokens into the server log. A guest's
booking reference and e-mail address open their booking the same way: the look-up's
query string and the reference in a booking page's path are redacted too.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_TOKEN = re.compile(r"(token=)[^&\s\"']+")
# The whole query of a guest look-up (API or page), and a booking reference in a path.
_GUEST_LOOKUP = re.compile(r"(/api/appointments/lookup\?|/bookings/find\?)[^\s\"']+")
_BOOKING_PATH = re.compile(r"(/bookings/)(?!find\b)[^/?\s\"']+")


def redact(text: str) -> str:
    """`text` with tokens, guest look-up queries and booking references replaced."""
    text = _TOKEN.sub(r"\1[redacted]", text)
    text = _GUEST_LOOKUP.sub(r"\1[redacted]", text)
    return _BOOKING_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Redact credentials (see `redact`) in a record's message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drop the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def json_logs() -> bool:
    """Whether DENTALCARE_LOG_FORMAT asks for one JSON object per line."""
    return os.environ.get("DENTALCARE_LOG_FORMAT", "").strip().lower() == "json"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message (redacted as
    the text format is, by the same filter), and the exception when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def uvicorn_log_config(*, json_format: bool | None = None) -> dict[str, Any]:
    """uvicorn's own logging configuration, with RedactTokens on every handler (and JSON
    lines when `json_format`, by default when DENTALCARE_LOG_FORMAT=json)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "dentalcare.logs.RedactTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    if json_logs() if json_format is None else json_format:
        for formatter in config["formatters"].values():
            formatter.clear()
            formatter["()"] = "dentalcare.logs.JsonFormatter"
    return config


def configure_root(level: int = logging.INFO) -> None:
    """The service's own loggers: text lines, or JSON lines when DENTALCARE_LOG_FORMAT=json."""
    if not json_logs():
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactTokens())
    logging.basicConfig(level=level, handlers=[handler])
