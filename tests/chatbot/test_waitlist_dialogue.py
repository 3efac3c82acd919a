"""The waitlist in the dialogue on the in-memory clinic: the wordings patients use to ask
for it, accept it or turn it down, and what an entry covers (the database conversations
are in `test_chat_waitlist.py`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from dentalcare.chatbot.dialogue import Dialogue
from dentalcare.chatbot.memory import MemoryClinic, demo_clinic
from dentalcare.chatbot.state import ChatState, KnownPatient, Turn
from dentalcare.chatbot.waitlisting import date_range, times_of_day
from dentalcare.chatbot.when import When

FRIDAY_MORNING = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)
DETAILS = "Jane Doe, jane@example.com, 07700 900123"


async def _talk(*lines: str, patient: KnownPatient | None = None) -> tuple[Turn, MemoryClinic]:
    clinic = demo_clinic(lambda: FRIDAY_MORNING)
    dialogue = Dialogue(clinic=clinic)
    turn = dialogue.start(patient)
    for line in lines:
        turn = await dialogue.respond(turn.state, line, now=FRIDAY_MORNING)
    return turn, clinic


def _said(turn: Turn) -> str:
    return " ".join(r.text for r in turn.replies)


# The demo dentists work Monday to Friday: a Saturday has nothing free.
NOTHING_ON_SATURDAY = ("I need a check-up", "Dr Smith on Saturday")


async def test_nothing_free_offers_the_waitlist_beside_the_nearest_times() -> None:
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY)
    assert turn.state.stage == "slot" and turn.state.offered
    assert "nothing free" in _said(turn)
    assert "put you on the waitlist and tell you by e-mail if something earlier frees up" in (
        _said(turn)
    )
    assert "yes, put me on the waitlist" in [q.value for q in turn.replies[-1].quick_replies]
    assert clinic.waitlist == []


@pytest.mark.parametrize(
    "yes",
    [
        "yeah go ahead",
        "sure, do that",
        "yes please",
        "ok",
        "please do",
        "yes, put me on the waitlist",
    ],
)
async def test_yes_in_a_patients_words_joins(yes: str) -> None:
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, yes, DETAILS)
    assert turn.state.stage == "waitlisted", _said(turn)
    (entry,) = clinic.waitlist
    assert entry["treatment_name"] == "Check-up"
    assert (entry["earliest_date"], entry["latest_date"]) == ("2026-11-21", "2026-11-21")


@pytest.mark.parametrize("no", ["nah I'm fine", "no thanks", "nope", "no, I'll take one of those"])
async def test_no_in_a_patients_words_carries_on(no: str) -> None:
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, no)
    assert turn.state.stage == "slot" and turn.state.offered
    assert clinic.waitlist == []
    again, clinic = await _talk(*NOTHING_ON_SATURDAY, no, "other times")
    assert "waitlist" not in _said(again)  # turned down once: not offered again


async def test_a_change_of_mind_while_giving_details_registers_nothing() -> None:
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, "yes", "nah, not now")
    assert turn.state.stage == "preference" and turn.state.waitlist is None
    assert "No problem" in _said(turn)
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, "yes", "nah, not now", "Monday")
    assert turn.state.stage == "slot" and clinic.waitlist == []


async def test_asked_for_beside_the_answer_to_the_red_flag_question() -> None:
    turn, clinic = await _talk(
        "my tooth hurts", "no, none of those, just put me on the waiting list", "anyone", DETAILS
    )
    assert turn.state.stage == "waitlisted", _said(turn)
    assert len(clinic.waitlist) == 1


async def test_no_with_another_day_looks_at_that_day() -> None:
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, "no, but Monday would do")
    assert turn.state.stage == "slot"
    assert {s.date for s in turn.state.offered} == {date(2026, 11, 23)}
    assert clinic.waitlist == []


@pytest.mark.parametrize(
    "ask",
    [
        "can you put me on the waiting list",
        "let me know if anything earlier comes up",
        "add me to the cancellation list",
        "notify me if a slot opens",
        "could you tell me if something earlier frees up?",
    ],
)
async def test_asking_for_it_while_times_are_offered(ask: str) -> None:
    turn, clinic = await _talk("I need a check-up", "anyone next week", ask)
    assert turn.state.stage == "details", _said(turn)
    assert turn.state.offered == [] and turn.state.mode == "book"
    done, clinic = await _talk("I need a check-up", "anyone next week", ask, DETAILS)
    assert done.state.stage == "waitlisted"
    (entry,) = clinic.waitlist
    assert entry["dentist_id"] is None
    assert (entry["earliest_date"], entry["latest_date"]) == ("2026-11-23", "2026-11-29")


async def test_asking_first_thing_asks_what_for_and_when() -> None:
    turn, _ = await _talk("can you put me on the waiting list")
    assert turn.state.stage == "complaint"
    turn, _ = await _talk("can you put me on the waiting list", "a check-up")
    assert turn.state.stage == "preference"
    turn, clinic = await _talk(
        "can you put me on the waiting list", "a check-up", "afternoons", DETAILS
    )
    assert turn.state.stage == "waitlisted"
    (entry,) = clinic.waitlist
    assert entry["times"] == ["afternoon"]
    assert (entry["earliest_date"], entry["latest_date"]) == ("2026-11-20", "2026-12-18")


async def test_a_logged_in_patient_gives_no_details() -> None:
    alice = KnownPatient("Alice Patient", "alice@example.com", "+1 555 0101")
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, "yes", patient=alice)
    assert turn.state.stage == "waitlisted"
    assert "alice@example.com" in _said(turn)
    assert clinic.waitlist[0]["patient_email"] == "alice@example.com"


async def test_a_logged_in_patient_without_a_phone_is_asked_for_one() -> None:
    bob = KnownPatient("Bob Patient", "bob@example.com", None)
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, "yes", patient=bob)
    assert turn.state.stage == "details" and "phone" in _said(turn)
    turn, clinic = await _talk(*NOTHING_ON_SATURDAY, "yes", "07700 900123", patient=bob)
    assert turn.state.stage == "waitlisted"


async def test_an_emergency_is_advised_not_waitlisted() -> None:
    turn, clinic = await _talk(
        "I need a check-up",
        "Dr Smith on Saturday",
        "actually my face is swelling up and I can't breathe properly",
        "yes put me on the waitlist",
    )
    assert turn.state.stage == "emergency"
    assert "emergency" in _said(turn)
    assert clinic.waitlist == [] and turn.state.waitlist is None


async def test_something_urgent_is_offered_the_earliest_times_instead() -> None:
    turn, clinic = await _talk(
        "I have a really bad toothache and my gum is swollen, put me on the waiting list",
        "no",
    )
    state: ChatState = turn.state
    assert state.urgency == "urgent", _said(turn)
    assert state.stage == "slot" and state.offered
    assert "rather not leave you waiting on a list" in _said(turn)
    assert clinic.waitlist == []


@pytest.mark.parametrize(
    ("wish", "times"),
    [
        (When(), ("morning", "afternoon", "evening")),
        (When(before=time(12)), ("morning",)),
        (When(after=time(12), before=time(17)), ("afternoon",)),
        (When(after=time(17)), ("evening",)),
        (When(after=time(15), before=time(18)), ("afternoon", "evening")),
        (When(at=time(9, 30)), ("morning",)),
        (When(at=time(17)), ("evening",)),
    ],
)
def test_a_wished_time_becomes_the_waitlists_times_of_day(
    wish: When, times: tuple[str, ...]
) -> None:
    assert times_of_day(wish) == times


@pytest.mark.parametrize(
    ("wish", "expected"),
    [
        (When(), (date(2026, 11, 20), date(2026, 12, 18))),
        (When(start=date(2026, 11, 24), end=date(2026, 11, 24)), (date(2026, 11, 24),) * 2),
        (When(start=date(2026, 12, 1)), (date(2026, 12, 1), date(2026, 12, 29))),
        (When(end=date(2026, 11, 27)), (date(2026, 11, 20), date(2026, 11, 27))),
        (When(start=date(2026, 11, 2), end=date(2026, 11, 22)), (date(2026, 11, 20),
         date(2026, 11, 22))),
    ],
)  # fmt: skip
def test_the_dates_asked_about_else_four_weeks(wish: When, expected: tuple[date, date]) -> None:
    assert date_range(wish, today=date(2026, 11, 20)) == expected
