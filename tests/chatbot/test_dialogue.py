"""The dialogue on the in-memory clinic: live awareness, booking, state (the conversation sets
are in `test_conversation_sets.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from dentalcare.chatbot.dialogue import Dialogue
from dentalcare.chatbot.evaluation import MemoryDriver, load, run_conversation
from dentalcare.chatbot.memory import demo_clinic
from dentalcare.chatbot.ports import PatientDetails
from dentalcare.chatbot.state import ChatState, KnownPatient
from dentalcare.errors import SlotUnavailable

FRIDAY_MORNING = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)


async def test_turns_are_fast() -> None:
    """The median turn over the scripted conversations is far below 50 ms (the bench
    reports p99)."""
    turns = []
    for spec in load(Path(__file__).parents[2] / "bench" / "conversations.jsonl"):
        turns += (await run_conversation(MemoryDriver(FRIDAY_MORNING), spec)).turn_ms
    assert sorted(turns)[len(turns) // 2] < 50


async def _say(dialogue: Dialogue, state: ChatState, text: str) -> ChatState:
    return (await dialogue.respond(state, text, now=FRIDAY_MORNING)).state


def _dialogue(now: datetime = FRIDAY_MORNING) -> tuple[Dialogue, Any]:
    clinic = demo_clinic(lambda: now)
    return Dialogue(clinic=clinic), clinic


async def _to_details(dialogue: Dialogue) -> ChatState:
    state = dialogue.start().state
    for text in ("check-up", "Dr Smith on Monday", "1"):
        state = (await dialogue.respond(state, text, now=FRIDAY_MORNING)).state
    assert state.stage == "details" and state.slot is not None
    return state


async def test_slot_taken_event_tells_the_patient_and_offers_the_nearest() -> None:
    dialogue, clinic = _dialogue()
    state = await _to_details(dialogue)
    chosen = state.slot
    assert chosen is not None
    clinic.lapse_holds()  # the chosen slot is held for the chat: only a lapsed hold frees it
    clinic.take(chosen)
    told, notice = dialogue.slot_taken(
        state, dentist_id=chosen.dentist_id, on=chosen.date, at=chosen.time
    )
    assert notice is not None and "has just been taken" in notice.text
    turn = await dialogue.respond(
        told, "Jane Doe, jane@example.com, 07700 900123", now=FRIDAY_MORNING
    )
    said = " ".join(r.text for r in turn.replies)
    assert "is no longer free" in said and "nearest free times" in said
    assert turn.state.stage == "slot"
    assert chosen.key not in {s.key for s in turn.state.offered}
    assert turn.state.name == "Jane Doe"


async def test_slot_taken_event_is_trusted_even_before_the_clinic_shows_it() -> None:
    dialogue, _ = _dialogue()
    state = await _to_details(dialogue)
    chosen = state.slot
    assert chosen is not None
    told, _ = dialogue.slot_taken(
        state, dentist_id=chosen.dentist_id, on=chosen.date, at=chosen.time
    )
    turn = await dialogue.respond(
        told, "Jane Doe, jane@example.com, 07700 900123", now=FRIDAY_MORNING
    )
    assert turn.state.stage == "slot" and turn.state.slot is None


async def test_slot_taken_event_for_other_slots_changes_nothing() -> None:
    dialogue, _ = _dialogue()
    state = dialogue.start().state
    assert (
        dialogue.slot_taken(state, dentist_id=uuid4(), on=FRIDAY_MORNING.date(), at=time(10))[1]
        is None
    )
    for text in ("check-up", "Dr Smith on Monday"):
        state = (await dialogue.respond(state, text, now=FRIDAY_MORNING)).state
    first = state.offered[0]
    told, notice = dialogue.slot_taken(
        state, dentist_id=first.dentist_id, on=first.date, at=first.time
    )
    assert notice is not None and told.taken
    same, nothing = dialogue.slot_taken(
        state, dentist_id=first.dentist_id, on=first.date, at=time(16, 59)
    )
    assert nothing is None and same is state


async def test_a_taken_offered_slot_is_dropped_from_the_offer() -> None:
    dialogue, clinic = _dialogue()
    state = dialogue.start().state
    for text in ("check-up", "Dr Smith on Monday"):
        state = (await dialogue.respond(state, text, now=FRIDAY_MORNING)).state
    second = state.offered[1]
    clinic.take(second)
    turn = await dialogue.respond(state, "hmm, let me think", now=FRIDAY_MORNING)
    assert "just been taken" in turn.replies[0].text
    assert second not in turn.state.offered and turn.state.stage == "slot"


async def test_never_books_a_slot_that_is_not_free() -> None:
    dialogue, clinic = _dialogue()
    state = await _to_details(dialogue)
    state = await _say(dialogue, state, "Jane Doe, jane@example.com, 07700 900123")
    assert state.stage == "confirm" and state.slot is not None
    clinic.lapse_holds()  # held while the details were given, and the hold ran out
    clinic.take(state.slot)
    turn = await dialogue.respond(state, "yes", now=FRIDAY_MORNING)
    assert turn.appointment is None
    assert turn.state.stage == "slot"
    assert (
        len([a for a in clinic.appointments.values() if a["patient_email"] == "jane@example.com"])
        == 0
    )


async def test_service_refusal_is_handled_gracefully() -> None:
    """Even if the slot looks free to the dialogue, the service's SlotUnavailable is answered."""
    dialogue, clinic = _dialogue()
    state = await _to_details(dialogue)
    state = await _say(dialogue, state, "Jane Doe, jane@example.com, 07700 900123")

    async def refuse(**_: Any) -> dict[str, Any]:
        raise SlotUnavailable("Dr Smith is already booked.", alternatives=[])

    clinic.book = refuse  # type: ignore[method-assign]
    turn = await dialogue.respond(state, "yes", now=FRIDAY_MORNING)
    assert turn.appointment is None
    assert "has just been taken" in " ".join(r.text for r in turn.replies)


