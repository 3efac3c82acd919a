"""Time-zone names: validation against the IANA database that ships with tzdata."""

from __future__ import annotations

from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from dentalcare.errors import ValidationError


@cache
def _known() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a validated name (cached)."""
    return ZoneInfo(name)


def check_timezone(name: str, *, field: str = "timezone") -> str:
    """`name` if it is an IANA time zone, else a 422."""
    if name not in _known():
        raise ValidationError(
            f"{field}: {name!r} is not a time zone name such as 'Europe/London'.",
            fields=[{"loc": ["body", field], "msg": "unknown time zone"}],
        )
    return name
