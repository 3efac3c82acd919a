"""Phone numbers as people type them in any country, read with the clinic's country as the
default (so a local number needs no +1 or +44), kept and shown in the international form.

The clinic's country is `CLINIC_COUNTRY` when set, else the country of `CLINIC_TIMEZONE`
in tzdata's zone.tab (America/New_York → US, Europe/London → GB); a clinic in UTC has
none, and then a number needs its country code.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import phonenumbers

from dentalcare.config import Settings

INTERNATIONAL = phonenumbers.PhoneNumberFormat.INTERNATIONAL
# What a phone field lets the browser check before the server reads the number (three
# digits at least, and the characters numbers are written with); escaped for the `v` flag
# browsers compile `pattern` with.
PATTERN = r"[\+\(\)\.\/\- ]*([0-9][\+\(\)\.\/\- ]*){3,}"
# What the appointment and account schemas take in a phone number.
_PLAIN = re.compile(r"[0-9+()\-. ]+")


class PhoneInvalid(ValueError):
    """A phone number that cannot be read; the message says what to type instead."""


@cache
def _zone_countries() -> dict[str, str]:
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    countries: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            code, _coordinates, name, *_ = line.split("\t")
            countries[name] = code
    return countries


@cache
def _country_names() -> dict[str, str]:
    table = resources.files("tzdata").joinpath("zoneinfo", "iso3166.tab").read_text("utf-8")
    rows = (line.split("\t") for line in table.splitlines() if line and line[0] != "#")
    return {row[0]: row[1] for row in rows if len(row) >= 2}


def country_of_zone(zone_name: str) -> str | None:
    """The ISO country code of an IANA zone (None for UTC and the Etc/ zones)."""
    return _zone_countries().get(zone_name)


def clinic_region(settings: Settings) -> str | None:
    """The country a number without its country code belongs to."""
    return settings.clinic_country or country_of_zone(settings.clinic_timezone)


def example(region: str | None) -> str:
    """A number to show as an example, in the clinic's country when it has one."""
    number = phonenumbers.example_number(region) if region else None
    if number is None:
        return "+44 20 7946 0958"
    return phonenumbers.format_number(number, INTERNATIONAL)


def hint(region: str | None) -> str:
    """What a phone field says about the numbers it takes."""
    if region is None:
        return f"With its country code, e.g. {example(None)}."
    country = _country_names().get(region, region)
    return f"As you dial it locally ({country}), or with its + country code."


def normalize(raw: str, region: str | None) -> str:
    """`raw` in the international form (`+1 212-555-0142`), or PhoneInvalid."""
    text = raw.strip()
    if sum(c.isdigit() for c in text) < 3:
        raise PhoneInvalid(f"Enter a phone number, e.g. {example(region)}.")
    if region is None and text.startswith("00"):
        text = "+" + text[2:]  # the international prefix most countries dial
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        if region is None and not text.startswith("+"):
            raise PhoneInvalid(
                f"Enter the number with its country code, e.g. {example(None)}."
            ) from None
        raise PhoneInvalid(f"Enter a phone number, e.g. {example(region)}.") from None
    if number.extension:
        raise PhoneInvalid("Enter the number without an extension.")
    if not phonenumbers.is_possible_number(number):
        raise PhoneInvalid(
            f"This number has too few or too many digits. Enter it like {example(region)}."
        )
    if phonenumbers.is_valid_number(number) or not _PLAIN.fullmatch(text):
        return phonenumbers.format_number(number, INTERNATIONAL)
    # A number of the right length outside the numbering plan (a fictional 555 one, a
    # new range the library does not know yet): kept as typed rather than regrouped,
    # with its country code in front.
    if text.startswith("+"):
        return " ".join(text.split())
    national = phonenumbers.national_significant_number(number)
    return f"+{number.country_code} {national}"


def display(raw: str | None, region: str | None) -> str:
    """A stored number in the international form; as stored if it cannot be read."""
    if not raw:
        return ""
    try:
        return normalize(raw, region)
    except PhoneInvalid:
        return raw
