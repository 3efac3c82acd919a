"""Whose slots are offered and how: treatments and suitable dentists, spread, zones, removed
and unknown dentists, a knocked-out tooth with nothing free today, clinic facts."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dentalcare.chatbot import treatments
from dentalcare.chatbot.dialogue import Dialogue
from dentalcare.chatbot.memory import MemoryClinic, demo_clinic
from dentalcare.chatbot.ports import ClinicFacts, DentistInfo
from dentalcare.chatbot.state import ChatState, Turn

FRIDAY_MORNING = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)
DETAILS = "Jane Doe, jane@example.com, 07700 900123"


def _clinic(now: datetime = FRIDAY_MORNING) -> MemoryClinic:
    return demo_clinic(lambda: now, days=range(7))


async def _talk(dialogue: Dialogue, *texts: str, now: datetime = FRIDAY_MORNING) -> Turn:
    state: ChatState = dialogue.start().state
    turn = Turn(state)
    for text in texts:
        turn = await dialogue.respond(turn.state, text, now=now)
    return turn


def _said(turn: Turn) -> str:
    return "\n".join(r.text for r in turn.replies)


def _names(turn: Turn) -> set[str]:
    return {s.dentist_name for s in turn.state.offered}


DIRECTORY = [
    DentistInfo(d.info.id, d.info.name, d.info.specialization) for d in _clinic().dentists_
]
BY = {d.name.split()[-1]: d for d in DIRECTORY}


@pytest.mark.parametrize(
    ("kind", "child", "who"),
    [
        ("Check-up", False, {"Smith"}),
        ("Child check-up", True, {"Chen"}),
        ("Filling", True, {"Chen"}),
        ("Orthodontic consultation", True, {"Patel"}),
        ("Root canal", False, {"Garcia", "Smith"}),
        ("Extraction", False, {"Johnson", "Smith"}),
        ("Wisdom tooth removal", False, {"Johnson"}),
        ("Emergency visit", False, {"Smith", "Patel", "Johnson", "Garcia"}),
        ("Emergency visit", True, {"Chen", "Smith"}),
        ("Whitening", False, {"Smith"}),
    ],
)
def test_suitable_dentists(kind: str, child: bool, who: set[str]) -> None:
    found = treatments.suitable(DIRECTORY, kind, child=child)
    assert {d.name.split()[-1] for d in found} == who


def test_a_kind_nobody_performs_falls_back() -> None:
    generalists = [BY["Smith"], BY["Chen"]]
    assert treatments.suitable(generalists, "Wisdom tooth removal", child=False) == [BY["Smith"]]
    assert treatments.suitable([BY["Patel"]], "Check-up", child=False) == [BY["Patel"]]


async def test_an_adult_emergency_is_spread_across_dentists_and_never_the_childrens() -> None:
    turn = await _talk(Dialogue(clinic=_clinic()), "I broke my front tooth")
    assert turn.state.stage == "slot" and turn.state.treatment == "Emergency visit"
    names = _names(turn)
    assert len(names) >= 3 and "Dr Li Chen" not in names
    starts = [s.starts_at for s in turn.state.offered]
    assert starts == sorted(starts)


async def test_a_named_dentist_who_does_not_do_the_treatment_is_said_so() -> None:
    turn = await _talk(Dialogue(clinic=_clinic()), "a check-up with Dr Patel")
    assert "Dr Raj Patel (Orthodontics) doesn't do a check-up" in _said(turn)
    assert _names(turn) == {"Dr Sarah Smith"}


async def test_an_unknown_dentist_is_said_so() -> None:
    turn = await _talk(Dialogue(clinic=_clinic()), "a cleaning with Dr Williams please")
    assert "I can't find Dr Williams among our dentists" in _said(turn)
    assert turn.state.stage == "slot" and _names(turn) == {"Dr Sarah Smith"}


async def test_a_dentist_removed_mid_conversation_is_said_so() -> None:
    clinic = _clinic()
    dialogue = Dialogue(clinic=clinic)
    turn = await _talk(dialogue, "root canal with Dr Garcia")
    assert _names(turn) == {"Dr Ana Garcia"}
    clinic.dentists_ = [d for d in clinic.dentists_ if d.info.name != "Dr Ana Garcia"]
    turn = await dialogue.respond(turn.state, "monday please", now=FRIDAY_MORNING)
    assert "Dr Ana Garcia is no longer taking bookings" in _said(turn)
    assert _names(turn) == {"Dr Sarah Smith"}


async def test_times_carry_their_zone_when_zones_differ_and_are_in_true_order() -> None:
    clinic = _clinic()
    clinic.timezone = ZoneInfo("Europe/London")
    for dentist in clinic.dentists_:
        if dentist.info.name == "Dr Mark Johnson":
            dentist.timezone = ZoneInfo("America/New_York")
    dialogue = Dialogue(clinic=clinic, timezone=ZoneInfo("Europe/London"))
    turn = await _talk(dialogue, "I broke my front tooth")
    offered = turn.state.offered
    assert any(s.dentist_name == "Dr Mark Johnson" for s in offered)
    assert [s.starts_at for s in offered] == sorted(s.starts_at for s in offered)
    text = turn.replies[-1].text
    assert "EST · Dr Mark Johnson" in text and "GMT · Dr Sarah Smith" in text
    assert "own time zone" in text
    # the quick replies say the zone too, and picking one picks that slot
    first = offered[0]
    choice = turn.replies[-1].quick_replies[0].value
    turn = await dialogue.respond(turn.state, choice, now=FRIDAY_MORNING)
    assert turn.state.slot == first


async def test_one_zone_for_all_is_not_labelled() -> None:
    turn = await _talk(Dialogue(clinic=_clinic()), "I broke my front tooth")
    assert "UTC" not in turn.replies[-1].text and "own time zone" not in turn.replies[-1].text


async def test_a_knocked_out_adult_tooth_gets_todays_earliest_slot() -> None:
    turn = await _talk(Dialogue(clinic=_clinic()), "my front tooth got knocked out", "no")
    assert turn.state.stage == "slot" and turn.state.urgency == "urgent"
    assert {s.date for s in turn.state.offered} == {FRIDAY_MORNING.date()}
    assert turn.state.offered[0].starts_at == min(s.starts_at for s in turn.state.offered)


async def test_a_knocked_out_adult_tooth_with_nothing_today_is_an_emergency() -> None:
    late = datetime(2026, 11, 20, 16, 50, tzinfo=UTC)  # nothing left today
    dialogue = Dialogue(clinic=_clinic(late))
    first = await _talk(dialogue, "my front tooth got knocked out", now=late)
    assert "milk" in _said(first) and first.state.stage == "screen"
    turn = await dialogue.respond(first.state, "no", now=late)
    assert turn.state.stage == "emergency" and turn.state.urgency == "emergency"
    assert not turn.state.offered and "no appointment free today" in _said(turn)
    again = await dialogue.respond(turn.state, "ok what about tomorrow morning", now=late)
    assert again.state.stage == "emergency" and not again.state.offered


async def test_a_baby_tooth_is_not_put_back_and_waits_up_to_a_day() -> None:
    dialogue = Dialogue(clinic=_clinic())
    first = await _talk(dialogue, "my 3 year old knocked out a baby tooth")
    said = _said(first)
    assert "Don't try to put a baby" in said and "push it back" not in said
    turn = await dialogue.respond(first.state, "no", now=FRIDAY_MORNING)
    assert turn.state.stage == "slot" and _names(turn) <= {"Dr Li Chen", "Dr Sarah Smith"}


async def test_the_treatment_reaches_the_booking_and_the_reason_is_the_complaint() -> None:
    clinic = _clinic()
    turn = await _talk(
        Dialogue(clinic=clinic),
        "Hi, I'd like to book a teeth cleaning next Tuesday morning please",
        "1",
        DETAILS,
        "yes",
    )
    assert turn.appointment is not None
    stored = clinic.appointments[turn.appointment["booking_reference"]]
    assert stored["treatment_name"] == "Scale & polish"
    assert stored["chief_complaint"] == "teeth cleaning"
    assert turn.state.public()["collected"]["treatment"] == "Scale & polish"


async def test_questions_mid_booking_are_answered_and_the_booking_carries_on() -> None:
    dialogue = Dialogue(clinic=_clinic())
    turn = await _talk(dialogue, "I need a filling", "next wednesday")
    assert turn.state.stage == "slot"
    offered = list(turn.state.offered)
    for question, answer in (
        ("how much will that cost?", "Filling: from £75"),
        ("where are you?", "1 Example Street, London"),
        ("do you see children?", "Dr Li Chen is our children's dentist"),
        ("what are your opening hours?", "We're open"),
    ):
        turn = await dialogue.respond(turn.state, question, now=FRIDAY_MORNING)
        assert answer in _said(turn), question
        assert turn.state.stage == "slot" and turn.state.offered == offered
        assert turn.state.complaint == "filling"


async def test_a_clinic_without_published_facts_sends_the_patient_to_it() -> None:
    clinic = _clinic()
    clinic.facts = ClinicFacts(name="Smile Clinic", phone="+1 555 0123")
    turn = await _talk(Dialogue(clinic=clinic), "how much is a check-up?")
    assert "call Smile Clinic on +1 555 0123" in _said(turn)
    assert turn.state.complaint is None and turn.state.suggested == "Check-up"
    turn = await _talk(Dialogue(clinic=clinic), "where are you?")
    assert "don't have the address" in _said(turn)


async def test_the_same_message_is_never_sent_twice_in_a_row() -> None:
    dialogue = Dialogue(clinic=_clinic())
    turn = await _talk(dialogue, "check-up")
    finals = []
    for _ in range(6):
        turn = await dialogue.respond(turn.state, "hmm", now=FRIDAY_MORNING)
        finals.append(turn.replies[-1].text)
    assert all(a != b for a, b in zip(finals, finals[1:], strict=False))
    assert any("020 7946 0000" in text for text in finals)  # a way to a person
    assert turn.state.stage == "preference"


def test_time_zone_label_falls_back_to_the_offset() -> None:
    from dentalcare.chatbot.ports import OfferedSlot
    from dentalcare.chatbot.replies import zone_label

    slot = OfferedSlot(
        BY["Smith"].id,
        "Dr Sarah Smith",
        FRIDAY_MORNING.date(),
        time(10),
        FRIDAY_MORNING.replace(hour=10),
        "Not/AZone",
    )
    assert zone_label(slot) == "UTC+0000"
