"""Holds in the in-memory clinic (the holds service's rules) and in the dialogue on it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dentalcare.chatbot.dialogue import Dialogue
from dentalcare.chatbot.memory import MemoryClinic, demo_clinic
from dentalcare.chatbot.ports import HeldSlot, OfferedSlot, PatientDetails
from dentalcare.chatbot.state import ChatState
from dentalcare.errors import SlotUnavailable

FRIDAY_MORNING = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)
DETAILS = "Jane Doe, jane@example.com, 07700 900123"
JANE = PatientDetails("Jane Doe", "jane@example.com", "07700 900123")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = FRIDAY_MORNING

    def __call__(self) -> datetime:
        return self.now


async def _monday(clinic: MemoryClinic) -> list[OfferedSlot]:
    monday = FRIDAY_MORNING.date() + timedelta(days=3)
    smith = clinic.dentists_[0].info.id
    return await clinic.free_slots(dentist_ids=[smith], start=monday, end=monday)


async def _book(clinic: MemoryClinic, slot: OfferedSlot, hold: HeldSlot | None) -> dict[str, str]:
    return await clinic.book(
        slot=slot, patient=JANE, chief_complaint=None, symptoms=None, urgency="routine", hold=hold
    )


# ------------------------------------------------------------------ the port


async def test_a_held_slot_is_busy_to_everyone_but_its_holder() -> None:
    clock = Clock()
    clinic = demo_clinic(clock)
    slot = (await _monday(clinic))[0]
    hold = await clinic.hold(slot=slot, treatment_name="Check-up", previous=None)
    assert hold.token and hold.slot_key == "|".join(slot.key)
    assert hold.expires_at == FRIDAY_MORNING + timedelta(minutes=5)
    assert slot not in await _monday(clinic)
    smith = slot.dentist_id
    own = await clinic.free_slots(
        dentist_ids=[smith], start=slot.date, end=slot.date, ignore_hold=hold
    )
    assert slot in own
    with pytest.raises(SlotUnavailable):
        clinic.take(slot)
    with pytest.raises(SlotUnavailable):  # another guest's hold
        await clinic.hold(slot=slot, treatment_name=None, previous=None)
    with pytest.raises(SlotUnavailable):  # booked without the hold: it is not free
        await _book(clinic, slot, None)
    assert len(clinic.live_holds()) == 1


async def test_one_hold_per_caller_and_only_the_holder_releases_it() -> None:
    clinic = demo_clinic(Clock())
    first, second = (await _monday(clinic))[:2]
    held = await clinic.hold(slot=first, treatment_name=None, previous=None)
    moved = await clinic.hold(slot=second, treatment_name=None, previous=held)
    assert list(clinic.live_holds()) == [moved.hold_id]
    assert first in await _monday(clinic)
    await clinic.release(hold=HeldSlot(moved.hold_id, moved.slot_key, moved.expires_at))
    assert list(clinic.live_holds()) == [moved.hold_id]  # no token: not theirs
    await clinic.release(hold=moved)
    await clinic.release(hold=moved)  # gone already: nothing happens
    assert clinic.live_holds() == {} and second in await _monday(clinic)


async def test_a_logged_in_callers_hold_is_theirs_without_a_token() -> None:
    clinic = demo_clinic(Clock())
    clinic.caller_email = "alice@example.com"
    first, second = (await _monday(clinic))[:2]
    await clinic.hold(slot=first, treatment_name=None, previous=None)
    held = await clinic.hold(slot=second, treatment_name=None, previous=None)
    assert held.token is None and list(clinic.live_holds()) == [held.hold_id]


async def test_booking_converts_the_hold_and_a_lapsed_one_is_booked_without() -> None:
    clock = Clock()
    clinic = demo_clinic(clock)
    first, second = (await _monday(clinic))[:2]
    hold = await clinic.hold(slot=first, treatment_name=None, previous=None)
    assert (await _book(clinic, first, hold))["appointment_time"] == f"{first.time:%H:%M}"
    assert clinic.holds.by_id == {}

    lapsing = await clinic.hold(slot=second, treatment_name=None, previous=None)
    clock.now += timedelta(minutes=5)
    assert second in await _monday(clinic)  # lapsed: busy to nobody
    assert (await _book(clinic, second, lapsing))["appointment_time"] == f"{second.time:%H:%M}"


async def test_a_lapsed_hold_lets_someone_else_take_the_slot() -> None:
    clinic = demo_clinic(Clock())
    slot = (await _monday(clinic))[0]
    hold = await clinic.hold(slot=slot, treatment_name=None, previous=None)
    clinic.lapse_holds()
    clinic.take(slot)
    with pytest.raises(SlotUnavailable):
        await _book(clinic, slot, hold)


# ------------------------------------------------------------------ the dialogue


def _dialogue() -> tuple[Dialogue, MemoryClinic]:
    clinic = demo_clinic(lambda: FRIDAY_MORNING)
    return Dialogue(clinic=clinic), clinic


async def _say(dialogue: Dialogue, state: ChatState, text: str) -> ChatState:
    return (await dialogue.respond(state, text, now=FRIDAY_MORNING)).state


async def _offered(dialogue: Dialogue) -> ChatState:
    state = dialogue.start().state
    for text in ("check-up", "Dr Smith on Monday"):
        state = await _say(dialogue, state, text)
    assert state.stage == "slot" and len(state.offered) >= 3
    return state


async def test_picking_a_slot_holds_it_and_the_token_stays_server_side() -> None:
    dialogue, clinic = _dialogue()
    state = await _offered(dialogue)
    assert clinic.holds.by_id == {}  # offering holds nothing
    turn = await dialogue.respond(state, "1", now=FRIDAY_MORNING)
    state = turn.state
    assert state.stage == "details" and state.slot == state.offered[0]
    assert state.hold is not None and state.hold.token
    assert list(clinic.live_holds()) == [state.hold.hold_id]
    assert state.offered[0] not in await _monday(clinic)
    token = state.hold.token
    assert token not in json.dumps(state.public())
    assert all(token not in reply.text for reply in turn.replies)
    again = ChatState.from_json(json.loads(json.dumps(state.to_json())))
    assert again.hold == state.hold
    # States stored before holds existed still load, with no hold.
    old = state.to_json()
    del old["internal"]["hold"]
    assert ChatState.from_json(old).hold is None


async def test_its_own_hold_is_not_taken_by_someone_else() -> None:
    dialogue, clinic = _dialogue()
    state = await _say(dialogue, await _offered(dialogue), "1")
    turn = await dialogue.respond(state, DETAILS, now=FRIDAY_MORNING)
    said = " ".join(r.text for r in turn.replies)
    assert turn.state.stage == "confirm" and "taken" not in said
    done = await dialogue.respond(turn.state, "yes", now=FRIDAY_MORNING)
    assert done.appointment is not None and done.state.hold is None
    assert clinic.holds.by_id == {}


async def test_a_slot_held_by_someone_else_meanwhile_is_a_lost_slot() -> None:
    dialogue, clinic = _dialogue()
    state = await _offered(dialogue)
    wanted = state.offered[0]
    await clinic.hold(slot=wanted, treatment_name=None, previous=None)  # another page
    turn = await dialogue.respond(state, "1", now=FRIDAY_MORNING)
    said = " ".join(r.text for r in turn.replies)
    assert "just been taken" in said and turn.state.stage == "slot"
    assert turn.state.slot is None and turn.state.hold is None
    assert wanted not in turn.state.offered and len(clinic.live_holds()) == 1


async def test_another_slot_moves_the_hold_and_another_day_releases_it() -> None:
    dialogue, clinic = _dialogue()
    state = await _say(dialogue, await _offered(dialogue), "1")
    first = state.hold
    second = next(s for s in state.offered[1:] if s.time != state.offered[0].time)
    state = await _say(dialogue, state, f"actually {second.time:%H:%M}")
    assert state.slot == second and state.hold is not None
    assert state.hold.slot_key == "|".join(second.key) and first is not None
    assert list(clinic.live_holds()) == [state.hold.hold_id]
    state = await _say(dialogue, state, "hmm, can we do Tuesday instead?")
    assert state.slot is None and state.hold is None and clinic.holds.by_id == {}


@pytest.mark.parametrize(
    "text", ["wait my face is swelling up to my eye", "stop", "I want to cancel a booking"]
)
async def test_an_emergency_stopping_or_managing_releases_the_hold(text: str) -> None:
    dialogue, clinic = _dialogue()
    state = await _say(dialogue, await _offered(dialogue), "1")
    assert len(clinic.live_holds()) == 1
    state = await _say(dialogue, state, text)
    assert state.hold is None and clinic.holds.by_id == {}


async def test_a_lapsed_hold_is_taken_again_when_the_slot_is_still_free() -> None:
    clock = Clock()
    clinic = demo_clinic(clock)
    dialogue = Dialogue(clinic=clinic)
    state = dialogue.start().state
    for text in ("check-up", "Dr Smith on Monday", "1"):
        state = (await dialogue.respond(state, text, now=clock.now)).state
    lapsed = state.hold
    assert lapsed is not None
    clock.now += timedelta(minutes=6)
    state = (await dialogue.respond(state, DETAILS, now=clock.now)).state
    assert state.stage == "confirm" and state.hold is not None
    assert state.hold.hold_id != lapsed.hold_id and state.hold.expires_at > clock.now


async def test_rescheduling_holds_nothing() -> None:
    dialogue, clinic = _dialogue()
    existing = clinic.add_booking((await _monday(clinic))[0], JANE)
    state = dialogue.start().state
    for text in (f"I need to move {existing['booking_reference']}", JANE.email, "reschedule"):
        state = await _say(dialogue, state, text)
    state = await _say(dialogue, state, "Tuesday")
    assert state.stage == "slot", state.stage
    state = await _say(dialogue, state, "1")
    assert state.stage == "confirm" and state.hold is None and clinic.holds.by_id == {}
    moved = await dialogue.respond(state, "yes", now=FRIDAY_MORNING)
    assert moved.appointment is not None
