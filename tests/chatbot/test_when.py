"""Natural-language dates and times as a preference; durations and the past are not dates."""

from __future__ import annotations

from datetime import date, time

import pytest

from dentalcare.chatbot.when import When, extract_when

TODAY = date(2026, 11, 20)  # a Friday
MON, TUE, WED, THU = (date(2026, 11, d) for d in (23, 24, 25, 26))


def when(text: str, today: date = TODAY) -> When | None:
    return extract_when(text, today=today)


@pytest.mark.parametrize(
    ("text", "start", "end", "after", "before", "at"),
    [
        ("next Tuesday afternoon", TUE, TUE, time(12), time(17), None),
        ("tomorrow at 3pm", date(2026, 11, 21), date(2026, 11, 21), None, None, time(15)),
        ("actually Wednesday", WED, WED, None, None, None),
        ("can I come on Monday?", MON, MON, None, None, None),
        ("thursday morning please", THU, THU, None, time(12), None),
        ("between 2 and 4 on thursday", THU, THU, time(14), time(16), None),
        ("I am free on the 25th", WED, WED, None, None, None),
        ("25/11 at 9am", WED, WED, None, None, time(9)),
        ("dec 2nd", date(2026, 12, 2), date(2026, 12, 2), None, None, None),
        (
            "2nd of December at 10:30",
            date(2026, 12, 2),
            date(2026, 12, 2),
            None,
            None,
            time(10, 30),
        ),
        ("2026-12-01", date(2026, 12, 1), date(2026, 12, 1), None, None, None),
        ("in 2 weeks", date(2026, 12, 4), date(2026, 12, 4), None, None, None),
        ("at noon tomorrow", date(2026, 11, 21), date(2026, 11, 21), None, None, time(12)),
        ("tonight", TODAY, TODAY, time(17), None, None),
        ("Friday 10am", date(2026, 11, 27), date(2026, 11, 27), None, None, time(10)),
        ("next week", MON, date(2026, 11, 29), None, None, None),
        ("this weekend", date(2026, 11, 21), date(2026, 11, 22), None, None, None),
        ("before friday", TODAY, date(2026, 11, 26), None, None, None),
        ("after tuesday", WED, None, None, None, None),
        (
            "it broke yesterday, can I come tomorrow morning?",
            date(2026, 11, 21),
            date(2026, 11, 21),
            None,
            time(12),
            None,
        ),
        ("it has hurt for 3 days, could I come on Monday", MON, MON, None, None, None),
    ],
)
def test_dates_and_times(
    text: str,
    start: date | None,
    end: date | None,
    after: time | None,
    before: time | None,
    at: time | None,
) -> None:
    found = when(text)
    assert found is not None
    assert (found.start, found.end, found.after, found.before, found.at) == (
        start,
        end,
        after,
        before,
        at,
    )


@pytest.mark.parametrize(
    "text",
    [
        "it has hurt for 3 days",
        "I've had pain for about a week",
        "it started 2 days ago",
        "since Monday it hurts",
        "it's been aching for the past two weeks",
        "I broke it last Tuesday",
        "I'm Jane Doe",
        "my number is 07700 900123",
        "email jane@example.com",
        "DC-7K3P9Q",
        "I need a check-up",
        "I am in pain",
    ],
)
def test_not_a_wish(text: str) -> None:
    assert when(text) is None


def test_asap() -> None:
    for text in ("as soon as possible", "ASAP please", "the earliest you have", "first available"):
        found = when(text)
        assert found is not None and found.asap, text


def test_weekdays_and_time_window() -> None:
    found = when("after 5 on weekdays")
    assert found is not None
    assert found.weekdays == (0, 1, 2, 3, 4)
    assert found.after == time(17)


def test_weekday_sets() -> None:
    assert (found := when("tuesdays after 4pm")) and found.weekdays == (1,)
    assert found.after == time(16)
    assert (found := when("weekends only")) and found.weekdays == (5, 6)
    found = when("monday or wednesday morning")
    assert found and (found.start, found.end, found.weekdays) == (MON, WED, (0, 2))


def test_flexible() -> None:
    for text in ("any time is fine", "whenever", "I don't mind", "no preference"):
        found = when(text)
        assert found is not None and found.flexible, text


def test_bare_hours_mean_the_afternoon_and_am_pm_is_respected() -> None:
    assert (found := when("around 3")) and found.at == time(15)
    assert (found := when("at 11")) and found.at == time(11)
    assert (found := when("after 7am")) and found.after == time(7)


def test_todays_own_date_is_today_not_next_year() -> None:
    found = when("Tue 24 Nov 10:30 with Dr Raj Patel", today=TUE)
    assert found and found.start == TUE and found.at == time(10, 30)


def test_the_nth_late_in_a_month_is_next_month() -> None:
    assert (found := when("the 3rd")) and found.start == date(2026, 12, 3)


def test_corrections_replace_only_the_part_given() -> None:
    first = when("next Tuesday afternoon")
    assert first is not None
    wednesday = when("actually Wednesday")
    assert wednesday is not None
    merged = first.merged(wednesday)
    assert (merged.start, merged.after, merged.before) == (WED, time(12), time(17))
    at_ten = when("at 10")
    assert at_ten is not None
    merged = merged.merged(at_ten)
    assert (merged.start, merged.after, merged.at) == (WED, None, time(10))


def test_admits() -> None:
    wish = When(start=MON, end=WED, weekdays=(0, 2), after=time(12), before=time(17))
    assert wish.admits(MON, time(12))
    assert not wish.admits(TUE, time(13))
    assert not wish.admits(WED, time(17))
    assert not wish.admits(THU, time(13))


def test_json_round_trip_and_description() -> None:
    wish = When(start=TUE, end=TUE, after=time(17), weekdays=(1,), asap=False)
    assert When.from_json(wish.to_json()) == wish
    assert wish.describe() == "Tuesday 24 November, after 17:00"
    assert When().describe() == "any time"
    assert When.from_json(None) == When()
