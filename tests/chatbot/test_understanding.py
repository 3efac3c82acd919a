"""Rule-based understanding: intents, personal details, references, dentists, answers."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from dentalcare.chatbot.directory import match_dentists
from dentalcare.chatbot.ports import DentistInfo
from dentalcare.chatbot.understanding import (
    Context,
    Expecting,
    Parse,
    RuleBasedUnderstanding,
    complaint_phrase,
    find_email,
    find_name,
    find_phone,
    find_reference,
    looks_like_gibberish,
)

DIRECTORY = [
    DentistInfo(uuid.uuid4(), name, specialization)
    for name, specialization in (
        ("Dr Sarah Smith", "General Dentistry"),
        ("Dr Raj Patel", "Orthodontics"),
        ("Dr Li Chen", "Pediatric Dentistry"),
        ("Dr Mark Johnson", "Oral Surgery"),
        ("Dr Ana Garcia", "Endodontics"),
    )
]
BY_NAME = {d.name.split()[-1]: d for d in DIRECTORY}


def parse(text: str, expecting: Expecting = "nothing", missing: tuple[str, ...] = ()) -> Parse:
    context = Context(
        today=date(2026, 11, 20), directory=DIRECTORY, expecting=expecting, missing=missing
    )
    return RuleBasedUnderstanding().parse_now(text, context)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want to cancel my appointment", "cancel"),
        ("please cancel booking DC-7K3P9Q", "cancel"),
        ("I can't make it on Tuesday", "cancel"),
        ("I need to reschedule", "reschedule"),
        ("can I move my appointment to Friday?", "reschedule"),
        ("what are your opening hours?", "hours"),
        ("when are you open?", "hours"),
        ("are you open on Saturdays?", "hours"),
        ("which dentists do you have?", "dentists"),
        ("who are your dentists", "dentists"),
        ("help", "help"),
        ("what can you do?", "help"),
        ("start over", "restart"),
        ("book another appointment", "restart"),
        ("cancel", "stop"),
        ("never mind", "stop"),
        ("hello", "greeting"),
        ("thanks!", "thanks"),
        ("I'd like to book an appointment", "book"),
        ("other times please", "other_times"),
        ("none of these work", "other_times"),
    ],
)
def test_intents(text: str, intent: str) -> None:
    assert intent in parse(text).intents


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm Jane Doe", "Jane Doe"),
        ("my name is jane doe", "Jane Doe"),
        ("Hi, this is Tom O'Brien and I need a check-up", "Tom O'Brien"),
        ("call me Sam", "Sam"),
        ("I am Ana-Maria Lopez, email ana@example.com", "Ana-Maria Lopez"),
    ],
)
def test_names(text: str, expected: str) -> None:
    assert find_name(text, expecting_name=False) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I'm in pain",
        "I'm not sure",
        "I am looking for a dentist",
        "I'm free on Tuesday",
        "i'm having toothache",
        "It's been hurting",
    ],
)
def test_not_names(text: str) -> None:
    assert find_name(text, expecting_name=False) is None


def test_bare_names_only_when_asked() -> None:
    assert find_name("Jane Doe", expecting_name=False) is None
    assert find_name("Jane Doe", expecting_name=True) == "Jane Doe"
    assert find_name("jane doe, jane@x.org, 07700 900123", expecting_name=True) == "Jane Doe"
    assert find_name("tomorrow please", expecting_name=True) is None


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("07700 900123", "07700 900123"),
        ("call me on +44 7700 900 123 please", "+44 7700 900 123"),
        ("(555) 123-4567", "(555) 123-4567"),
        ("my number: 555.123.4567", "555.123.4567"),
    ],
)
def test_phones(text: str, phone: str) -> None:
    assert find_phone(text) == phone


@pytest.mark.parametrize("text", ["at 10:30", "2026-12-01", "on 25/11", "DC-7K3P9Q", "call 999"])
def test_not_phones(text: str) -> None:
    assert find_phone(text) is None


def test_emails_and_references() -> None:
    assert find_email("it's Jane.Doe+dc@Example.co.uk.") == "jane.doe+dc@example.co.uk"
    assert find_email("no address here") is None
    assert find_reference("my reference is dc-7k3p9q") == "DC-7K3P9Q"
    assert find_reference("DC 7K3P9QX") == "DC-7K3P9QX"
    assert find_reference("DC-MEM100001") == "DC-MEM100001"
    assert find_reference("dc comics rock") is None


@pytest.mark.parametrize(
    ("text", "surname"),
    [
        ("Dr Patel", "Patel"),
        ("patel please", "Patel"),
        ("make it Dr Patal", "Patel"),
        ("can I see doctor smith", "Smith"),
        ("Sarah Smith if possible", "Smith"),
        ("the orthodontist", "Patel"),
        ("my kids need a children's dentist", "Chen"),
        ("an oral surgeon for my wisdom tooth", "Johnson"),
        ("I was told I need an endodontist", "Garcia"),
    ],
)
def test_dentists(text: str, surname: str) -> None:
    found = match_dentists(text, DIRECTORY)
    assert found is not None
    assert found.dentists == (BY_NAME[surname],)


def test_anyone_and_missing_specialty() -> None:
    anyone = match_dentists("anyone is fine", DIRECTORY)
    assert anyone is not None and anyone.anyone and anyone.label == "any dentist"
    hygienist = match_dentists("a hygienist please", DIRECTORY)
    assert hygienist is not None and hygienist.dentists == () and hygienist.specialty
    assert match_dentists("next tuesday afternoon", DIRECTORY) is None
    assert match_dentists("I have toothache with a bad ache", DIRECTORY) is None


def test_own_name_is_not_a_dentist() -> None:
    found = parse("I'm Jane Chen", expecting="details", missing=("name",))
    assert found.name == "Jane Chen" and found.dentist is None
    titled = parse("Dr Chen", expecting="details", missing=("name",))
    assert titled.dentist is not None and titled.dentist.dentists == (BY_NAME["Chen"],)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", True),
        ("Yes please", True),
        ("ok", True),
        ("sounds good", True),
        ("confirm", True),
        ("no", False),
        ("nope", False),
        ("not really", False),
        ("maybe", None),
        ("Tuesday", None),
    ],
)
def test_answers(text: str, answer: bool | None) -> None:
    assert parse(text, expecting="confirm").answer is answer


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("2", 2),
        ("the second one", 2),
        ("option 3", 3),
        ("first", 1),
        ("the last one", -1),
        ("#4", 4),
        ("slot 5", 5),
    ],
)
def test_choices(text: str, choice: int) -> None:
    assert parse(text, expecting="slot").choice == choice


def test_first_available_is_not_a_choice() -> None:
    found = parse("first available", expecting="slot")
    assert found.choice is None and found.when is not None and found.when.asap


def test_everything_at_once() -> None:
    found = parse(
        "Hi, I'm Jane Doe (jane@example.com, 07700 900123). I'd like a check-up with "
        "Dr Patel next Tuesday afternoon"
    )
    assert found.name == "Jane Doe"
    assert found.email == "jane@example.com"
    assert found.phone == "07700 900123"
    assert found.dentist is not None and found.dentist.dentists == (BY_NAME["Patel"],)
    assert found.when is not None and found.when.start == date(2026, 11, 24)
    assert found.complaint == "check-up"  # the when and the who are not the reason


def test_complaint_phrase_keeps_only_the_problem() -> None:
    assert complaint_phrase("Hello, my tooth hurts. jane@example.com") == "my tooth hurts"
    assert complaint_phrase("next tuesday please") is None


@pytest.mark.parametrize("text", ["asdfghjkl", "qwrtzp xcvbnm", "jjjjjjj kkkkk", "!!!???"])
def test_gibberish(text: str) -> None:
    assert looks_like_gibberish(text)
    assert parse(text).gibberish


@pytest.mark.parametrize("text", ["what's the weather like", "blah", "I like turtles"])
def test_unrelated_but_not_gibberish(text: str) -> None:
    found = parse(text)
    assert not found.gibberish
    assert not found.has_booking_info and not found.intents
