"""What the assistant says: every sentence of the conversation, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from typing import Any

from dentalcare.chatbot.ports import ClinicFacts, DentistInfo, OfferedSlot
from dentalcare.chatbot.screen import QUESTIONS
from dentalcare.chatbot.state import ChatState, QuickReply, Reply
from dentalcare.chatbot.treatments import phrase
from dentalcare.chatbot.triage import RedFlag
from dentalcare.timezones import zone as time_zone

EMERGENCY_NUMBER = (
    "call your local emergency number (999 in the UK, 911 in the US, 112 in Europe) or go to "
    "A&E / the emergency room now"
)

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


def zone_label(slot: OfferedSlot, clinic_zone: str | None = None) -> str:
    """The abbreviation of the slot's zone at its time, e.g. "EST" or "GMT"."""
    name = slot.zone or clinic_zone
    try:
        where = time_zone(name) if name else None
    except (ValueError, KeyError):  # an unknown zone name: show the UTC offset instead
        where = None
    label = slot.starts_at.astimezone(where).tzname() if where else None
    return label or slot.starts_at.strftime("UTC%z")


def needs_zones(slots: Sequence[OfferedSlot], clinic_zone: str | None) -> bool:
    """Whether times must carry their zone: the slots are not all in the clinic's zone."""
    return len({s.zone or clinic_zone for s in slots}) > 1 or any(
        s.zone and s.zone != clinic_zone for s in slots
    )


def slot_time(slot: OfferedSlot, *, zoned: bool, clinic_zone: str | None = None) -> str:
    """E.g. "10:30", or "10:30 EST" when zones differ."""
    at = f"{slot.time:%H:%M}"
    return f"{at} {zone_label(slot, clinic_zone)}" if zoned else at


def slot_label(slot: OfferedSlot, *, zoned: bool = False, clinic_zone: str | None = None) -> str:
    """E.g. "Tue 24 Nov 10:30 · Dr Raj Patel" (with its zone when zones differ)."""
    at = slot_time(slot, zoned=zoned, clinic_zone=clinic_zone)
    return f"{day_label(slot.date)} {at} · {slot.dentist_name}"


def slot_sentence(slot: OfferedSlot) -> str:
    """E.g. "Dr Raj Patel on Tuesday 24 November at 10:30"."""
    return f"{slot.dentist_name} on {long_day(slot.date)} at {slot.time:%H:%M}"


def booking_sentence(booking: dict[str, Any]) -> str:
    """An existing appointment in words."""
    day = date.fromisoformat(str(booking["appointment_date"]))
    at = time.fromisoformat(str(booking["appointment_time"])[:5])
    return f"{booking.get('dentist_name') or 'your dentist'} on {long_day(day)} at {at:%H:%M}"


