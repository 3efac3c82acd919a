"""Logging for `dentalcare serve`: uvicorn's configuration, with access tokens redacted.

Browsers and SDKs open `/api/realtime?token=<jwt>`; uvicorn logs every WebSocket's path
with its query string, which would write bearer tokens into the server log.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_TOKEN = re.compile(r"(token=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Replace the value of every `token=` in a record's message arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drop the record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _TOKEN.sub(r"\1[redacted]", record.msg)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration, with RedactTokens on every handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "dentalcare.logs.RedactTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config
