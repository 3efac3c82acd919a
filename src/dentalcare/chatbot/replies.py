"""What the assistant says: every sentence of the conversation, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from typing import Any

from dentalcare.chatbot.ports import DentistInfo, OfferedSlot
from dentalcare.chatbot.state import ChatState, QuickReply, Reply

EMERGENCY_NUMBER = "call your local emergency number (e.g. 999 / 911 / 112) or go to A&E/ER now"

START_CHOICES = [
    QuickReply("Check-up", "I'd like a check-up"),
    QuickReply("Toothache", "I have toothache"),
    QuickReply("Broken tooth", "I have a broken tooth"),
    QuickReply("Cancel or reschedule", "I want to change my booking"),
    QuickReply("Opening hours", "What are your opening hours?"),
]
YES_NO = [QuickReply("Yes, book it", "yes"), QuickReply("No, change something", "no")]


def day_label(day: date) -> str:
    """E.g. "Tue 24 Nov"."""
    return f"{day:%a} {day.day} {day:%b}"


def long_day(day: date) -> str:
    """E.g. "Tuesday 24 November"."""
    return f"{day:%A} {day.day} {day:%B}"


def slot_label(slot: OfferedSlot) -> str:
    """E.g. "Tue 24 Nov 10:30 · Dr Raj Patel"."""
    return f"{day_label(slot.date)} {slot.time:%H:%M} · {slot.dentist_name}"


def slot_sentence(slot: OfferedSlot) -> str:
    """E.g. "Dr Raj Patel on Tuesday 24 November at 10:30"."""
    return f"{slot.dentist_name} on {long_day(slot.date)} at {slot.time:%H:%M}"


def booking_sentence(booking: dict[str, Any]) -> str:
    """An existing appointment in words."""
    day = date.fromisoformat(str(booking["appointment_date"]))
    at = time.fromisoformat(str(booking["appointment_time"])[:5])
    return f"{booking.get('dentist_name') or 'your dentist'} on {long_day(day)} at {at:%H:%M}"


def slot_choices(slots: Sequence[OfferedSlot]) -> list[QuickReply]:
    """Quick replies for offered slots, and one to see other times."""
    choices = [
        QuickReply(slot_label(s), f"{day_label(s.date)} {s.time:%H:%M} with {s.dentist_name}")
        for s in slots
    ]
    choices.append(QuickReply("Other times", "other times"))
    return choices


def greeting(state: ChatState) -> Reply:
    """The first message of a session."""
    hello = f"Hi {state.name.split()[0]}!" if state.logged_in and state.name else "Hi!"
    return Reply(
        f"{hello} I'm the DentalCareConnect assistant. I can book you an appointment, or "
        "cancel or reschedule one. What's the problem — or what would you like to come in for?",
        list(START_CHOICES),
    )


def ask_complaint(*, again: bool) -> Reply:
    """Ask what is wrong."""
    if again:
        return Reply(
            "Sorry, I didn't quite get that. What's the problem with your teeth or mouth, or "
            "what would you like to come in for (a check-up, a clean…)?",
            [*START_CHOICES[:3], QuickReply("Something else", "something else")],
        )
    return Reply(
        "Sure. What's the reason for your visit — a check-up, or is something wrong?",
        START_CHOICES[:3],
    )


def emergency(reasons: Sequence[str], *, repeat: bool = False) -> Reply:
    """Emergency advice: no booking."""
    what = "; ".join(reasons) or "your symptoms"
    if repeat:
        return Reply(
            f"Because of {what}, please don't wait for a dental appointment: {EMERGENCY_NUMBER}."
            " I can't book a routine appointment for this."
        )
    return Reply(
        f"What you describe ({what}) needs emergency care. Please {EMERGENCY_NUMBER}. "
        "Don't wait for a dental appointment — I can't book a routine appointment for this. "
        "Once you have been seen, come back and I can book a follow-up."
    )


def ask_preference(state: ChatState) -> Reply:
    """Ask for a dentist and a time."""
    if state.mode == "reschedule":
        return Reply(
            "When would you like to come instead? For example 'next Tuesday afternoon' or "
            "'as soon as possible'.",
            [
                QuickReply("As soon as possible", "as soon as possible"),
                QuickReply("Next week", "next week"),
            ],
        )
    return Reply(
        "Do you have a preferred dentist, day or time? You can say things like 'Dr Patel', "
        "'next Tuesday afternoon', 'after 5 on weekdays' — or 'anyone, as soon as possible'.",
        [
            QuickReply("Anyone, as soon as possible", "anyone, as soon as possible"),
            QuickReply("Mornings", "mornings"),
            QuickReply("Afternoons", "afternoons"),
        ],
    )


def urgent_intro(reasons: Sequence[str]) -> str:
    """The sentence before urgent slots."""
    what = "; ".join(reasons)
    return (
        f"That sounds urgent ({what}), so here are the earliest appointments in the next 24 "
        "hours. If it gets much worse — swelling spreading to your eye or neck, bleeding that "
        f"won't stop, or trouble breathing or swallowing — {EMERGENCY_NUMBER}."
    )


def offer(slots: Sequence[OfferedSlot], intro: str) -> Reply:
    """Offer slots as quick replies."""
    lines = "\n".join(f"{n}. {slot_label(s)}" for n, s in enumerate(slots, 1))
    return Reply(f"{intro}\n{lines}\nWhich one would you like?", slot_choices(slots))


def ask_details(missing: Sequence[str], *, first: bool) -> Reply:
    """Ask for the missing personal details."""
    words = {"name": "your full name", "email": "your e-mail address", "phone": "a phone number"}
    wanted = [words[m] for m in missing]
    listed = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " and " + wanted[-1]
    if first:
        return Reply(f"Great choice. To book it I need {listed}.")
    return Reply(f"Thanks. I still need {listed}.")


def read_back(state: ChatState) -> Reply:
    """Read the booking back before confirming."""
    assert state.slot is not None
    lines = [f"Please check: {slot_sentence(state.slot)}"]
    if state.complaint:
        lines.append(f"Reason: {state.complaint}")
    lines.append(f"Name: {state.name} · E-mail: {state.email} · Phone: {state.phone}")
    if state.mode == "reschedule" and state.booking:
        return Reply(
            f"Please check: move {state.booking['booking_reference']} from "
            f"{booking_sentence(state.booking)} to {slot_sentence(state.slot)}.\nShall I move it?",
            [QuickReply("Yes, move it", "yes"), QuickReply("No, change something", "no")],
        )
    return Reply("\n".join([*lines, "Shall I book it?"]), list(YES_NO))


def booked(appointment: dict[str, Any]) -> Reply:
    """Confirmation of a new booking."""
    return Reply(
        f"You're booked: {booking_sentence(appointment)}. Your booking reference is "
        f"{appointment['booking_reference']} — keep it to cancel or reschedule. "
        "Is there anything else I can help with?",
        [
            QuickReply("Book another", "book another appointment"),
            QuickReply("No, thanks", "thanks"),
        ],
    )


def dentists_list(dentists: Sequence[DentistInfo]) -> Reply:
    """The directory."""
    if not dentists:
        return Reply("There are no dentists taking bookings at the moment.")
    lines = "\n".join(f"• {d.name} — {d.specialization}" for d in dentists)
    return Reply(
        f"Our dentists:\n{lines}",
        [QuickReply(f"Book with {d.name}", f"book with {d.name}") for d in dentists[:5]],
    )


HELP = (
    "I can book an appointment (tell me what's wrong and when suits you), cancel or "
    "reschedule one with its booking reference (like DC-7K3P9Q), tell you our opening hours "
    "and who our dentists are. Say 'start over' at any time to begin again. If you have "
    f"severe swelling, bleeding that won't stop or trouble breathing, {EMERGENCY_NUMBER}."
)

# When understanding a message ran out of its time budget.
SAY_IT_SIMPLER = "Sorry, I couldn't follow that — could you say it more simply?"
