"""Rendering database values in the contract's JSON formats (shared by REST and realtime).

Rows arrive either from asyncpg (date/time/datetime/Decimal objects) or from the event
log's `to_jsonb` (strings and numbers); both render the same way here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any


def iso_date(value: Any) -> str | None:
    """`YYYY-MM-DD`."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def hh_mm(value: Any) -> str | None:
    """`HH:MM` (24 h)."""
    if value is None:
        return None
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}"
    return str(value)[:5]


def iso_instant(value: Any) -> str | None:
    """ISO 8601 with offset, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"not an instant: {value!r}")


def text_id(value: Any) -> str | None:
    """A UUID as text."""
    return None if value is None else str(value)


def money(value: Any) -> float | None:
    """A numeric amount as a JSON number."""
    return None if value is None else float(value)