async def test_invalid_email_is_asked_again() -> None:
    dialogue, _ = _dialogue()
    state = await _to_details(dialogue)
    state = await _say(dialogue, state, "Jane Doe, jane@localhost, 07700 900123")
    turn = await dialogue.respond(state, "yes", now=FRIDAY_MORNING)
    if turn.state.stage == "details":  # the address was refused on booking
        assert turn.state.email is None
        assert "e-mail" in " ".join(r.text for r in turn.replies)
    else:
        assert state.stage == "details"  # not recognised as an address: still asked for


async def test_booking_carries_complaint_symptoms_and_urgency() -> None:
    dialogue, clinic = _dialogue()
    state = dialogue.start().state
    for text in (
        "I broke my front tooth",
        "it also hurts when I bite",
        "no",  # to the red-flag questions the pain opened
        "1",
        "Jane Doe, jane@example.com, 07700 900123",
        "yes",
    ):
        turn = await dialogue.respond(state, text, now=FRIDAY_MORNING)
        state = turn.state
    assert turn.appointment is not None
    stored = clinic.appointments[turn.appointment["booking_reference"]]
    assert stored["urgency"] == "urgent"
    assert stored["treatment_name"] == "Emergency visit"
    assert stored["chief_complaint"] == "I broke my front tooth"
    assert "broken tooth" in stored["symptoms"]
    assert "it also hurts when I bite" in stored["symptoms"]


async def test_logged_in_patient_is_not_asked_for_details_unless_phone_is_missing() -> None:
    dialogue, _ = _dialogue()
    state = dialogue.start(KnownPatient("Alice Patient", "alice@example.com", None)).state
    assert state.logged_in and state.name == "Alice Patient"
    for text in ("check-up", "Dr Smith on Monday", "1"):
        state = (await dialogue.respond(state, text, now=FRIDAY_MORNING)).state
    assert state.stage == "details" and state.missing_details() == ("phone",)


async def test_state_survives_json() -> None:
    dialogue, _ = _dialogue()
    state = await _to_details(dialogue)
    state.booking = {"booking_reference": "DC-ABC234", "id": "x"}
    again = ChatState.from_json(state.to_json())
    assert again == state
    assert set(state.public()) == {"stage", "collected"}
    assert "internal" not in state.public()


async def test_the_state_passed_in_is_not_changed() -> None:
    dialogue, _ = _dialogue()
    state = dialogue.start().state
    before = state.to_json()
    await dialogue.respond(state, "I need a check-up with Dr Patel tomorrow", now=FRIDAY_MORNING)
    assert state.to_json() == before


async def test_nothing_free_for_weeks_says_so() -> None:
    now = FRIDAY_MORNING
    clinic = demo_clinic(lambda: now)
    for dentist in clinic.dentists_:
        dentist.hours = {}
    dialogue = Dialogue(clinic=clinic)
    state = dialogue.start().state
    state = (await dialogue.respond(state, "check-up", now=now)).state
    turn = await dialogue.respond(state, "anyone", now=now)
    assert "call the clinic" in turn.replies[-1].text
    assert turn.state.stage == "preference" and not turn.state.offered


async def test_urgent_without_slots_in_24_hours_offers_the_earliest() -> None:
    now = FRIDAY_MORNING.replace(hour=18)  # Friday evening: nothing until Monday
    clinic = demo_clinic(lambda: now)
    dialogue = Dialogue(clinic=clinic)
    turn = await dialogue.respond(dialogue.start().state, "I broke my tooth", now=now)
    text = turn.replies[-1].text
    assert "nothing free in the next 24 hours" in text
    assert "emergency number" in text
    assert turn.state.offered and turn.state.offered[0].starts_at > now + timedelta(hours=24)


async def test_memory_clinic_refuses_a_taken_slot() -> None:
    clinic = demo_clinic(lambda: FRIDAY_MORNING)
    slot = (
        await clinic.free_slots(
            dentist_ids=None, start=FRIDAY_MORNING.date(), end=FRIDAY_MORNING.date()
        )
    )[0]
    clinic.take(slot)
    with pytest.raises(SlotUnavailable):
        await clinic.book(
            slot=slot,
            patient=PatientDetails("A", "a@example.com", "123 4567"),
            chief_complaint=None,
            symptoms=None,
            urgency="routine",
        )
