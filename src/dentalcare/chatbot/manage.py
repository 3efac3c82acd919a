"""Cancelling or rescheduling an existing appointment by its booking reference.

A guest proves the booking is theirs with its e-mail address (the services check both);
a logged-in patient only sees their own appointments anyway. Rescheduling hands over to
the booking flow's preference → slot → confirm stages with `mode = "reschedule"`.
"""

from __future__ import annotations

import re

from dentalcare.chatbot import replies
from dentalcare.chatbot.ports import ClinicPort
from dentalcare.chatbot.state import ChatState, Mode, QuickReply, Turn, keep_booking
from dentalcare.chatbot.understanding import Parse
from dentalcare.vocabulary import ACTIVE

MAX_LOOKUPS = 3
CANCEL_REASON = "Cancelled by the patient with the booking assistant"
MANAGE_STAGES = ("manage_reference", "manage_email", "manage_action", "manage_confirm")
_NO_REFERENCE = re.compile(
    r"\b(don'?t|do not) (have|know|remember)\b|\b(lost|forgot\w*)\b|\bno idea\b"
)
_WANTS_CANCEL = re.compile(r"\bcancel\w*\b|\bcall (it )?off\b")
_WANTS_MOVE = re.compile(r"\b(reschedul\w*|move|change|rebook|another (time|day)|different)\b")


def begin(state: ChatState, parse: Parse, mode: Mode) -> ChatState:
    """A fresh state for managing a booking (the patient's own details are kept)."""
    fresh = ChatState(
        mode=mode,
        logged_in=state.logged_in,
        name=state.name,
        email=state.email if state.logged_in else parse.email or None,
        phone=state.phone,
        reference=parse.reference,
        # what the conversation knows clinically stays: urgency never drops
        findings=state.findings,
        child=state.child,
        age=state.age,
        recent=state.recent,
        hold=state.hold,  # a booking's hold, released at the end of the turn
    )
    if parse.when is not None:  # "move DC-7K3P9Q to Friday morning"
        fresh.when, fresh.preference_given = parse.when, True
    return fresh


def _ask_reference(turn: Turn, *, again: bool = False) -> None:
    turn.state.stage = "manage_reference"
    if again:
        turn.say(
            "That doesn't look like a booking reference. It starts with DC- (like DC-7K3P9Q) "
            "and is in your booking confirmation."
        )
    else:
        turn.say("Sure. What's the booking reference? It looks like DC-7K3P9Q.")


def _ask_email(turn: Turn) -> None:
    turn.state.stage = "manage_email"
    turn.say("Thanks. And the e-mail address the appointment was booked with?")


def prompt(turn: Turn) -> None:
    """Ask again for what the current manage stage is waiting for."""
    state = turn.state
    if state.stage == "manage_reference":
        _ask_reference(turn)
    elif state.stage == "manage_email":
        _ask_email(turn)
    elif state.stage == "manage_action":
        _ask_action(turn)
    elif state.stage == "manage_confirm":
        _ask_cancel(turn)


def _ask_action(turn: Turn) -> None:
    assert turn.state.booking is not None
    turn.state.stage = "manage_action"
    turn.say(
        f"I found {turn.state.booking['booking_reference']}: "
        f"{replies.booking_sentence(turn.state.booking)}. Would you like to cancel it or "
        "reschedule it?",
        [QuickReply("Cancel it", "cancel it"), QuickReply("Reschedule it", "reschedule it")],
    )


def _ask_cancel(turn: Turn) -> None:
    assert turn.state.booking is not None
    turn.state.stage = "manage_confirm"
    turn.state.mode = "cancel"
    turn.say(
        f"Cancel {turn.state.booking['booking_reference']}: "
        f"{replies.booking_sentence(turn.state.booking)}?",
        [QuickReply("Yes, cancel it", "yes"), QuickReply("No, keep it", "no")],
    )


def _start_reschedule(turn: Turn) -> bool:
    state = turn.state
    assert state.booking is not None
    state.mode = "reschedule"
    state.dentist_ids = [str(state.booking["dentist_id"])]
    state.dentist_label = state.booking.get("dentist_name")
    # The same treatment, so the times offered are of its length (the clinic's name for
    # it: a clinic resolves its own names as well as the kinds).
    state.treatment = state.booking.get("treatment_name") or state.treatment
    state.stage = "preference"
    if state.preference_given:
        return True
    turn.add(replies.ask_preference(state))
    return False