def slot_choices(
    slots: Sequence[OfferedSlot], *, zoned: bool = False, clinic_zone: str | None = None
) -> list[QuickReply]:
    """Quick replies for offered slots, and one to see other times."""
    choices = [
        QuickReply(
            slot_label(s, zoned=zoned, clinic_zone=clinic_zone),
            f"{day_label(s.date)} {slot_time(s, zoned=zoned, clinic_zone=clinic_zone)} with "
            f"{s.dentist_name}",
        )
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


def emergency(reasons: Sequence[str], *, repeat: int = 0) -> Reply:
    """Emergency advice: no booking (`repeat`: how many times it was given already; each
    repeat is worded differently)."""
    what = "; ".join(reasons) or "your symptoms"
    if repeat:
        wordings = (
            f"Because of {what}, please don't wait for a dental appointment: {EMERGENCY_NUMBER}."
            " I can't book an appointment for this.",
            f"I'm not able to book this, because {what} can be dangerous and needs to be seen "
            f"straight away. Please {EMERGENCY_NUMBER}.",
            f"Please get emergency help now — {EMERGENCY_NUMBER}. When you have been seen, "
            "start a new chat and I'll gladly book a follow-up.",
        )
        return Reply(wordings[(repeat - 1) % len(wordings)])
    return Reply(
        f"What you describe ({what}) needs emergency care. Please {EMERGENCY_NUMBER}. "
        "Don't wait for a dental appointment — I can't book an appointment for this. "
        "Once you have been seen, start a new chat and I can book a follow-up."
    )


def no_slot_today(reasons: Sequence[str]) -> Reply:
    """A knocked-out adult tooth with nothing free today: emergency advice instead."""
    return Reply(
        "A knocked-out adult tooth needs to be seen within hours, and I have no appointment "
        f"free today. Please {EMERGENCY_NUMBER} (or an urgent dental service such as NHS 111) "
        "and take the tooth with you in milk. I can't book a later appointment for this."
    )


def knocked_out_advice(*, baby: bool | None) -> Reply:
    """First aid for a knocked-out tooth: put an adult tooth back, never a baby tooth."""
    adult = (
        "If it's an adult tooth, act now: hold it by the white top (never the root), rinse it "
        "briefly in milk or cold water if it's dirty, and gently push it back into its socket, "
        "then bite on a clean cloth to keep it there. If it won't go back, keep it in milk (or "
        "inside the cheek — not for a young child) and bring it with you. The sooner it's seen "
        "the better — ideally within the hour."
    )
    milk = (
        "Don't try to put a baby (milk) tooth back — it can harm the adult tooth growing "
        "underneath. Press a clean, damp cloth on the gum if it bleeds and keep the tooth to "
        "show the dentist."
    )
    if baby is True:
        return Reply(milk)
    if baby is False:
        return Reply(adult)
    return Reply(f"{adult} {milk}")


def screen_question(
    flags: Sequence[RedFlag], *, again: bool = False, noted: str | None = None
) -> Reply:
    """The red-flag question: is any of `flags` happening (yes or no)?"""
    buttons = [QuickReply("Yes", "yes"), QuickReply("No, none of these", "no, none of these")]
    if len(flags) == 1:
        buttons[1] = QuickReply("No", "no")
        question = f"Is there {QUESTIONS[flags[0]]}?"
    else:
        listed = "\n".join(f"• {QUESTIONS[f]}" for f in flags)
        question = f"Is any of this happening?\n{listed}"
    if again:
        lead = f"Thanks — I've noted {noted}. " if noted else ""
        return Reply(
            f"{lead}Before I can offer times I still need a yes or no to this safety "
            f"question. {question}",
            buttons,
        )
    return Reply(f"Before I look for times, I need to check a few things. {question}", buttons)


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


def urgent_intro(reasons: Sequence[str], *, same_day: bool = False) -> str:
    """The sentence before urgent slots."""
    what = "; ".join(reasons)
    when = "today's earliest appointments" if same_day else "the earliest appointments in the "
    when += "" if same_day else "next 24 hours"
    return (
        f"That sounds urgent ({what}), so here are {when}. If it gets much worse — swelling "
        "spreading to your eye or neck, bleeding that won't stop, or trouble breathing or "
        f"swallowing — {EMERGENCY_NUMBER}."
    )


def offer(slots: Sequence[OfferedSlot], intro: str, *, clinic_zone: str | None = None) -> Reply:
    """Offer slots as quick replies (their times with zones when zones differ)."""
    zoned = needs_zones(slots, clinic_zone)
    lines = "\n".join(
        f"{n}. {slot_label(s, zoned=zoned, clinic_zone=clinic_zone)}"
        for n, s in enumerate(slots, 1)
    )
    if zoned:
        lines += "\n(Each time is in that dentist's own time zone.)"
    return Reply(
        f"{intro}\n{lines}\nWhich one would you like?",
        slot_choices(slots, zoned=zoned, clinic_zone=clinic_zone),
    )


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
    if state.treatment:
        lines.append(f"Visit: {state.treatment}")
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


WAITLIST_OFFER = (
    "I can put you on the waitlist and tell you by e-mail if something earlier frees up — shall I?"
)
WAITLIST_CHOICES = [
    QuickReply("Yes, join the waitlist", "yes, put me on the waitlist"),
    QuickReply("No, thanks", "no"),
]
WAITLIST_URGENT = (
    "As this sounds urgent, I'd rather not leave you waiting on a list — let's find you the "
    "earliest appointment instead."
)


def with_waitlist_offer(reply: Reply) -> Reply:
    """`reply` (nothing free that fits, or other times asked for) with the waitlist offered."""
    return Reply(f"{reply.text}\nOr {WAITLIST_OFFER}", [*reply.quick_replies, *WAITLIST_CHOICES])


def waitlist_declined(*, offered: bool) -> Reply:
    """The patient does not want the waitlist: the booking carries on."""
    if offered:
        return Reply(
            "No problem. Pick one of the times above, or tell me another day, time or dentist.",
            [QuickReply("Other times", "other times")],
        )
    return Reply(
        "No problem. Would another day, time or dentist suit you? Or say 'stop' if that's "
        "all for now.",
        ask_preference(ChatState()).quick_replies,
    )


def ask_waitlist_preference() -> Reply:
    """Ask what the waitlist entry should cover."""
    return Reply(
        "Sure. Which dentist, days or times should I put you down for? For example 'Dr "
        "Patel', 'next week', 'mornings' — or 'anyone, any time'.",
        [
            QuickReply("Anyone, any time", "anyone, any time"),
            QuickReply("Mornings", "mornings"),
            QuickReply("Afternoons", "afternoons"),
        ],
    )


def ask_waitlist_details(missing: Sequence[str], *, first: bool) -> Reply:
    """Ask for the personal details the waitlist entry still needs."""
    if not first:
        return ask_details(missing, first=False)
    words = {"name": "your full name", "email": "your e-mail address", "phone": "a phone number"}
    wanted = [words[m] for m in missing]
    listed = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " and " + wanted[-1]
    return Reply(f"Sure. To put you on the waitlist I need {listed}.")


def waitlist_range(earliest: date, latest: date) -> str:
    """E.g. "on Tuesday 24 November" or "from Friday 20 November to Friday 18 December"."""
    if earliest == latest:
        return f"on {long_day(earliest)}"
    return f"from {long_day(earliest)} to {long_day(latest)}"


def waitlisted(
    *,
    treatment: str | None,
    dentist: str | None,
    earliest: date,
    latest: date,
    times: Sequence[str],
    email: str,
) -> Reply:
    """Confirmation of a waitlist entry: what was registered, and what happens next."""
    what = phrase(treatment)
    parts = "" if len(times) == 3 else f", {' or '.join(t + 's' for t in times)} only"
    return Reply(
        f"Done — you're on the waitlist for {what} with {dentist or 'any dentist'}, "
        f"{waitlist_range(earliest, latest)}{parts}. When a slot frees up, we'll e-mail you at "
        f"{email} with a link to accept it. Is there anything else I can help with?",
        [
            QuickReply("Book an appointment", "book an appointment"),
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


def call_clinic(facts: ClinicFacts) -> str:
    """E.g. "call the clinic on 020 7946 0000"."""
    return f"call {facts.name} on {facts.phone}" if facts.phone else f"call {facts.name}"


def price_answer(facts: ClinicFacts, kind: str | None) -> str:
    """What a treatment costs and how long it takes, or the price list."""
    known = facts.treatment(kind)
    if known is not None:
        name = known.name.lower() if known.name != "Check-up" else "a check-up"
        length = f" and takes about {known.minutes} minutes" if known.minutes else ""
        if known.price:
            return f"{known.name}: {known.price}{length}."
        return (
            f"I don't have a published price for {name} — please {call_clinic(facts)} to "
            f"ask.{' It takes about ' + str(known.minutes) + ' minutes.' if known.minutes else ''}"
        )
    priced = [t for t in facts.treatments if t.price]
    if not priced:
        return f"I don't have our prices here — please {call_clinic(facts)} to ask."
    listed = "; ".join(f"{t.name} {t.price}" for t in priced)
    return f"Our prices: {listed}."


def offered_answer(facts: ClinicFacts, kind: str | None) -> str:
    """Whether the clinic does a treatment ("do you do whitening?"), with its price."""
    if facts.treatment(kind) is not None:
        return f"Yes, we do {phrase(kind)}. {price_answer(facts, kind)}"
    if kind is None and facts.treatments:
        names = ", ".join(t.name.lower() for t in facts.treatments)
        return f"We offer: {names}. {price_answer(facts, None)}"
    return f"I'm not sure we offer that — please {call_clinic(facts)} to ask."


def address_answer(facts: ClinicFacts) -> str:
    """Where the clinic is."""
    if facts.address:
        return f"{facts.name} is at {facts.address}."
    return f"I don't have the address here — please {call_clinic(facts)}."


def phone_answer(facts: ClinicFacts) -> str:
    """How to call the clinic."""
    if facts.phone:
        return f"You can call {facts.name} on {facts.phone}."
    return "I don't have the clinic's phone number here, sorry."


def children_answer(directory: Sequence[DentistInfo], facts: ClinicFacts) -> str:
    """Whether the clinic sees children, and with whom."""
    kids = [d for d in directory if "pediatric" in d.specialization.lower().replace("ae", "e")]
    price = facts.treatment("Child check-up")
    cost = f" A child's check-up is {price.price}." if price and price.price else ""
    if kids:
        names = " and ".join(d.name for d in kids)
        return f"Yes, we see children of all ages — {names} is our children's dentist.{cost}"
    if directory:
        return f"Yes, our dentists see children too.{cost}"
    return "There are no dentists taking bookings at the moment."


def talk_to_clinic(facts: ClinicFacts) -> Reply:
    """The way to a person."""
    return Reply(
        f"I'm an automated assistant, but you can always {call_clinic(facts)} to talk to "
        "someone. Or I can carry on here — I can book, cancel or reschedule.",
        list(START_CHOICES[:3]),
    )


def treatment_phrase(kind: str | None) -> str:
    """E.g. "a check-up" (the treatment kind as a noun phrase)."""
    return phrase(kind)


def _understood(state: ChatState) -> str:
    """What the conversation has collected, in a few words."""
    parts = []
    if state.treatment:
        parts.append(phrase(state.treatment))
    elif state.complaint:
        parts.append(f"“{state.complaint}”")
    offered_ids = {str(s.dentist_id) for s in state.offered}
    named = state.dentist_label and state.dentist_ids
    if named and (not offered_ids or offered_ids & set(state.dentist_ids or ())):
        parts.append(f"with {state.dentist_label}")
    if state.slot is not None:
        parts.append(slot_sentence(state.slot))
    elif state.preference_given and state.when.describe() != "any time":
        parts.append(state.when.describe())
    return ", ".join(parts)


def stuck(state: ChatState, facts: ClinicFacts, *, attempt: int) -> Reply:
    """Instead of asking the same thing again: what has been understood, and a way on."""
    call = QuickReply("Talk to the clinic", "I'd like to talk to someone at the clinic")
    sorry = ("", "Sorry, I still didn't catch that. ", "Let me put it another way. ")[attempt % 3]
    so_far = _understood(state)
    have = f"So far I have: {so_far}. " if so_far else ""
    person = f"If you'd rather talk to someone, {call_clinic(facts)}."
    stage = state.stage
    if stage == "emergency":
        return emergency(state.reasons, repeat=attempt + 1)
    if stage == "screen":
        question = screen_question(state.asked)
        return Reply(
            f"{sorry}I need a yes or no before I can offer any times — it's about your safety. "
            f"{question.text.split('. ', 1)[-1]} {person}",
            question.quick_replies,
        )
    if stage == "complaint":
        return Reply(
            f"{sorry}I'm not sure what you'd like to come in for. Pick one of these, describe "
            f"the problem in a few words, or {call_clinic(facts)}.",
            [*START_CHOICES[:3], call],
        )
    if stage == "preference":
        return Reply(
            f"{sorry}{have}I still need a day or time that suits you — for example 'Tuesday "
            f"afternoon' or 'anyone, as soon as possible'. {person}",
            [*ask_preference(state).quick_replies, call],
        )
    if stage == "slot" and state.offered:
        lines = "\n".join(f"{n}. {slot_label(s)}" for n, s in enumerate(state.offered, 1))
        return Reply(
            f"{sorry}{have}These times are still free:\n{lines}\nPick a number, name another "
            f"day or time, or say 'other times'. {person}",
            [*slot_choices(state.offered), call],
        )
    if stage == "details":
        missing = ", ".join(state.missing_details()).replace("email", "e-mail")
        purpose = "To put you on the waitlist" if state.waitlist == "wanted" else "To book it"
        return Reply(
            f"{sorry}{have}{purpose} I still need your {missing} — for example 'Jane Doe, "
            f"jane@example.com, 07700 900123'. {person}",
            [call],
        )
    if stage == "confirm" and state.slot is not None:
        return Reply(
            f"{sorry}I just need a yes or no: shall I book {slot_sentence(state.slot)}? {person}",
            [*YES_NO, call],
        )
    return Reply(
        f"{sorry}I can book, cancel or reschedule an appointment, or tell you about the "
        f"clinic. {person}",
        [*START_CHOICES, call],
    )


HELP = (
    "I can book an appointment (tell me what's wrong and when suits you), cancel or "
    "reschedule one with its booking reference (like DC-7K3P9Q), tell you our opening hours "
    "and who our dentists are. Say 'start over' at any time to begin again. If you have "
    f"severe swelling, bleeding that won't stop or trouble breathing, {EMERGENCY_NUMBER}."
)

# When understanding a message ran out of its time budget.
SAY_IT_SIMPLER = "Sorry, I couldn't follow that — could you say it more simply?"
