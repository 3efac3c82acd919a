"""The pure cores behind issue 18 item 9: times with their zone, phone numbers, typed times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dentalcare.web import forms, localtime, phones
from tests.fixtures.settings import make_settings

ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Istanbul",  # tzdata names it "+03" only
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Sydney",
    "America/St_Johns",  # -03:30 / -02:30
    "Pacific/Chatham",
]
SCHEMA_PHONE = re.compile(r"^[0-9+()\-. ]+$")  # what the appointment schema accepts
LABEL = re.compile(r"^[0-2][0-9]:[0-5][0-9] ([A-Z]{2,5}|UTC[+-][0-9]{2}(:[0-9]{2})?)$")
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(second=0, microsecond=0))


def _row(instant: datetime, zone_name: str) -> dict[str, str]:
    local = instant.astimezone(ZoneInfo(zone_name))
    return {
        "appointment_date": local.date().isoformat(),
        "appointment_time": f"{local:%H:%M}",
        "starts_at": instant.isoformat(),
    }


@given(instant=instants, zone_name=st.sampled_from(ZONES))
def test_a_row_in_its_own_zone_shows_the_zone_name_of_that_moment(
    instant: datetime, zone_name: str
) -> None:
    """EST in winter and EDT in summer: the abbreviation of the moment itself."""
    local = instant.astimezone(ZoneInfo(zone_name))
    shown = localtime.clock_of(_row(instant, zone_name), zone_name)
    assert shown == f"{local:%H:%M} {localtime.abbreviation(local)}"
    assert LABEL.match(shown), shown


@given(instant=instants, actual=st.sampled_from(ZONES), presumed=st.sampled_from(ZONES))
def test_a_row_from_another_zone_is_never_given_a_wrong_name(
    instant: datetime, actual: str, presumed: str
) -> None:
    """Presumed in the clinic's zone but booked in another: the offset the row implies."""
    row = _row(instant, actual)
    shown = localtime.clock_of(row, presumed)
    actual_offset = instant.astimezone(ZoneInfo(actual)).utcoffset()
    presumed_local = instant.astimezone(ZoneInfo(presumed))
    if presumed_local.utcoffset() == actual_offset:
        assert shown == f"{row['appointment_time']} {localtime.abbreviation(presumed_local)}"
    else:
        assert shown == f"{row['appointment_time']} {localtime.offset_label(actual_offset)}"


