"""The booking assistant's dialogue: a state machine over a serialisable `ChatState`.

greet → what is wrong → triage → preferences (dentist, day, time) → 3–5 real free slots →
name, e-mail, phone (known already for a logged-in patient) → read back → book.
Information may come in any order and several pieces at once; every message first
updates what has been collected (`collect`: corrections simply overwrite), then
`_advance` asks for whatever is still missing. Cancelling and rescheduling live in
`manage`, slot choice in `offering`, wording in `replies`. The clinic is reached only
through `ClinicPort`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from dentalcare.chatbot import manage, offering, replies
from dentalcare.chatbot.collect import Changes, absorb
from dentalcare.chatbot.ports import ClinicPort, DentistInfo, OfferedSlot
from dentalcare.chatbot.state import ChatState, KnownPatient, Mode, Reply, Turn
from dentalcare.chatbot.understanding import (
    Context,
    Expecting,
    Parse,
    RuleBasedUnderstanding,
    Understanding,
)
from dentalcare.errors import SlotUnavailable, TooManyBookings, ValidationError
from dentalcare.jsonshape import hh_mm

_EXPECTING: dict[str, Expecting] = {
    "complaint": "complaint",
    "preference": "preference",
    "slot": "slot",
    "details": "details",
    "confirm": "confirm",
    "manage_reference": "reference",
    "manage_email": "email",
    "manage_action": "manage_confirm",
    "manage_confirm": "manage_confirm",
}


class Dialogue:
    """The conversation engine. Stateless itself: every call takes and returns a state."""

    def __init__(
        self,
        *,
        clinic: ClinicPort,
        understanding: Understanding | None = None,
        timezone: ZoneInfo | None = None,
    ) -> None:
        self.clinic = clinic
        self.understanding = understanding or RuleBasedUnderstanding()
        self.tz = timezone or ZoneInfo("UTC")

    def start(self, patient: KnownPatient | None = None) -> Turn:
        """A new conversation: the greeting, and for a logged-in patient their details."""
        state = ChatState(stage="complaint")
        if patient is not None:
            state.logged_in = True
            state.name, state.email, state.phone = patient.name, patient.email, patient.phone
        turn = Turn(state)
        turn.add(replies.greeting(state))
        return turn

    async def respond(self, state: ChatState, text: str, *, now: datetime) -> Turn:
        """The assistant's answer to `text`, and the state after it (`state` is not changed)."""
        turn = Turn(ChatState.from_json(state.to_json()))
        directory = await self.clinic.dentists()
        context = Context(
            today=now.astimezone(self.tz).date(),
            directory=directory,
            expecting=self._expecting(turn.state),
            missing=turn.state.missing_details(),
        )
        parse = await self.understanding.parse(text, context)
        await self._dispatch(turn, parse, directory, now)
        return turn

    def slot_taken(
        self, state: ChatState, *, dentist_id: UUID, on: date, at: time
    ) -> tuple[ChatState, Reply | None]:
        """Someone else took a slot (e.g. the realtime feed says so): the new state, and
        a message to show now if the patient was looking at that slot."""
        key = (str(dentist_id), on.isoformat(), hh_mm(at) or "")
        if state.stage not in ("slot", "details", "confirm"):
            return state, None
        if state.slot is not None and state.slot.key == key:
            label = replies.slot_sentence(state.slot)
        else:
            shown = [s for s in state.offered if s.key == key]
            if not shown:
                return state, None
            label = replies.slot_label(shown[0])
        out = ChatState.from_json(state.to_json())
        out.taken = [*out.taken[-19:], "|".join(key)]
        return out, Reply(f"Sorry — {label} has just been taken by someone else.")

    # ------------------------------------------------------------------ dispatch

    @staticmethod
    def _expecting(state: ChatState) -> Expecting:
        if state.stage == "complaint" and state.freeform_complaint:
            return "complaint_text"
        return _EXPECTING.get(state.stage, "nothing")

    async def _dispatch(
        self, turn: Turn, parse: Parse, directory: list[DentistInfo], now: datetime
    ) -> None:
        state = turn.state
        intents = parse.intents
        if parse.gave_up:
            turn.say(replies.SAY_IT_SIMPLER)  # nothing taken from it: the state stays
            return
        if parse.gibberish:
            state.misunderstood += 1
            turn.say("Sorry, I didn't understand that.")
            self._prompt(turn)
            return
        if "restart" in intents:
            turn.state = self._fresh(state)
            if not parse.has_booking_info:
                turn.say(
                    "Let's start again. What's the problem, or what would you like to come in for?",
                    list(replies.START_CHOICES),
                )
                return
            state = turn.state
        if "help" in intents:
            turn.say(replies.HELP)
            self._prompt(turn)
            return
        declining = state.stage in ("confirm", "manage_confirm") and not parse.reference
        if declining and ({"cancel", "stop"} & intents) and state.mode != "reschedule":
            parse = replace(parse, answer=False, intents=intents - {"cancel", "stop"})
            intents = parse.intents
        elif "stop" in intents and state.stage not in manage.MANAGE_STAGES:
            if state.stage == "complaint" and not state.complaint:
                intents = intents | {"cancel"}
            else:
                turn.state = self._fresh(state)
                turn.say(
                    "Okay, I've stopped there. Is there anything else I can help with?",
                    list(replies.START_CHOICES),
                )
                return
        info = {"hours", "dentists"} & intents
        if info:
            await self._answer_info(turn, info, directory)
            if not (parse.has_booking_info or parse.reference or parse.answer is not None):
                self._prompt(turn)
                return
        if state.stage in manage.MANAGE_STAGES:
            if await manage.handle(self.clinic, turn, parse):
                await self._advance(turn, now, Changes(preferences=True), understood=True)
            return
        rescheduling = state.mode == "reschedule" and state.booking is not None
        wants = {"cancel", "reschedule"} & intents
        if (wants or parse.reference) and not (rescheduling and not parse.reference):
            mode: Mode = (
                "manage" if len(wants) != 1 else ("cancel" if "cancel" in wants else "reschedule")
            )
            turn.state = manage.begin(state, parse, mode)
            if await manage.proceed(self.clinic, turn):
                await self._advance(turn, now, Changes(preferences=True), understood=True)
            return
        if state.stage in ("booked", "done"):
            if not (parse.has_booking_info or "book" in intents):
                if "thanks" in intents or parse.answer is False:
                    turn.say("You're welcome — take care!")
                elif not info:
                    turn.say(
                        "Is there anything else I can help with? I can book, cancel or "
                        "reschedule an appointment.",
                        list(replies.START_CHOICES),
                    )
                return
            turn.state = self._fresh(state)
        if "thanks" in intents and not parse.has_booking_info and parse.answer is None:
            turn.say("You're welcome!")
            self._prompt(turn)
            return
        if "greeting" in intents and not parse.has_booking_info and not info:
            turn.say("Hello!")
            self._prompt(turn)
            return
        await self._booking_flow(turn, parse, now, handled=bool(info))

    async def _answer_info(self, turn: Turn, info: set[str], directory: list[DentistInfo]) -> None:
        if "hours" in info:
            turn.say(await self.clinic.opening_hours())
        if "dentists" in info:
            turn.add(replies.dentists_list(directory))

    def _fresh(self, state: ChatState) -> ChatState:
        fresh = ChatState(stage="complaint", logged_in=state.logged_in)
        if state.logged_in:
            fresh.name, fresh.email, fresh.phone = state.name, state.email, state.phone
        return fresh

    def _prompt(self, turn: Turn) -> None:
        """Ask again for what the current stage is waiting for."""
        state = turn.state
        if state.stage in manage.MANAGE_STAGES:
            manage.prompt(turn)
        elif state.stage == "complaint":
            turn.add(replies.ask_complaint(again=False))
        elif state.stage == "preference":
            turn.add(replies.ask_preference(state))
        elif state.stage == "slot" and state.offered:
            turn.add(replies.offer(state.offered, "The times I found:"))
        elif state.stage == "details":
            turn.add(replies.ask_details(state.missing_details(), first=False))
        elif state.stage == "confirm" and state.slot is not None:
            turn.add(replies.read_back(state))
        elif state.stage == "emergency":
            turn.add(replies.emergency(state.reasons, repeat=True))
        else:
            turn.say("Is there anything else I can help with?", list(replies.START_CHOICES))

    # ------------------------------------------------------------------ booking flow

    async def _booking_flow(
        self, turn: Turn, parse: Parse, now: datetime, *, handled: bool
    ) -> None:
        state = turn.state
        free = await self._live_check(turn)
        changes = absorb(turn, parse)
        if free is not None:
            if state.slot is not None and state.slot.key not in free:
                await self._lost(turn, state.slot, now)  # taken since it was offered
                return
            gone = [s for s in state.offered if s.key not in free]
            if gone and state.stage == "slot":
                state.offered = [s for s in state.offered if s.key in free]
                labels = ", ".join(replies.slot_label(s) for s in gone)
                turn.say(
                    f"Heads-up: {labels} {'has' if len(gone) == 1 else 'have'} just been taken."
                )
        if state.stage == "confirm" and state.slot is not None and not changes.any:
            if parse.answer is True:
                await self._commit(turn, now)
            elif parse.answer is False:
                turn.say(
                    "No problem. What should I change? Pick other times, name another day, time "
                    "or dentist, or correct your name, e-mail or phone.",
                    [replies.QuickReply("Other times", "other times")],
                )
            elif not handled:
                turn.say("Shall I go ahead? Please answer yes or no.", list(replies.YES_NO))
            return
        understood = changes.any or handled or parse.answer is not None or "book" in parse.intents
        await self._advance(turn, now, changes, understood=understood, free=free)

    async def _live_check(self, turn: Turn) -> set[tuple[str, str, str]] | None:
        """Live awareness: which of the slots on the table are still free (None: none shown)."""
        state = turn.state
        if state.stage not in ("slot", "details", "confirm") or not (state.offered or state.slot):
            return None
        shown = list(state.offered) + ([state.slot] if state.slot else [])
        free = await offering.still_free(self.clinic, shown)
        return {key for key in free if "|".join(key) not in state.taken}

    async def _advance(
        self,
        turn: Turn,
        now: datetime,
        changes: Changes,
        *,
        understood: bool,
        free: set[tuple[str, str, str]] | None = None,
    ) -> None:
        """Ask for whatever is still missing, or read back, given the collected fields."""
        state = turn.state
        if state.mode == "book" and state.urgency == "emergency":
            repeat = state.stage == "emergency"
            state.stage, state.offered, state.slot = "emergency", [], None
            turn.add(replies.emergency(state.reasons, repeat=repeat))
            return
        if state.mode == "book" and not state.complaint:
            state.stage = "complaint"
            if state.freeform_complaint:
                turn.say("Of course — please describe it in a few words.")
            else:
                turn.add(replies.ask_complaint(again=not understood))
            return
        if state.slot is None:
            await self._offer_slots(turn, now, changes, understood=understood)
            return
        if state.mode == "book" and state.missing_details():
            first = state.stage != "details"
            state.stage = "details"
            turn.add(replies.ask_details(state.missing_details(), first=first))
            return
        if not (free and state.slot.key in free) and not await self._check_free(
            turn, state.slot, now
        ):
            return
        state.stage = "confirm"
        turn.add(replies.read_back(state))

    async def _offer_slots(
        self, turn: Turn, now: datetime, changes: Changes, *, understood: bool
    ) -> None:
        state = turn.state
        urgent_first = state.mode == "book" and state.urgency == "urgent"
        if urgent_first and not state.offered_urgent:
            offer = await offering.urgent_offer(self.clinic, state, now=now, tz=self.tz)
            state.offered_urgent = True
        elif state.stage == "slot" and state.offered and not changes.preferences:
            intro = "Please pick one of these, or tell me another day or time:"
            if changes.complaint or changes.details:
                intro = "Thanks, I've noted that. " + intro
            elif not understood:
                intro = "Sorry, I didn't catch that. " + intro
            turn.add(replies.offer(state.offered, intro))
            return
        elif not state.preference_given:
            if state.stage == "preference" and not understood:
                turn.say("Sorry, I didn't catch that.")
            state.stage = "preference"
            turn.add(replies.ask_preference(state))
            return
        else:
            offer = await offering.preferred_offer(
                self.clinic, state, now=now, tz=self.tz, seen=state.seen
            )
        state.offered = offer.slots
        state.seen += ["|".join(s.key) for s in offer.slots]
        if not offer.slots:
            state.stage = "preference"
            turn.say(offer.intro)
            return
        state.stage = "slot"
        turn.add(replies.offer(offer.slots, offer.intro))

    async def _check_free(self, turn: Turn, slot: OfferedSlot, now: datetime) -> bool:
        """Before reading back: is the chosen slot still free? If not, offer the nearest."""
        if slot.key in await offering.still_free(self.clinic, [slot]):
            return True
        await self._lost(turn, slot, now)
        return False

    async def _lost(self, turn: Turn, lost: OfferedSlot, now: datetime) -> None:
        """Say that `lost` was taken and offer the nearest free alternatives."""
        state = turn.state
        same_dentist = state.mode == "reschedule" or bool(
            state.dentist_ids and len(state.dentist_ids) == 1
        )
        nearest = await offering.nearest_to(
            self.clinic, lost, now=now, same_dentist_only=same_dentist
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
        turn.add(replies.offer(nearest, f"{sorry} The nearest free times are:"))

    async def _commit(self, turn: Turn, now: datetime) -> None:
        """Book (or move) the confirmed slot; a slot taken meanwhile gets alternatives."""
        state = turn.state
        slot = state.slot
        assert slot is not None
        try:
            if state.mode == "reschedule":
                assert state.booking is not None
                appointment = await self.clinic.reschedule(booking=state.booking, slot=slot)
            else:
                details = state.details
                assert details is not None
                symptoms = "; ".join([*state.reasons, *state.symptoms])[:4000] or None
                appointment = await self.clinic.book(
                    slot=slot,
                    patient=details,
                    chief_complaint=state.complaint,
                    symptoms=symptoms,
                    urgency=state.urgency,
                )
        except SlotUnavailable:
            await self._lost(turn, slot, now)
            return
        except ValidationError as exc:
            self._reject_details(turn, exc)
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

    @staticmethod
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
