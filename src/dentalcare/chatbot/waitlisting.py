"""The waitlist in the chat: the patient's word on it, and what an entry covers.

Pure: the booking flow offers the waitlist and joins (`booking.BookingFlow`); this module
takes the patient's word on it (`take_answer`) and turns what the conversation collected
into a `WaitlistRequest`, which the clinic (`ClinicPort.join_waitlist`) registers. The
times of day are the waitlist's own (API.md, "Waitlist and recall"): morning before
12:00, afternoon until 17:00, evening after.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time, timedelta

from dentalcare.chatbot import offering, replies
from dentalcare.chatbot.ports import DentistInfo, PatientDetails, WaitlistRequest
from dentalcare.chatbot.state import ChatState, Turn
from dentalcare.chatbot.understanding import Parse
from dentalcare.chatbot.when import When

# With no dates asked for, an entry waits from today for four weeks: as far as the chat
# looks for free times itself (`offering.WIDE_DAYS`), and short enough that an offer
# e-mailed from it is still wanted. A start with no end waits as long from the start.
HORIZON_DAYS = offering.WIDE_DAYS

TIMES_OF_DAY: tuple[tuple[str, int, int], ...] = (
    ("morning", 0, 12 * 60),
    ("afternoon", 12 * 60, 17 * 60),
    ("evening", 17 * 60, 24 * 60),
)


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def date_range(wish: When, *, today: date) -> tuple[date, date]:
    """The dates the patient asked about (inclusive), else today and four weeks on."""
    earliest = max(wish.start or today, today)
    latest = wish.end or earliest + timedelta(days=HORIZON_DAYS)
    return earliest, max(latest, earliest)


def times_of_day(wish: When) -> tuple[str, ...]:
    """The parts of the day the wished time falls in or overlaps (none wished: all)."""
    if wish.at is not None:
        at = _minutes(wish.at)
        return tuple(name for name, start, end in TIMES_OF_DAY if start <= at < end)
    after = _minutes(wish.after) if wish.after else 0
    before = _minutes(wish.before) if wish.before else 24 * 60
    overlapping = tuple(name for name, start, end in TIMES_OF_DAY if start < before and after < end)
    return overlapping or tuple(name for name, _, _ in TIMES_OF_DAY)


def dentist_of(state: ChatState, directory: Sequence[DentistInfo]) -> DentistInfo | None:
    """The one dentist the patient chose, if they perform the treatment (else: any)."""
    if not state.dentist_ids or len(state.dentist_ids) != 1:
        return None
    who = offering.whom(state, directory)
    if not who.ids or len(who.ids) != 1 or str(who.ids[0]) not in state.dentist_ids:
        return None  # not theirs to do: whom() would offer the others
    return next((d for d in directory if d.id == who.ids[0]), None)


def request_for(
    state: ChatState,
    patient: PatientDetails,
    *,
    today: date,
    dentist: DentistInfo | None,
) -> WaitlistRequest:
    """The entry for what the conversation settled on."""
    earliest, latest = date_range(state.when, today=today)
    return WaitlistRequest(
        treatment_name=state.treatment,
        dentist_id=dentist.id if dentist is not None else None,
        earliest=earliest,
        latest=latest,
        times=times_of_day(state.when),
        patient=patient,
    )


def take_answer(turn: Turn, parse: Parse) -> bool:
    """The patient's word on the waitlist: yes to the offer (or asking for it) makes it
    wanted, and the slots on the table go; no carries on with the booking (True: that
    is the whole answer, already given)."""
    state = turn.state
    asked = "waitlist" in parse.intents
    # While its details are taken, "no" is a change of mind; a correction is not.
    backing_out = state.waitlist == "wanted" and state.stage == "details" and not asked
    if parse.answer is False and (state.waitlist == "offered" or backing_out):
        if backing_out and parse.has_booking_info:
            return False
        state.waitlist, state.waitlist_declined = None, True
        if parse.has_booking_info:
            return False  # "no, but Thursday would do"
        if not state.offered:
            state.stage = "preference"
        turn.add(replies.waitlist_declined(offered=bool(state.offered)))
        return True
    plain_yes = parse.answer is True and not (parse.choice or parse.when or parse.dentist)
    # At the red-flag question, "no" answers the question, not the ask.
    wants = asked and (parse.answer is not False or state.stage == "screen")
    if wants or (state.waitlist == "offered" and plain_yes):
        state.waitlist, state.slot, state.offered = "wanted", None, []
    elif state.waitlist == "offered":
        state.waitlist = None  # on with the booking: a slot, another day…
    return False