@given(minutes=st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_offset_labels_read_back_as_their_offset(minutes: int) -> None:
    """UTC, UTC+05:30, UTC-03: sign, hours and (only when there are some) minutes."""
    label = localtime.offset_label(timedelta(minutes=minutes))
    if minutes == 0:
        assert label == "UTC"
        return
    match = re.fullmatch(r"UTC([+-])([0-9]{2})(?::([0-9]{2}))?", label)
    assert match is not None, label
    sign = 1 if match[1] == "+" else -1
    assert sign * (int(match[2]) * 60 + int(match[3] or 0)) == minutes
    assert (match[3] is None) == (minutes % 60 == 0)


def test_the_names_people_know() -> None:
    """New York winter and summer, London, a zone tzdata names by its offset, India."""
    assert localtime.clock(date(2026, 12, 7), time(10, 30), "America/New_York") == "10:30 EST"
    assert localtime.clock(date(2026, 7, 6), time(10, 30), "America/New_York") == "10:30 EDT"
    assert localtime.clock(date(2026, 7, 6), time(9), "Europe/London") == "09:00 BST"
    assert localtime.clock(date(2026, 7, 6), time(9), "Europe/Istanbul") == "09:00 UTC+03"
    assert localtime.clock(date(2026, 7, 6), time(9), "Asia/Kolkata") == "09:00 IST"
    assert localtime.clock(date(2026, 7, 6), time(9), "UTC") == "09:00 UTC"
    # The week the clocks go back in New York (1 November 2026) says both.
    week = [date(2026, 10, 29) + timedelta(days=i) for i in range(7)]
    assert localtime.zone_names(week, "America/New_York") == "EDT/EST"


def test_the_browser_map_names_both_offsets_of_a_zone_with_summer_time() -> None:
    """The map app.js labels live times with: -300 EST, -240 EDT; the clinic's zone first."""
    labels = localtime.offset_labels(["America/New_York", "UTC"], date(2026, 12, 1))
    assert labels == {"-300": "EST", "-240": "EDT", "0": "UTC"}
    assert localtime.offset_labels(["Europe/London", "UTC"], date(2026, 12, 1))["0"] == "GMT"


@settings(max_examples=150)
@given(region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
def test_every_countrys_numbers_are_read_as_dialled_and_kept_international(region: str) -> None:
    """A country's example number, typed the national way in a clinic of that country or
    with its + code anywhere, becomes the same international form, which the schema takes
    and which reads back unchanged (normalising twice changes nothing)."""
    number = phonenumbers.example_number(region)
    if number is None:
        return
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phones.INTERNATIONAL)
    assert phones.normalize(national, region) == international
    for clinic in (None, "US", "GB", region):
        assert phones.normalize(international, clinic) == international
    assert SCHEMA_PHONE.match(international), international
    assert phones.display(international, "US") == international


@pytest.mark.parametrize(
    ("typed", "region", "kept"),
    [
        ("(212) 555-0142", "US", "+1 212-555-0142"),
        ("212.555.0142", "US", "+1 212-555-0142"),
        ("020 7946 0958", "GB", "+44 20 7946 0958"),
        ("030/1234567", "DE", "+49 30 1234567"),
        ("+44 20 7946 0958", "US", "+44 20 7946 0958"),
        ("0044 20 7946 0958", None, "+44 20 7946 0958"),
        ("+1 555 0100", "US", "+1 555 0100"),  # fictional: kept as typed
    ],
)
def test_numbers_typed_the_usual_ways(typed: str, region: str | None, kept: str) -> None:
    """Local forms with the clinic's country, international ones from anywhere."""
    assert phones.normalize(typed, region) == kept


@pytest.mark.parametrize(
    ("typed", "region", "says"),
    [
        ("020 7946 0958", None, "with its country code"),
        ("call me", "US", "Enter a phone number, e.g. +1 201-555-0123"),
        ("1234", "US", "too few or too many digits"),
        ("12", "US", "Enter a phone number"),
        ("+1 212 555 0142 ext. 12", "US", "without an extension"),
    ],
)
def test_numbers_that_cannot_be_called_say_what_to_type(
    typed: str, region: str | None, says: str
) -> None:
    """Each refusal tells the person what to type instead."""
    with pytest.raises(phones.PhoneInvalid, match=re.escape(says)):
        phones.normalize(typed, region)


def test_the_clinics_country_comes_from_its_zone_unless_set() -> None:
    """America/New_York → US, Europe/London → GB, UTC → none; CLINIC_COUNTRY wins."""
    assert phones.country_of_zone("America/New_York") == "US"
    assert phones.country_of_zone("Europe/London") == "GB"
    assert phones.country_of_zone("UTC") is None
    assert phones.clinic_region(make_settings("", clinic_timezone="Europe/Berlin")) == "DE"
    assert phones.clinic_region(make_settings("", clinic_country="IE")) == "IE"
    assert phones.clinic_region(make_settings("")) is None


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("09:00", "09:00"),
        ("9:00", "09:00"),
        ("9.30", "09:30"),
        (" 13.30 ", "13:30"),
        ("23:59", "23:59"),
        ("24:00", "24:00"),  # not a time: left for the model to refuse
        ("9", "9"),
        ("1:3", "1:3"),
    ],
)
def test_typed_times(typed: str, read: str) -> None:
    """The 24-hour text fields read 9:00 and 9.30 as 09:00 and 09:30, nothing else."""
    assert forms.clock_text(typed) == read


@given(hour=st.integers(0, 23), minute=st.integers(0, 59), sep=st.sampled_from([":", "."]))
def test_every_24_hour_time_reads_as_itself(hour: int, minute: int, sep: str) -> None:
    """Both separators, with and without the leading zero."""
    for text in (f"{hour:02d}{sep}{minute:02d}", f"{hour}{sep}{minute:02d}"):
        assert forms.clock_text(text) == f"{hour:02d}:{minute:02d}"
