"""What the server sends: events, errors and close codes of `/api/realtime`."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Close codes of the contract (API.md, "Realtime WebSocket").
NORMAL = 1000
GOING_AWAY = 1001  # server shutting down: reconnect with since
TRY_AGAIN_LATER = 1013
TOKEN_INVALID = 4001  # token invalid or expired: needs a new token (set_token)
TOO_SLOW = 4008  # could not keep up: reconnect with since
RATE_LIMITED = 4029  # too many messages or sockets: reconnect after a longer back-off

Record = dict[str, Any]


class RealtimeError(Exception):
    """An `error` reply or a failure of the realtime connection."""

    def __init__(
        self,
        error: str,
        detail: str = "",
        *,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error}: {detail}" if detail else error)
        self.error = error  # the contract's machine code, e.g. "Forbidden"
        self.detail = detail
        self.code = code  # the WebSocket close code, when the connection was closed
        self.retry_after = retry_after  # seconds, with a "RateLimited" error


@dataclass(frozen=True, slots=True)
class RealtimeEvent:
    """One `event` message: a committed change at position `seq` of the event log."""

    channel: str
    seq: int
    table: str
    op: str
    record: Record | None
    old_record: Record | None
    committed_at: datetime | None

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> RealtimeEvent:
        """From a decoded `event` message."""
        committed = message.get("committed_at")
        return cls(
            channel=message["channel"],
            seq=int(message["seq"]),
            table=message["table"],
            op=message["op"],
            record=message.get("record"),
            old_record=message.get("old_record"),
            committed_at=datetime.fromisoformat(committed) if committed else None,
        )

    @property
    def row(self) -> Record:
        """The row as it is now, or as it was for a DELETE."""
        return self.record if self.record is not None else (self.old_record or {})


def token_claims(token: str | None) -> dict[str, Any]:
    """The claims a JWT carries, read WITHOUT verifying it (only the server can verify):
    used to pick the right channel names and to refuse obviously wrong subscriptions."""
    if not token:
        return {}
    try:
        payload = token.split(".")[1]
        padded = payload + "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}
