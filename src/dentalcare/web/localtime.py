"""Times as the portals show them: the dentist's clock time and the short name of its zone.

One form everywhere, "10:30 EST": the abbreviation tzdata gives the zone on that date
(EST in winter, EDT in summer; GMT/BST, CET/CEST), and for the zones tzdata names only by
their offset ("+03") "UTC+03". The long IANA name stays where there is room for it (the
slot picker's heading). `app.js` reproduces the same labels in the browser from a map of
offsets to abbreviations that every page carries (`offset_labels`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dentalcare.timezones import zone


def offset_label(offset: timedelta | None) -> str:
    """`UTC`, `UTC+03`, `UTC-03:30` for an offset from UTC."""
    minutes = round(offset.total_seconds() / 60) if offset else 0
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def abbreviation(local: datetime) -> str:
    """The short name of an aware datetime's zone at that moment (`EST`, `UTC+03`)."""
    name = local.tzname() or ""
    if name and name[0] not in "+-" and not name[0].isdigit():
        return name
    return offset_label(local.utcoffset())


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _as_time(value: Any) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value)[:5])


def _as_instant(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    instant = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def clock(on: Any, at: Any, zone_name: str) -> str:
    """`10:30 EST`: a local date and time of the zone `zone_name`."""
    day, moment = _as_date(on), _as_time(at)
    return f"{moment:%H:%M} {abbreviation(datetime.combine(day, moment, zone(zone_name)))}"


def clock_of(item: Mapping[str, Any], zone_name: str) -> str:
    """`10:30 EST` for an appointment or a slot (`appointment_date`/`appointment_time` or
    `date`/`time`, and `starts_at`), presumed in `zone_name`.

    The instant decides: when `zone_name` does not give that local time at `starts_at`
    (the dentist works in another zone), the label is the offset the row itself implies,
    never a wrong abbreviation."""
    day = _as_date(item.get("appointment_date") or item.get("date"))
    moment = _as_time(item.get("appointment_time") or item.get("time"))
    instant = _as_instant(item.get("starts_at"))
    if instant is None:
        return clock(day, moment, zone_name)
    local = instant.astimezone(zone(zone_name))
    if (local.date(), local.hour, local.minute) == (day, moment.hour, moment.minute):
        return f"{moment:%H:%M} {abbreviation(local)}"
    offset = datetime.combine(day, moment) - instant.astimezone(UTC).replace(tzinfo=None)
    return f"{moment:%H:%M} {offset_label(offset)}"


def zone_names(days: Iterable[Any], zone_name: str) -> str:
    """The zone's short names over some days, in order (`EDT/EST` in a week that changes)."""
    names: list[str] = []
    for day in days:
        name = abbreviation(datetime.combine(_as_date(day), time(12), zone(zone_name)))
        if name not in names:
            names.append(name)
    return "/".join(names)


def offset_labels(zone_names: Iterable[str], around: date) -> dict[str, str]:
    """Offset in minutes (as text) → short name, for the offsets the zones use in the year
    from a month before `around`; the first zone wins where two share an offset."""
    labels: dict[str, str] = {}
    start = around - timedelta(days=31)
    samples = [start + timedelta(days=7 * week) for week in range(60)]
    for name in zone_names:
        for day in samples:
            local = datetime.combine(day, time(12), zone(name))
            offset = local.utcoffset() or timedelta(0)
            labels.setdefault(str(round(offset.total_seconds() / 60)), abbreviation(local))
    return labels