async def proceed(clinic: ClinicPort, turn: Turn) -> bool:
    """Take the next step: ask for what is missing, look the booking up, or act.

    True means a reschedule already knows when the patient would like to come: the
    booking flow should offer slots now.
    """
    state = turn.state
    if state.booking is None:
        if not state.reference:
            _ask_reference(turn)
            return False
        if not state.logged_in and not state.email:
            _ask_email(turn)
            return False
        email = None if state.logged_in else state.email
        found = await clinic.find_booking(reference=state.reference, email=email)
        if found is None:
            state.lookups_failed += 1
            if state.lookups_failed >= MAX_LOOKUPS:
                state.stage = "done"
                turn.say(
                    "I still can't find that booking, sorry. Please call the clinic and we'll "
                    "sort it out. Is there anything else I can help with?"
                )
                return False
            who = "your account" if state.logged_in else "that e-mail address"
            state.reference = None
            if not state.logged_in:
                state.email = None
            state.stage = "manage_reference"
            turn.say(
                f"I couldn't find a booking with that reference for {who}. Please check the "
                "reference (like DC-7K3P9Q) and try again."
            )
            return False
        if found.get("status") not in ACTIVE:
            state.stage = "done"
            turn.say(
                f"{found['booking_reference']} is already {found.get('status')}, so it can't be "
                "changed. Is there anything else I can help with?"
            )
            return False
        state.booking = keep_booking(found)
    if state.mode == "cancel":
        _ask_cancel(turn)
    elif state.mode == "reschedule":
        return _start_reschedule(turn)
    else:
        _ask_action(turn)
    return False


async def handle(clinic: ClinicPort, turn: Turn, parse: Parse) -> bool:
    """A message while a manage stage is waiting for an answer (True: offer slots now)."""
    state = turn.state
    lowered = parse.text.lower()
    if parse.reference and parse.reference != state.reference:
        state.reference, state.booking, state.stage = parse.reference, None, "manage_reference"
    if parse.email and not state.logged_in and state.booking is None:
        state.email = parse.email
    if state.stage == "manage_reference" and not state.reference:
        if _NO_REFERENCE.search(lowered):
            state.stage = "done"
            turn.say(
                "No problem: the reference is in your booking confirmation. If you have an "
                "account, log in to see your appointments, or call the clinic. Anything else?"
            )
            return False
        _ask_reference(turn, again=True)
        return False
    if state.stage == "manage_email" and not state.email:
        turn.say(
            "I need the e-mail address the appointment was booked with, e.g. jane@example.com."
        )
        return False
    if state.stage == "manage_action":
        if "reschedule" in parse.intents or _WANTS_MOVE.search(lowered):
            state.mode = "reschedule"
        elif "cancel" in parse.intents or _WANTS_CANCEL.search(lowered):
            state.mode = "cancel"
        else:
            _ask_action(turn)
            return False
    if state.stage == "manage_confirm":
        await _confirm_cancel(clinic, turn, parse)
        return False
    return await proceed(clinic, turn)


async def _confirm_cancel(clinic: ClinicPort, turn: Turn, parse: Parse) -> None:
    state = turn.state
    assert state.booking is not None
    stop = "stop" in parse.intents
    if parse.answer is True and not stop:
        cancelled = await clinic.cancel(booking=state.booking, reason=CANCEL_REASON)
        state.booking = keep_booking(cancelled)
        state.stage = "done"
        turn.appointment = cancelled
        turn.say(
            f"Done: {cancelled['booking_reference']} is cancelled. Is there anything else I can "
            "help with?",
            [QuickReply("Book a new appointment", "book another appointment")],
        )
    elif parse.answer is False or stop:
        state.stage = "done"
        turn.say("Okay, I've kept your appointment as it is. Anything else?")
    else:
        turn.say(
            "Please answer yes or no: shall I cancel it?",
            [QuickReply("Yes, cancel it", "yes"), QuickReply("No, keep it", "no")],
        )
