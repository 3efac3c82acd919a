"""The booking flow of one turn: what to ask next, the red-flag screen, offers, booking.

`BookingFlow.advance` looks at what has been collected and asks for what is missing, in
this order: the complaint; the unanswered red-flag questions (nothing is offered before
they have an answer); slots (urgent ones first when urgent; today's for a knocked-out
adult tooth, or emergency advice when there are none); the patient's details; the read
back. A conversation that has become an emergency is never offered a slot and never
booked, whatever its stage (`advance` and `commit` both refuse).

The waitlist: when nothing free fits what a routine booking asked for, or the patient
turned the offered times down, the offer carries "shall I put you on the waitlist?"
(`state.waitlist` "offered"). Once the patient wants it ("wanted", by that yes or by
asking), `advance` takes what the entry still needs instead of a slot — the screen, a
preference, the details — and joins (`_join_waitlist`). Never for an emergency (advice
first, as everywhere) nor for something urgent (the earliest slots are offered instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dentalcare.chatbot import offering, replies, screen, waitlisting
from dentalcare.chatbot.collect import Changes
from dentalcare.chatbot.ports import ClinicPort, DentistInfo, HeldSlot, OfferedSlot
from dentalcare.chatbot.state import Reply, Turn
from dentalcare.errors import (
    Conflict,
    RateLimited,
    SlotUnavailable,
    TooManyBookings,
    ValidationError,
)

# Stages the red-flag screen may interrupt and return to.
RESUMABLE = ("preference", "slot", "details", "confirm")


@dataclass(slots=True)
class BookingFlow:
    """One turn's view of the clinic: the port, the clinic's zone, the time, the directory."""

    clinic: ClinicPort
    tz: ZoneInfo
    now: datetime
    directory: Sequence[DentistInfo]

    def emergency(self, turn: Turn) -> None:
        """Emergency advice; whatever was on offer is withdrawn."""
        state = turn.state
        repeat = state.stage == "emergency"
        state.stage, state.offered, state.slot, state.asked = "emergency", [], None, []
        state.waitlist = None
        turn.add(replies.emergency(state.reasons, repeat=1 if repeat else 0))

    async def advance(self, turn: Turn, changes: Changes, *, understood: bool) -> None:
        """Ask for whatever is still missing, or read back, given the collected fields."""
        state = turn.state
        if state.findings.emergency:
            self.emergency(turn)
            return
        if state.mode == "book" and not state.complaint:
            state.stage = "complaint"
            if state.freeform_complaint:
                turn.say("Of course — please describe it in a few words.")
            else:
                turn.add(replies.ask_complaint(again=not understood))
            return
        if state.mode in ("book", "reschedule") and self._screen(turn, changes):
            return
        if state.stage == "screen":  # every red-flag question has its answer now
            state.stage, state.resume, state.asked = state.resume or "preference", None, []
            if state.stage == "confirm" and state.slot is None:
                state.stage = "preference"
        if state.waitlist == "wanted" and state.mode == "book":
            await self._join_waitlist(turn, changes)
            return
        if state.slot is None:
            await self._offer_slots(turn, changes, understood=understood)
            return
        if not await self._hold(turn, state.slot):
            return
        if state.mode == "book" and state.missing_details():
            first = state.stage != "details"
            state.stage = "details"
            turn.add(replies.ask_details(state.missing_details(), first=first))
            return
        if not await self._check_free(turn, state.slot):
            return
        state.stage = "confirm"
        turn.add(replies.read_back(state))

    def _screen(self, turn: Turn, changes: Changes) -> bool:
        """Ask the unanswered red-flag questions, if any (True: asked, nothing else now)."""
        state = turn.state
        flags = list(screen.pending(state.findings))
        if not flags:
            return False
        again = state.stage == "screen" and flags == state.asked and not changes.screened
        if state.stage != "screen":
            state.resume = state.stage if state.stage in RESUMABLE else None
        noted = state.when.describe() if again and changes.preferences else None
        state.stage, state.asked = "screen", flags
        turn.add(replies.screen_question(flags, again=again, noted=noted))
        return True

    async def _offer_slots(self, turn: Turn, changes: Changes, *, understood: bool) -> None:
        state = turn.state
        await self.release_hold(turn)  # a slot given up may be offered again
        urgent_first = state.mode == "book" and state.urgency == "urgent"
        if urgent_first and not state.offered_urgent:
            offer = await offering.urgent_offer(
                self.clinic, state, now=self.now, tz=self.tz, directory=self.directory
            )
            state.offered_urgent = True
            if offer.none_today:
                reason = "a knocked-out adult tooth and no appointment free today"
                state.findings = screen.escalate(state.findings, reason)
                state.stage, state.offered, state.slot = "emergency", [], None
                turn.add(replies.no_slot_today(state.reasons))
                return
        elif state.stage == "slot" and state.offered and not changes.preferences:
            intro = "Please pick one of these, or tell me another day or time:"
            if changes.complaint or changes.details or changes.screened:
                intro = "Thanks, I've noted that. " + intro
            elif not understood:
                intro = "Sorry, I didn't catch that. " + intro
            turn.add(self.offer_reply(state.offered, intro))
            return
        elif not state.preference_given:
            if state.stage == "preference" and not understood:
                turn.say("Sorry, I didn't catch that.")
            state.stage = "preference"
            turn.add(replies.ask_preference(state))
            return
        else:
            offer = await offering.preferred_offer(
                self.clinic,
                state,
                now=self.now,
                tz=self.tz,
                directory=self.directory,
                seen=state.seen,
            )
        state.offered = offer.slots
        state.seen += ["|".join(s.key) for s in offer.slots]
        waitlist = (
            state.mode == "book"
            and state.urgency == "routine"
            and not state.waitlist_declined
            and (not offer.fits or changes.other_times)
        )
        state.waitlist = "offered" if waitlist else None
        reply = self.offer_reply(offer.slots, offer.intro) if offer.slots else Reply(offer.intro)
        state.stage = "slot" if offer.slots else "preference"
        turn.add(replies.with_waitlist_offer(reply) if waitlist else reply)

    async def _join_waitlist(self, turn: Turn, changes: Changes) -> None:
        """Take what the waitlist entry still needs, then join (urgent: offer slots)."""
        state = turn.state
        await self.release_hold(turn)
        state.slot, state.offered = None, []
        if state.urgency != "routine":
            state.waitlist = None
            turn.say(replies.WAITLIST_URGENT)
            await self._offer_slots(turn, changes, understood=True)
            return
        if not state.preference_given:
            state.stage = "preference"
            turn.add(replies.ask_waitlist_preference())
            return
        details = state.details
        if details is None:
            first = state.stage != "details"
            state.stage = "details"
            turn.add(replies.ask_waitlist_details(state.missing_details(), first=first))
            return
        dentist = waitlisting.dentist_of(state, self.directory)
        today = self.now.astimezone(self.tz).date()
        request = waitlisting.request_for(state, details, today=today, dentist=dentist)
        try:
            entry = await self.clinic.join_waitlist(request=request)
        except ValidationError as exc:
            _reject_details(turn, exc)
            return
        state.waitlist, state.stage = None, "waitlisted"
        state.waitlisted = {
            "id": entry.get("id"),
            "treatment": state.treatment,
            "dentist": dentist.name if dentist else None,
            "dentist_id": str(dentist.id) if dentist else None,
            "earliest_date": request.earliest.isoformat(),
            "latest_date": request.latest.isoformat(),
            "times": list(request.times),
        }
        turn.add(
            replies.waitlisted(
                treatment=state.treatment,
                dentist=dentist.name if dentist else None,
                earliest=request.earliest,
                latest=request.latest,
                times=request.times,
                email=details.email,
            )
        )

    def offer_reply(self, slots: Sequence[OfferedSlot], intro: str) -> Reply:
        """Slots offered in this clinic's words (times with zones when zones differ)."""
        return replies.offer(slots, intro, clinic_zone=self.tz.key)

    async def _check_free(self, turn: Turn, slot: OfferedSlot) -> bool:
        """Before reading back: is the chosen slot still free? If not, offer the nearest."""
        if slot.key in await offering.still_free(
            self.clinic, [slot], treatment_name=turn.state.treatment, held=turn.state.hold
        ):
            return True
        await self.lost(turn, slot)
        return False

    async def _hold(self, turn: Turn, slot: OfferedSlot) -> bool:
        """Hold the chosen slot for a booking, unless the conversation's hold still keeps
        it (True: held, or the clinic could not hold it now and the booking will check the
        slot itself; False: it is gone, and the nearest free times are offered)."""
        state = turn.state
        if state.mode != "book":
            return True  # rescheduling is not held (see the module's docstring)
        held = state.hold
        if held is not None and held.keeps(slot, treatment=state.treatment, now=self.now):
            return True
        try:
            state.hold = await self.clinic.hold(
                slot=slot, treatment_name=state.treatment, previous=held
            )
        except SlotUnavailable:
            await self.lost(turn, slot)
            return False
        except (RateLimited, Conflict, ValidationError):
            # Too many holds from this address, another hold of the caller's being made at
            # the same moment, or a day holds cannot reach: go on unheld (the previous hold,
            # if any, is released at the end of the turn).
            pass
        return True

    async def release_hold(self, turn: Turn) -> None:
        """Give the conversation's hold back, if it has one."""
        held: HeldSlot | None = turn.state.hold
        if held is not None:
            turn.state.hold = None
            await self.clinic.release(hold=held)

    async def settle_hold(self, turn: Turn) -> None:
        """At the end of a turn: release the hold unless it still keeps the slot this
        booking is taking the details for or reading back."""
        state = turn.state
        held, slot = state.hold, state.slot
        keeps = (
            held is not None
            and slot is not None
            and held.slot_key == "|".join(slot.key)
            and state.mode == "book"
            and not state.findings.emergency
            and state.stage not in ("booked", "done", "emergency")
        )
        if not keeps:
            await self.release_hold(turn)

    async def lost(self, turn: Turn, lost: OfferedSlot) -> None:
        """Say that `lost` was taken and offer the nearest free alternatives."""
        state = turn.state
        if state.findings.emergency:
            self.emergency(turn)
            return
        same_dentist = state.mode == "reschedule" or bool(
            state.dentist_ids and len(state.dentist_ids) == 1
        )
        who = offering.whom(state, self.directory)
        nearest = await offering.nearest_to(
            self.clinic,
            lost,
            now=self.now,
            same_dentist_only=same_dentist,
            others=who.suitable or who.ids,
            treatment_name=state.treatment,
        )
        state.slot = None
        state.offered = nearest
        state.seen += ["|".join(s.key) for s in nearest]
        if "|".join(lost.key) in state.taken:  # the patient was told already
            sorry = f"{replies.slot_sentence(lost)} is no longer free."
        else:
            sorry = f"Sorry — {replies.slot_sentence(lost)} has just been taken by someone else."
        if not nearest:
            state.stage = "preference"
            turn.say(f"{sorry} Which other day or time would suit you?")
            return
        state.stage = "slot"
        turn.add(self.offer_reply(nearest, f"{sorry} The nearest free times are:"))

    async def commit(self, turn: Turn) -> None:
        """Book (or move) the confirmed slot; a slot taken meanwhile gets alternatives."""
        state = turn.state
        slot = state.slot
        assert slot is not None
        if state.findings.emergency or screen.pending(state.findings):
            await self.advance(turn, Changes(), understood=True)  # never booked unscreened
            return
        try:
            if state.mode == "reschedule":
                assert state.booking is not None
                appointment = await self.clinic.reschedule(booking=state.booking, slot=slot)
            else:
                details = state.details
                assert details is not None
                symptoms = "; ".join([*state.reasons, *state.symptoms])[:4000] or None
                held = state.hold
                if held is not None and (
                    held.slot_key != "|".join(slot.key) or held.treatment != state.treatment
                ):
                    held = None  # a hold for something else is released at the turn's end
                appointment = await self.clinic.book(
                    slot=slot,
                    patient=details,
                    chief_complaint=state.complaint,
                    symptoms=symptoms,
                    urgency=state.urgency,
                    treatment_name=state.treatment,
                    hold=held,
                )
                if held is not None:
                    state.hold = None  # the booking took its place (or it had lapsed)
        except SlotUnavailable:
            await self.lost(turn, slot)
            return
        except ValidationError as exc:
            _reject_details(turn, exc)
            return
        except TooManyBookings as exc:
            # A guest at the cap of upcoming bookings: say why, book nothing.
            state.stage = "done"
            turn.say(f"Sorry, I can't book that: {exc.detail}")
            return
        turn.appointment = appointment
        state.booked_reference = appointment["booking_reference"]
        if state.mode == "reschedule":
            state.stage = "done"
            turn.say(
                f"Done: {appointment['booking_reference']} is now "
                f"{replies.booking_sentence(appointment)}. Anything else I can help with?"
            )
            return
        state.stage = "booked"
        turn.add(replies.booked(appointment))


def _reject_details(turn: Turn, exc: ValidationError) -> None:
    state = turn.state
    fields = " ".join(str(f.get("loc")) for f in exc.extra.get("fields", []))
    for key, column in (
        ("email", "patient_email"),
        ("phone", "patient_phone"),
        ("name", "patient_name"),
    ):
        if column in fields or column in exc.detail:
            setattr(state, key, None)
    if not state.missing_details():
        state.email = None
    state.stage = "details"
    turn.say(f"Sorry, that didn't work: {exc.detail}")
    turn.add(replies.ask_details(state.missing_details(), first=False))
